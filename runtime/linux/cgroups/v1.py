"""The fs driver: cgroup v1, one directory per controller hierarchy (and, on a hybrid
host, the unified tree's, which the container joins but whose limits stay on v1: runc's
rule).  config-linux.md "Control groups" gives each resource; runc 1.1's
libcontainer/cgroups/fs/*.go the files and their order.
Layer: linux (the bottom: imports only linux and the base).
"""


from pyrunc.runtime.errors import ConfigError
from pyrunc.runtime.linux import fspath
from pyrunc.runtime.linux.cgroups.base import DirManager, Write

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyrunc.spec.resources import DeviceRule, Resources
P = "linux.resources"


class FsManager(DirManager):
    driver = "fs"

    def limit_writes(self, res: "Resources") -> list[Write]:
        return limit_writes(res)

    def set(self, res: "Resources", update: bool = False) -> None:
        from pyrunc.runtime.linux.cgroups import files

        files.write_all(self.dirs, _bfq_names(self.paths().get("blkio"), limit_writes(res)))

    def _set_devices(self, res: "Resources", replaced: frozenset[str]) -> None:
        from pyrunc.runtime.linux.cgroups import files

        files.write_all(self.dirs, device_writes(res.devices or [], replaced))

    def freeze(self) -> None:
        ctl = self.paths()
        from pyrunc.runtime.linux.cgroups import freezer

        if "freezer" in ctl:
            freezer.freeze_v1(ctl["freezer"])
        elif "" in ctl:
            freezer.freeze_v2(ctl[""])
        else:
            raise OSError(95, "cannot toggle freezer: cgroups not configured for container")




def _bfq_names(blkio_dir: str | None, writes: list[Write]) -> list[Write]:
    """runc 1.1.5 (fs/blkio.go detectWeightFilenames): without blkio.weight (CFQ is gone
    since Linux 5.0) the weights go to BFQ's blkio.bfq.weight and blkio.bfq.weight_device."""
    if blkio_dir is None or fspath.exists(fspath.join(blkio_dir, "blkio.weight")):
        return writes
    names = {"blkio.weight": "blkio.bfq.weight", "blkio.weight_device": "blkio.bfq.weight_device"}
    return [(c, names.get(f, f) if c == "blkio" else f, v, p) for c, f, v, p in writes]


#: (attribute, JSON key, file) of the values written as they are, in runc's order.
_MEMORY_FILES = (("limit", "limit", "memory.limit_in_bytes"),
                 ("reservation", "reservation", "memory.soft_limit_in_bytes"),
                 ("swap", "swap", "memory.memsw.limit_in_bytes"), ("swappiness", "swappiness", "memory.swappiness"))
_CPU_FILES = (("shares", "shares", "cpu.shares"), ("period", "period", "cpu.cfs_period_us"),
              ("quota", "quota", "cpu.cfs_quota_us"), ("burst", "burst", "cpu.cfs_burst_us"),
              ("realtime_period", "realtimePeriod", "cpu.rt_period_us"),
              ("realtime_runtime", "realtimeRuntime", "cpu.rt_runtime_us"), ("idle", "idle", "cpu.idle"))


def _plain(obj: object, ctrl: str, jpath: str, table: tuple[tuple[str, str, str], ...]) -> list[Write]:
    return [(ctrl, file, str(getattr(obj, attr)), f"{jpath}.{key}") for attr, key, file in table
            if getattr(obj, attr) is not None]


def limit_writes(res: "Resources") -> list[Write]:
    """``res`` as v1 files, in runc's order (everything but the device rules).  ``res``
    comes checked from spec/resources.py (types, ranges, cpu lists); what is refused here
    depends on the host: its kernel, its cgroup version."""
    from pyrunc.runtime.linux.cgroups import convert

    out: list[Write] = []
    mem = res.memory
    mp = f"{P}.memory"
    if mem is not None:
        # (memory.kernel and kernelTCP are not written: kernels since 5.4 ignore them; spec/
        # warns, as runc.)
        if mem.use_hierarchy is False:
            from pyrunc.runtime.linux.cgroups.convert import kernel_major_minor

            if kernel_major_minor() >= (5, 11):
                raise ConfigError(f"{mp}.useHierarchy", "false is not supported by kernels since 5.11")
        out += _plain(mem, "memory", mp, _MEMORY_FILES)
        if mem.disable_oom_killer:
            out.append(("memory", "memory.oom_control", "1", f"{mp}.disableOOMKiller"))
    cpu = res.cpu
    cp = f"{P}.cpu"
    if cpu is not None:
        out += _plain(cpu, "cpu", cp, _CPU_FILES)
    out += convert.cpuset_and_pids(res, v2=False)
    blk = res.block_io
    bp = f"{P}.blockIO"
    if blk is not None:
        if blk.weight is not None:
            out.append(("blkio", "blkio.weight", str(blk.weight), f"{bp}.weight"))
        if blk.leaf_weight is not None:
            out.append(("blkio", "blkio.leaf_weight", str(blk.leaf_weight), f"{bp}.leafWeight"))
        for i, d in enumerate(blk.weight_device or []):
            dp = f"{bp}.weightDevice[{i}]"
            if d.weight is not None:
                out.append(("blkio", "blkio.weight_device", f"{d.major}:{d.minor} {d.weight}", dp))
            if d.leaf_weight is not None:
                out.append(("blkio", "blkio.leaf_weight_device", f"{d.major}:{d.minor} {d.leaf_weight}", dp))
        for (attr, key), file in zip(blk.THROTTLES, ("blkio.throttle.read_bps_device",
                                                     "blkio.throttle.write_bps_device",
                                                     "blkio.throttle.read_iops_device",
                                                     "blkio.throttle.write_iops_device"), strict=True):
            for i, t in enumerate(getattr(blk, attr) or []):
                out.append(("blkio", file, f"{t.major}:{t.minor} {t.rate}", f"{bp}.{key}[{i}]"))
    for i, h in enumerate(res.hugepage_limits or []):
        out.append(("hugetlb", f"hugetlb.{h.page_size}.limit_in_bytes", str(h.limit), f"{P}.hugepageLimits[{i}]"))
    net = res.network
    if net is not None:
        if net.class_id is not None:
            out.append(("net_cls", "net_cls.classid", str(net.class_id), f"{P}.network.classID"))
        for i, p in enumerate(net.priorities or []):
            out.append(("net_prio", "net_prio.ifpriomap", f"{p.name} {p.priority}", f"{P}.network.priorities[{i}]"))
    for dev, lim in (res.rdma or {}).items():
        parts = [f"{k}={v}" for k, v in (("hca_handle", lim.hca_handles), ("hca_object", lim.hca_objects))
                 if v is not None]
        out.append(("rdma", "rdma.max", f"{dev} {' '.join(parts)}", f"{P}.rdma.{dev}"))
    if res.unified:
        raise ConfigError(f"{P}.unified", "cannot use unified on cgroup v1")
    return out


def device_writes(rules: "list[DeviceRule]", replaced: frozenset[str] = frozenset()) -> list[Write]:
    """The v1 devices controller: the config's rules in order, then runc's defaults, as
    runc 1.1 writes them: folded into one default ("a") and its exceptions (its device
    emulator), written sorted, so that devices.list reads as under runc.  A rule v1 cannot
    express (a hole in a wildcard exception) is refused, as runc refuses it.  A default
    whose path linux.devices lists (``replaced``) is left out, as runc does.  Without rules
    the default list alone: runc always writes it (a container never inherits its parent's
    "a *:* rwm")."""
    from pyrunc.runtime.linux.cgroups.convert import DEFAULT_MKNOD, default_allowed

    default_allow = False  # runc's emulator starts from "deny all", whatever the parent has
    exceptions: dict[tuple[int, int, str], str] = {}
    steps = []
    for i, r in enumerate(rules):  # type and access checked by spec/resources.py
        rp = f"{P}.devices[{i}]"
        steps.append((bool(r.allow), r.type, -1 if r.major is None else r.major, -1 if r.minor is None else r.minor,
                      r.access, rp))
    for typ, _major, _minor in DEFAULT_MKNOD:
        steps.append((True, typ, -1, -1, "m", f"{P}.devices (default allow list)"))
    for typ, major, minor in default_allowed(replaced):
        steps.append((True, typ, major, minor, "rwm", f"{P}.devices (default allow list)"))
    for allow, typ, major, minor, access, rp in steps:
        if typ == "a":  # "a" resets the list whatever its numbers and access (as the kernel does)
            default_allow, exceptions = allow, {}
        elif allow != default_allow:  # an exception to the default: add its access
            key = (major, minor, typ)
            exceptions[key] = _perms(exceptions.get(key, "") + access)
        else:  # the default's own kind: take its access out of an exception
            _remove_exception(exceptions, typ, major, minor, access, rp, default_allow)
    out: list[Write] = [("devices", "devices.allow" if default_allow else "devices.deny", "a", f"{P}.devices")]
    for (major, minor, typ), access in sorted(exceptions.items()):
        rule = f"{typ} {'*' if major < 0 else major}:{'*' if minor < 0 else minor} {access}"
        out.append(("devices", "devices.deny" if default_allow else "devices.allow", rule, f"{P}.devices"))
    return out


def _perms(access: str) -> str:
    return "".join(ch for ch in "rwm" if ch in access)


def _remove_exception(exceptions: dict, typ: str, major: int, minor: int, access: str, rp: str,
                      default_allow: bool) -> None:
    """runc's emulator: an access taken out of an exact exception; one that a wildcard
    exception also covers cannot be (v1 has no holes in a wildcard rule)."""
    for wide in ((-1, minor, typ), (major, -1, typ), (-1, -1, typ)):
        if wide != (major, minor, typ) and set(exceptions.get(wide, "")) & set(access):
            kind = "deny" if default_allow else "allow"
            raise ConfigError(rp, f"unable to remove '{kind}' exception: requested rule not supported by devices "
                                  f"cgroupv1 (cannot punch hole in existing wildcard rule)")
    left = _perms("".join(ch for ch in exceptions.get((major, minor, typ), "") if ch not in access))
    if left:
        exceptions[(major, minor, typ)] = left
    else:
        exceptions.pop((major, minor, typ), None)
