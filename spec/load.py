"""config.json -> Plan.

Follows config.md and config-linux.md of runtime-spec 1.3.0: each field is checked for
type and value here, and every error names its JSON path, so a malformed bundle fails
before anything is created.
"""

import os

from pyrunc.runtime import jsonin
from pyrunc.runtime.errors import ConfigError, PyruncError
from pyrunc.runtime.linux import consts as c
from pyrunc.spec import caps as capnames
from pyrunc.spec import mountopts, version
from pyrunc.spec.check import Obj, integer, join, string, strings, text_is_sane
from pyrunc.spec.plan import Capabilities, Device, Hook, IDMap, Mount, Namespace, Plan, Process, Rlimit, Scheduler

#: config-linux.md "Namespaces": the types and their clone(2) flags.
NAMESPACES = {
    "pid": c.CLONE_NEWPID,
    "network": c.CLONE_NEWNET,
    "mount": c.CLONE_NEWNS,
    "ipc": c.CLONE_NEWIPC,
    "uts": c.CLONE_NEWUTS,
    "user": c.CLONE_NEWUSER,
    "cgroup": c.CLONE_NEWCGROUP,
    "time": c.CLONE_NEWTIME,
}

RLIMITS = {
    "RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4,
    "RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9,
    "RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13,
    "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
}

HOOK_KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")

ROOTFS_PROPAGATION = {"private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable",
                      "runbindable"}

_U32 = 2**32 - 1


def read_config(bundle: str) -> dict:
    """Read ``bundle``/config.json with runc's errors for a missing or malformed file."""
    path = os.path.join(bundle, "config.json")
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise PyruncError("JSON specification file config.json not found") from None
    except IsADirectoryError:
        raise PyruncError("config.json: is a directory") from None
    except OSError as e:
        raise PyruncError(f"open {path}: {(e.strerror or str(e)).lower()}") from None
    try:
        data = jsonin.loads(raw)
    except UnicodeDecodeError:
        raise PyruncError("config.json: not valid UTF-8") from None
    except RecursionError:
        raise PyruncError("config.json: nested too deeply") from None
    except ValueError as e:  # json.JSONDecodeError
        raise PyruncError(f"config.json: invalid JSON at line {getattr(e, 'lineno', '?')} "
                          f"column {getattr(e, 'colno', '?')}: {getattr(e, 'msg', e)}") from None
    if not isinstance(data, dict):
        raise ConfigError("config.json", "expected a JSON object at the top level")
    return data


def load(bundle: str) -> Plan:
    """Load and check the bundle's config.json into a Plan (no system calls but stat)."""
    bundle = os.path.abspath(bundle)
    return build(read_config(bundle), bundle)


def build(data: dict, bundle: str) -> Plan:
    text_is_sane(data)
    cfg = Obj(data, "")
    plan = Plan()
    plan.bundle = bundle
    plan.oci_version = string(cfg.require("ociVersion"), "ociVersion")
    version.check(plan.oci_version)

    root = cfg.obj("root")
    if not cfg.has("root"):
        raise ConfigError("root", "is required on Linux")
    rpath = string(root.require("path"), "root.path")
    plan.rootfs = os.path.normpath(os.path.join(bundle, rpath))
    plan.root_readonly = root.bool("readonly")
    try:
        st = os.stat(plan.rootfs)
    except OSError as e:
        raise PyruncError(f"invalid rootfs: stat {plan.rootfs}: {(e.strerror or '').lower()}") from None
    import stat as _stat

    if not _stat.S_ISDIR(st.st_mode):
        raise PyruncError(f"invalid rootfs: {plan.rootfs}: not a directory")
    # runc's check (1.1.5 and 1.5): the rootfs, made absolute, is its own real path (no
    # symlink in it), so the path in the state is the directory that was mounted.
    absroot = os.path.abspath(plan.rootfs)
    if os.path.realpath(absroot) != absroot:
        raise PyruncError("invalid rootfs: not an absolute path, or a symlink")

    if cfg.has("process"):
        plan.process = _process(cfg.obj("process"))
    if cfg.has("hostname"):
        plan.hostname = cfg.str("hostname")
    if cfg.has("domainname"):
        plan.domainname = cfg.str("domainname")
    plan.mounts = [_mount(m) for m in cfg.objs("mounts")]
    for mount in plan.mounts:
        if mount.is_bind and not os.path.isabs(mount.source):
            # config.md "Mounts" source: a relative path; runc's is relative to the bundle
            # (its cwd), whatever directory the runtime was started in.
            mount.source = os.path.join(bundle, mount.source)
    plan.hooks = _hooks(cfg.obj("hooks"))
    ann = cfg.obj("annotations")
    for k, v in ann.data.items():
        if not k:
            raise ConfigError("annotations", "keys must not be empty")
        plan.annotations[k] = string(v, join("annotations", k))
    _image_annotations(plan.annotations)
    _linux(cfg.obj("linux"), plan)
    _cross_checks(plan)
    return plan


#: OCI image-spec GOARCH names of this machine (config.md "Annotations": image.architecture).
_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x",
           "riscv64": "riscv64", "i686": "386"}


def _image_annotations(ann: dict[str, str]) -> None:
    """config.md "Annotations" (1.2): the ``org.opencontainers.image.*`` keys carry the
    image's own properties.  An image for another operating system cannot run here (an
    error); another architecture may, through binfmt (a warning); stopSignal must name a
    signal, since ``kill`` without a signal sends it."""
    os_ = ann.get("org.opencontainers.image.os")
    if os_ is not None and os_ != "linux":
        raise ConfigError("annotations.org.opencontainers.image.os",
                          f"the image is for {os_!r}, this runtime runs linux")
    arch = ann.get("org.opencontainers.image.architecture")
    if arch is not None:
        mine = _GOARCH.get(os.uname().machine, os.uname().machine)
        if arch != mine:
            from pyrunc.runtime import log

            log.warn(f"annotations.org.opencontainers.image.architecture: the image is for {arch!r}, "
                     f"this machine is {mine!r}")
    sig = ann.get("org.opencontainers.image.stopSignal")
    if sig is not None:
        from pyrunc.spec.signals import parse_signal

        try:
            parse_signal(sig)
        except PyruncError as e:
            raise ConfigError("annotations.org.opencontainers.image.stopSignal", e.msg) from None


def _process(p: Obj) -> Process:
    proc = Process()
    proc.terminal = p.bool("terminal")
    if p.has("consoleSize"):
        cs = p.obj("consoleSize")
        h = cs.int("height", 0, 0, 65535)
        w = cs.int("width", 0, 0, 65535)
        proc.console_size = (h or 0, w or 0)
    user = p.obj("user")
    proc.uid = user.int("uid", 0, 0, _U32) or 0
    proc.gid = user.int("gid", 0, 0, _U32) or 0
    proc.umask = user.int("umask", None, 0, 0o7777)
    proc.additional_gids = [integer(g, join(user.at("additionalGids"), i), 0, _U32)
                            for i, g in enumerate(user.data.get("additionalGids") or [])]
    args = p.strings("args")
    if not args:
        raise ConfigError("process.args", "must contain at least one entry")
    proc.args = args
    proc.env = p.strings("env")
    for i, e in enumerate(proc.env):
        if "=" not in e:
            raise ConfigError(join("process.env", i), f"{e!r} is not of the form KEY=value")
    proc.cwd = p.str("cwd", "")
    if not proc.cwd.startswith("/"):
        raise ConfigError("process.cwd", f"{proc.cwd!r} must be an absolute path")
    if p.has("capabilities"):
        proc.capabilities = _capabilities(p.obj("capabilities"))
    seen = set()
    for r in p.objs("rlimits"):
        name = string(r.require("type"), r.at("type"))
        if name not in RLIMITS:
            raise ConfigError(r.at("type"), f"unknown rlimit {name!r}")
        if name in seen:
            raise ConfigError(r.at("type"), f"duplicate rlimit {name!r}")
        seen.add(name)
        soft = integer(r.require("soft"), r.at("soft"), 0, 2**64 - 1)
        hard = integer(r.require("hard"), r.at("hard"), 0, 2**64 - 1)
        proc.rlimits.append(Rlimit(name, RLIMITS[name], soft, hard))
    proc.no_new_privileges = p.bool("noNewPrivileges")
    proc.oom_score_adj = p.int("oomScoreAdj", None, -1000, 1000)
    proc.apparmor_profile = p.str("apparmorProfile")
    if proc.apparmor_profile:
        check_lsm(p.at("apparmorProfile"), "apparmor")
    proc.selinux_label = p.str("selinuxLabel")
    if proc.selinux_label:
        check_lsm(p.at("selinuxLabel"), "selinux")
    if p.has("scheduler"):
        proc.scheduler = _scheduler(p.obj("scheduler"))
    if p.has("ioPriority"):
        proc.io_priority = _io_priority(p.obj("ioPriority"))
    if p.has("execCPUAffinity"):
        proc.exec_cpu_affinity = _exec_cpu_affinity(p.obj("execCPUAffinity"))
    return proc


def _exec_cpu_affinity(a: Obj) -> tuple[list[int], list[int]] | None:
    """config.md "process" execCPUAffinity (exec's processes only): ``initial`` before
    the process joins the container's cgroup, ``final`` after it; both empty is unset."""
    from pyrunc.spec import cpulist

    initial = cpulist.parse(a.str("initial"), a.at("initial"))
    final = cpulist.parse(a.str("final"), a.at("final"))
    return (initial, final) if initial or final else None


#: config.md "process": scheduler policies and flags, as sched_setattr(2) numbers them.
SCHED_POLICIES = {"SCHED_OTHER": 0, "SCHED_FIFO": 1, "SCHED_RR": 2, "SCHED_BATCH": 3, "SCHED_ISO": 4,
                  "SCHED_IDLE": 5, "SCHED_DEADLINE": 6}
SCHED_FLAGS = {"SCHED_FLAG_RESET_ON_FORK": 0x01, "SCHED_FLAG_RECLAIM": 0x02, "SCHED_FLAG_DL_OVERRUN": 0x04,
               "SCHED_FLAG_KEEP_POLICY": 0x08, "SCHED_FLAG_KEEP_PARAMS": 0x10, "SCHED_FLAG_UTIL_CLAMP_MIN": 0x20,
               "SCHED_FLAG_UTIL_CLAMP_MAX": 0x40}
#: config.md "process", ioPriority.class: ioprio.h's classes.
IOPRIO_CLASSES = {"IOPRIO_CLASS_RT": 1, "IOPRIO_CLASS_BE": 2, "IOPRIO_CLASS_IDLE": 3}
#: config-linux.md "Personality": domain -> personality(2) persona.
PERSONALITY_DOMAINS = {"LINUX": 0x0000, "LINUX32": 0x0008}

_LSM_DIRS = {"apparmor": ("AppArmor", "/sys/kernel/security/apparmor"), "selinux": ("SELinux", "/sys/fs/selinux")}


def check_lsm(path: str, lsm: str) -> None:
    """A label for an LSM this host does not run is an error naming the field (runc's
    validator does so for SELinux; a profile that cannot apply must not be ignored)."""
    name, d = _LSM_DIRS[lsm]
    if not os.path.isdir(d):
        raise ConfigError(path, f"{name} is not enabled on this host ({d} is absent)")


def _scheduler(so: Obj) -> Scheduler:
    """config.md "process" scheduler, with runc's validation of what sched_setattr(2) takes."""
    name = string(so.require("policy"), so.at("policy"))
    if name not in SCHED_POLICIES:
        raise ConfigError(so.at("policy"), f"unknown scheduler policy {name!r}")
    if name == "SCHED_ISO":
        raise ConfigError(so.at("policy"), "SCHED_ISO is not implemented by Linux")
    nice = so.int("nice", 0, -(2**31), 2**31 - 1) or 0
    if name in ("SCHED_OTHER", "SCHED_BATCH") and not -20 <= nice <= 19:
        raise ConfigError(so.at("nice"), f"{nice} is out of range for {name} (-20..19)")
    priority = so.int("priority", 0, -(2**31), 2**31 - 1) or 0
    if name in ("SCHED_FIFO", "SCHED_RR"):
        if not 1 <= priority <= 99:
            raise ConfigError(so.at("priority"), f"{name} needs a priority in 1..99, got {priority}")
    elif priority:
        raise ConfigError(so.at("priority"), "can only be set for SCHED_FIFO or SCHED_RR")
    flags = 0
    for i, f in enumerate(so.strings("flags")):
        if f not in SCHED_FLAGS:
            raise ConfigError(join(so.at("flags"), i), f"unknown scheduler flag {f!r}")
        flags |= SCHED_FLAGS[f]
    times = [so.int(k, 0, 0, 2**64 - 1) or 0 for k in ("runtime", "deadline", "period")]
    if name != "SCHED_DEADLINE" and any(times):
        raise ConfigError(so.path, "runtime, deadline and period can only be set for SCHED_DEADLINE")
    return Scheduler(name, SCHED_POLICIES[name], nice, priority, flags, *times)


def _io_priority(io: Obj) -> int:
    cls = string(io.require("class"), io.at("class"))
    if cls not in IOPRIO_CLASSES:
        raise ConfigError(io.at("class"), f"unknown I/O priority class {cls!r}")
    prio = integer(io.require("priority"), io.at("priority"), 0, 7)
    return IOPRIO_CLASSES[cls] << 13 | prio


def _capabilities(cp: Obj) -> Capabilities:
    caps = Capabilities()
    for field in ("bounding", "effective", "permitted", "inheritable", "ambient"):
        nums: list[int] = []
        for i, name in enumerate(cp.strings(field)):
            n = capnames.NUMBERS.get(name.upper() if name.upper().startswith("CAP_") else "CAP_" + name.upper())
            if n is None:
                # config.md 1.3.0: unknown capabilities are a warning, not an error.
                caps.unknown.append((join(cp.at(field), i), name))
                continue
            nums.append(n)
        setattr(caps, field, nums)
    return caps


def _mount(m: Obj) -> Mount:
    dest = string(m.require("destination"), m.at("destination"))
    if not dest:
        raise ConfigError(m.at("destination"), "must not be empty")
    if not dest.startswith("/"):
        from pyrunc.runtime import log

        # runc's warning (1.1.5 and 1.5); the destination is then taken from the root.
        log.warn(f"mount destination {dest} is not absolute. Support for non-absolute mount destinations "
                 "will be removed in a future release.")
    opts = m.strings("options")
    for i, o in enumerate(opts):
        if mountopts.unknown_recursive(o):
            raise ConfigError(join(m.at("options"), i), f"unknown recursive mount option {o!r}")
    flags, prop, data, ext = mountopts.parse(opts)
    type_ = m.str("type")
    source = m.str("source")
    if type_ == "bind":
        flags |= c.MS_BIND
    if (flags & c.MS_BIND) and not source:
        raise ConfigError(m.at("source"), "a bind mount needs a source")
    if not (flags & c.MS_BIND) and not type_:
        raise ConfigError(m.at("type"), "is required for a mount that is not a bind mount")
    mount = Mount(m.path, dest, type_, source, opts, flags, prop, data, ext)
    mount.rec_set, mount.rec_clr = mountopts.recursive(opts)
    _mount_idmap(m, mount)
    return mount


def _mount_idmap(m: Obj, mount: Mount) -> None:
    """config.md "Mounts" (1.2+): ``idmap``/``ridmap`` and the mount's own id maps, which
    MUST come together; without them the container's user namespace maps the mount."""
    mount.uid_mappings = _idmaps(m, "uidMappings")
    mount.gid_mappings = _idmaps(m, "gidMappings")
    if bool(mount.uid_mappings) != bool(mount.gid_mappings):
        missing = "gidMappings" if mount.uid_mappings else "uidMappings"
        raise ConfigError(m.at(missing), "uidMappings and gidMappings must be specified together")
    ext = mount.extensions
    if "ridmap" in ext:
        mount.idmap = "ridmap"
    elif "idmap" in ext or mount.uid_mappings:
        mount.idmap = "idmap"
    if mount.idmap and not mount.is_bind:
        raise ConfigError(m.at("options"), "idmapped mounts are only supported for bind mounts")


def _hooks(h: Obj) -> dict[str, list[Hook]]:
    out: dict[str, list[Hook]] = {}
    for key in h.data:
        if key not in HOOK_KINDS:
            raise ConfigError(h.at(key), f"unknown hook kind {key!r}")
    for kind in HOOK_KINDS:
        hooks = []
        for ho in h.objs(kind):
            path = string(ho.require("path"), ho.at("path"))
            if not path.startswith("/"):
                raise ConfigError(ho.at("path"), f"{path!r} must be an absolute path")
            timeout = ho.int("timeout", None)
            if timeout is not None and timeout <= 0:
                raise ConfigError(ho.at("timeout"), f"{timeout} must be greater than zero")
            if timeout is not None and timeout > 2**31 - 1:
                raise ConfigError(ho.at("timeout"), f"{timeout} seconds is out of range")
            hooks.append(Hook(path, ho.strings("args"), ho.strings("env"), timeout, ho.path))
        if hooks:
            out[kind] = hooks
    return out


def _idmaps(lo: Obj, key: str) -> list[IDMap]:
    """User namespace mappings (config-linux.md): each range must fit in 32 bits and, as
    user_namespaces(7) requires, overlap no other range on either side."""
    out: list[IDMap] = []
    for i, m in enumerate(lo.objs(key)):
        idm = IDMap(integer(m.require("containerID"), m.at("containerID"), 0, _U32),
                    integer(m.require("hostID"), m.at("hostID"), 0, _U32),
                    integer(m.require("size"), m.at("size"), 1, _U32))
        where = join(lo.at(key), i)
        if idm.container_id + idm.size > 2**32 or idm.host_id + idm.size > 2**32:
            raise ConfigError(where, "the range runs past the largest 32-bit id")
        for j, other in enumerate(out):
            for side in ("container_id", "host_id"):
                a, b = getattr(idm, side), getattr(other, side)
                if a < b + other.size and b < a + idm.size:
                    name = "containerID" if side == "container_id" else "hostID"
                    raise ConfigError(where, f"{name} range overlaps {join(lo.at(key), j)}")
        out.append(idm)
    if len(out) > 340:
        raise ConfigError(lo.at(key), f"{len(out)} ranges: the kernel takes at most 340")
    return out


_DEV_TYPES = {"c", "u", "b", "p"}


def _linux(lo: Obj, plan: Plan) -> None:
    seen: set[str] = set()
    for ns in lo.objs("namespaces"):
        t = string(ns.require("type"), ns.at("type"))
        if t not in NAMESPACES:
            raise ConfigError(ns.at("type"), f"unknown namespace type {t!r}")
        if t in seen:
            raise ConfigError(ns.at("type"), f"duplicate namespace {t!r}")
        seen.add(t)
        path = ns.str("path")
        if path and not path.startswith("/"):
            raise ConfigError(ns.at("path"), f"{path!r} must be an absolute path")
        plan.namespaces.append(Namespace(t, NAMESPACES[t], path))
    plan.uid_mappings = _idmaps(lo, "uidMappings")
    plan.gid_mappings = _idmaps(lo, "gidMappings")
    to = lo.obj("timeOffsets")
    for clock, v in to.data.items():
        if clock not in ("monotonic", "boottime"):
            raise ConfigError(to.at(clock), f"unknown clock {clock!r}")
        o = Obj(v, to.at(clock))
        plan.time_offsets[clock] = (o.int("secs", 0) or 0, o.int("nanosecs", 0, 0, 999_999_999) or 0)
    for d in lo.objs("devices"):
        path = string(d.require("path"), d.at("path"))
        if not path.startswith("/dev/") and not path.startswith("/"):
            raise ConfigError(d.at("path"), f"{path!r} must be an absolute path")
        t = string(d.require("type"), d.at("type"))
        if t not in _DEV_TYPES:
            raise ConfigError(d.at("type"), f"unknown device type {t!r}")
        major = d.int("major", 0, 0, 2**32 - 1) or 0
        minor = d.int("minor", 0, 0, 2**32 - 1) or 0
        if t != "p" and (not d.has("major") or not d.has("minor")):
            raise ConfigError(d.path, f"device {path}: major and minor are required for type {t!r}")
        # fileMode is a uint32 (config-linux.md "Devices"); engines such as Podman send the
        # host node's whole st_mode, file-type bits included.  The node's type comes from
        # `type`; as runc, only the permission bits are kept (setuid/setgid/sticky too go),
        # and an explicit 0 stays 0.
        mode = d.int("fileMode", 0o666, 0, _U32) or 0
        plan.devices.append(Device(path, t, major, minor, mode & 0o777,
                                   d.int("uid", 0, 0, _U32) or 0, d.int("gid", 0, 0, _U32) or 0))
    plan.masked_paths = _container_paths(lo, "maskedPaths")
    plan.readonly_paths = _container_paths(lo, "readonlyPaths")
    plan.rootfs_propagation = lo.str("rootfsPropagation")
    if plan.rootfs_propagation and plan.rootfs_propagation not in ROOTFS_PROPAGATION:
        raise ConfigError(lo.at("rootfsPropagation"), f"unknown propagation {plan.rootfs_propagation!r}")
    plan.cgroups_path = lo.str("cgroupsPath")
    if lo.has("resources"):
        from pyrunc.spec import resources

        plan.resources = resources.load(lo.obj("resources").data)
    sc = lo.obj("sysctl")
    for k, v in sc.data.items():
        plan.sysctl[k] = string(v, sc.at(k))
    plan.mount_label = lo.str("mountLabel")
    if lo.has("netDevices"):
        plan.net_devices = _net_devices(lo.obj("netDevices"), plan)
    if lo.has("personality"):
        plan.personality = _personality(lo.obj("personality"))
    if lo.has("seccomp"):
        from pyrunc.spec import seccomp

        plan.seccomp = seccomp.parse(lo.obj("seccomp"))
    if lo.has("intelRdt"):
        from pyrunc.spec import resctrl

        plan.intel_rdt = resctrl.parse(lo.obj("intelRdt"))
    if lo.has("memoryPolicy"):
        from pyrunc.spec import numa

        plan.memory_policy = numa.parse(lo.obj("memoryPolicy"))
    if plan.process is not None:
        # Container-wide, but applied by the process steps (the init's and exec's).
        plan.process.personality = plan.personality
        plan.process.seccomp = plan.seccomp
        plan.process.memory_policy = plan.memory_policy


def _ifname_problem(name: str) -> str:
    """Why the kernel would refuse ``name`` as an interface name (dev_valid_name): empty,
    over 15 bytes, "." or "..", or a '/', ':' or white space byte (the kernel's isspace,
    which counts 0xa0, a byte of many UTF-8 characters); "" if it is good."""
    raw = name.encode()
    if not raw:
        return "must not be empty"
    if len(raw) > 15:
        return f"{name!r} is longer than 15 bytes"
    if name in (".", ".."):
        return f"{name!r} is not a valid interface name"
    if any(b in b"/: \t\n\v\f\r\xa0" for b in raw):
        return f"{name!r} contains '/', ':' or white space"
    return ""


def _net_devices(nd: Obj, plan: Plan) -> dict[str, str]:
    """config-linux.md "Network Devices": host interface -> its name in the container (the
    host's name when ``name`` is absent; ``name`` may end the kernel's ``%d`` template).
    Moving needs the container's own, new network namespace; two devices may not be given
    the same name."""
    out: dict[str, str] = {}
    for host, v in nd.data.items():
        where = nd.at(host)
        why = _ifname_problem(host)
        if not why and "%" in host:
            why = f"{host!r}: a %d template is only for the name in the container"
        if why:
            raise ConfigError(where, why)
        name = Obj(v, where).str("name") or host
        why = _ifname_problem(name)
        if not why and "%" in name and (name.count("%") != 1 or "%d" not in name):
            why = f"{name!r}: the only template is one %d"
        if why:
            raise ConfigError(join(where, "name"), why)
        for other, oname in out.items():
            if oname == name and "%d" not in name:
                raise ConfigError(join(where, "name"), f"{name!r} is also the name of {nd.at(other)} "
                                  "in the container")
        out[host] = name
    if out:
        net = plan.namespace("network")
        if net is None:
            # A new one, or one joined by path (a namespace prepared for the container, as
            # runc allows); the host's own is refused when create opens it.
            raise ConfigError(nd.path, "moving network devices needs a network namespace of the container "
                              "(linux.namespaces: network)")
        if os.geteuid() != 0:
            raise ConfigError(nd.path, "network devices are not supported for rootless containers")
    return out


def _personality(po: Obj) -> int:
    domain = string(po.require("domain"), po.at("domain"))
    if domain not in PERSONALITY_DOMAINS:
        raise ConfigError(po.at("domain"), f"unknown personality domain {domain!r}")
    if po.strings("flags"):
        # config-linux.md: "Currently no flag values are supported"; runc ignores them with a warning.
        from pyrunc.runtime import log

        log.warn(f"{po.at('flags')}: ignored (no personality flag is supported)")
    return PERSONALITY_DOMAINS[domain]


def _container_paths(lo: Obj, key: str) -> list[str]:
    """config-linux.md: masked and readonly paths MUST be absolute; the root itself is
    refused too (masking it would hide the whole image)."""
    out = lo.strings(key)
    for i, p in enumerate(out):
        if not p.startswith("/"):
            raise ConfigError(join(lo.at(key), i), f"{p!r} must be an absolute path")
        if not [c for c in p.split("/") if c not in ("", ".", "..")]:
            raise ConfigError(join(lo.at(key), i), f"{p!r} names the container's root")
    return out


def _cross_checks(plan: Plan) -> None:
    """Rules that span fields (config-linux.md and runc's validator)."""
    if plan.namespace("mount") is None:
        raise ConfigError("linux.namespaces", "a mount namespace is required")
    if plan.hostname and plan.namespace("uts") is None:
        raise ConfigError("hostname", "cannot set a hostname without a private UTS namespace")
    if plan.domainname and plan.namespace("uts") is None:
        raise ConfigError("domainname", "cannot set a domainname without a private UTS namespace")
    if plan.time_offsets:
        ns = plan.namespace("time")
        if ns is None or ns.path:
            raise ConfigError("linux.timeOffsets", "requires a new time namespace")
    for key in plan.sysctl:
        _check_sysctl(plan, key)
    if plan.mount_label and not os.path.isdir("/sys/fs/selinux"):
        raise ConfigError("linux.mountLabel", "SELinux is not enabled on this host")
    for kind in ("prestart", "createRuntime", "poststart", "poststop", "createContainer"):
        # These run with the runtime's view of the filesystem: the path must be there now.
        for h in plan.hooks.get(kind, []):
            if not os.path.isfile(h.path) or not os.access(h.path, os.X_OK):
                why = "does not exist" if not os.path.exists(h.path) else "is not an executable file"
                raise ConfigError(f"{h.where}.path", f"{h.path} {why}")
    user = plan.namespace("user")
    for m in plan.mounts:
        if m.idmap and not m.uid_mappings and user is None:
            raise ConfigError(f"{m.path}.options", f"{m.idmap} without uidMappings and gidMappings needs a "
                              "user namespace to take the mapping from")
    if (plan.uid_mappings or plan.gid_mappings) and user is None:
        raise ConfigError("linux.uidMappings", "user namespace mappings given without a user namespace")
    if user is not None and not user.path and (not plan.uid_mappings or not plan.gid_mappings):
        raise ConfigError("linux.uidMappings", "a new user namespace needs uidMappings and gidMappings")


#: config-linux.md "Sysctl" and runc's validator: which namespace owns which sysctl.
_IPC_SYSCTLS = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax",
                "kernel.shmmni", "kernel.shm_rmid_forced"}


def sysctl_dotted(key: str) -> str:
    """sysctl(8)'s two spellings made one: when the first separator is a '/', the '/' and
    '.' swap ("net/ipv4/conf/eth0.1/rp_filter" is "net.ipv4.conf.eth0/1.rp_filter"), as runc."""
    i = min((k for k in (key.find("."), key.find("/")) if k >= 0), default=-1)
    if i < 0 or key[i] == ".":
        return key
    return key.translate(str.maketrans("./", "/."))


def _check_sysctl(plan: Plan, key: str) -> None:
    path = f"linux.sysctl.{key}"
    key = sysctl_dotted(key)

    def new(ns: str) -> bool:
        n = plan.namespace(ns)
        return n is not None

    if key in _IPC_SYSCTLS or key.startswith("fs.mqueue."):
        if not new("ipc"):
            raise ConfigError(path, "sysctl is not in a separate kernel namespace (needs an ipc namespace)")
        return
    if key.startswith("net."):
        if not new("network"):
            raise ConfigError(path, "sysctl is not in a separate kernel namespace (needs a network namespace)")
        return
    if key in ("kernel.hostname", "kernel.domainname"):
        if not new("uts"):
            raise ConfigError(path, "sysctl is not in a separate kernel namespace (needs a uts namespace)")
        return
    if key.startswith("user."):
        # The user.max_* limits belong to the user namespace (user_namespaces(7)).
        if not new("user"):
            raise ConfigError(path, "sysctl is not in a separate kernel namespace (needs a user namespace)")
        return
    raise ConfigError(path, "sysctl is not in a separate kernel namespace")


def load_process_json(text: str, path: str = "process") -> Process:
    """A process JSON (``exec --process``), checked like config.json's ``process``."""
    try:
        data = jsonin.loads(text)
    except RecursionError:
        raise PyruncError(f"{path}: nested too deeply") from None
    except ValueError as e:
        raise PyruncError(f"{path}: invalid JSON: {getattr(e, 'msg', e)}") from None
    return _process(Obj(data, "process"))


__all__ = ["load", "build", "read_config", "strings", "load_process_json"]
