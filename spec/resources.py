"""linux.resources -> the files a cgroup manager writes (config-linux.md "Control groups").

Pure functions, in the spec layer with the rest of what reads config.json: the
``resources`` object (config.json's, or ``update``'s) becomes a list of writes
``(controller, file, value, json path)`` for cgroup v1 or for v2, with runc's conversions
between the two (shares -> cpu.weight, blkio weight -> io.weight, swap as memory+swap on
v1 and as swap alone on v2), every wrong value named by its JSON path.  The linux layer's
cgroup manager only writes them.
"""

from pyrunc.runtime import log
from pyrunc.runtime.errors import ConfigError

Write = tuple[str, str, str, str]  # controller, file, value, json path


def shares_to_weight(shares: int) -> int:
    """cpu.shares [2, 262144] -> cpu.weight [1, 10000] (runc/crun's formula)."""
    if shares == 0:
        return 0
    return 1 + ((shares - 2) * 9999) // 262142


def blkio_weight_to_io_weight(weight: int) -> int:
    """blkio.weight [10, 1000] -> io.weight [1, 10000]."""
    if weight == 0:
        return 0
    return 1 + ((weight - 10) * 9999) // 990


def _int(v: object, path: str, lo: int | None = None) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(path, f"expected an integer, got {type(v).__name__}")
    if lo is not None and v < lo:
        raise ConfigError(path, f"{v} is out of range (minimum {lo})")
    return v


def _obj(res: dict, key: str, path: str) -> dict:
    v = res.get(key)
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise ConfigError(f"{path}.{key}", "expected an object")
    return v


def _cpuset(v: object, path: str) -> str:
    if not isinstance(v, str):
        raise ConfigError(path, "expected a string")
    for part in v.split(","):
        lo, _, hi = part.partition("-")
        if not lo.strip().isdigit() or (hi and not hi.strip().isdigit()):
            raise ConfigError(path, f"{v!r} is not a cpu/node list like 0-3,5")
    return v


def kernel_major_minor() -> tuple[int, int]:
    import os

    rel = os.uname().release.split(".")
    return int(rel[0]), int("".join(ch for ch in rel[1] if ch.isdigit()) or 0)


def _cpuset_and_pids(res: dict, cpu: dict, path: str, v2: bool) -> list[Write]:
    """cpuset.cpus/mems and pids.max: the same files on v1 (their own controllers) and v2
    (the unified tree, controller "")."""
    out: list[Write] = []
    cp = f"{path}.cpu"
    for key in ("cpus", "mems"):
        if key in cpu:
            out.append(("" if v2 else "cpuset", f"cpuset.{key}", _cpuset(cpu[key], f"{cp}.{key}"), f"{cp}.{key}"))
    pids = _obj(res, "pids", path)
    if "limit" in pids:
        lim = _int(pids["limit"], f"{path}.pids.limit")
        out.append(("" if v2 else "pids", "pids.max", "max" if lim <= 0 else str(lim), f"{path}.pids.limit"))
    return out


def v1_writes(res: dict, path: str = "linux.resources", warn: bool = True,
              replaced: frozenset[str] = frozenset()) -> list[Write]:
    out: list[Write] = []
    mem = _obj(res, "memory", path)
    mp = f"{path}.memory"
    if warn and ("kernel" in mem or "kernelTCP" in mem):
        # config-linux.md: NOT RECOMMENDED; kernels since 5.4/6.x ignore kmem limits.  runc's
        # one warning (1.1.5 and 1.5).
        log.warn("Kernel memory settings are ignored and will be removed")
    if mem.get("useHierarchy") is False and kernel_major_minor() >= (5, 11):
        raise ConfigError(f"{mp}.useHierarchy", "false is not supported by kernels since 5.11")
    if "limit" in mem:
        out.append(("memory", "memory.limit_in_bytes", str(_int(mem["limit"], f"{mp}.limit", -1)), f"{mp}.limit"))
    if "reservation" in mem:
        out.append(("memory", "memory.soft_limit_in_bytes", str(_int(mem["reservation"], f"{mp}.reservation", -1)),
                    f"{mp}.reservation"))
    if "swap" in mem:
        out.append(("memory", "memory.memsw.limit_in_bytes", str(_int(mem["swap"], f"{mp}.swap", -1)), f"{mp}.swap"))
    if "swappiness" in mem and mem["swappiness"] != (1 << 64) - 1:
        # runc: a uint64 of all ones is -1 (Docker's "unset"), left alone.
        sw = _int(mem["swappiness"], f"{mp}.swappiness", 0)
        if sw > 100:
            raise ConfigError(f"{mp}.swappiness", f"{sw} is out of range (0-100)")
        out.append(("memory", "memory.swappiness", str(sw), f"{mp}.swappiness"))
    if mem.get("disableOOMKiller"):
        out.append(("memory", "memory.oom_control", "1", f"{mp}.disableOOMKiller"))
    cpu = _obj(res, "cpu", path)
    cp = f"{path}.cpu"
    for key, file in (("shares", "cpu.shares"), ("period", "cpu.cfs_period_us"), ("quota", "cpu.cfs_quota_us"),
                      ("burst", "cpu.cfs_burst_us"), ("realtimePeriod", "cpu.rt_period_us"),
                      ("realtimeRuntime", "cpu.rt_runtime_us"), ("idle", "cpu.idle")):
        if key in cpu:
            out.append(("cpu", file, str(_int(cpu[key], f"{cp}.{key}", -1)), f"{cp}.{key}"))
    out += _cpuset_and_pids(res, cpu, path, v2=False)
    blk = _obj(res, "blockIO", path)
    bp = f"{path}.blockIO"
    if "weight" in blk:
        out.append(("blkio", "blkio.weight", str(_int(blk["weight"], f"{bp}.weight", 0)), f"{bp}.weight"))
    if "leafWeight" in blk:
        out.append(("blkio", "blkio.leaf_weight", str(_int(blk["leafWeight"], f"{bp}.leafWeight", 0)),
                    f"{bp}.leafWeight"))
    for i, d in enumerate(blk.get("weightDevice") or []):
        dp = f"{bp}.weightDevice[{i}]"
        dev = f"{_int(d.get('major'), dp + '.major', 0)}:{_int(d.get('minor'), dp + '.minor', 0)}"
        if "weight" in d:
            out.append(("blkio", "blkio.weight_device", f"{dev} {_int(d['weight'], dp + '.weight', 0)}", dp))
        if "leafWeight" in d:
            out.append(("blkio", "blkio.leaf_weight_device", f"{dev} {_int(d['leafWeight'], dp + '.leafWeight', 0)}",
                        dp))
    for key, file in (("throttleReadBpsDevice", "blkio.throttle.read_bps_device"),
                      ("throttleWriteBpsDevice", "blkio.throttle.write_bps_device"),
                      ("throttleReadIOPSDevice", "blkio.throttle.read_iops_device"),
                      ("throttleWriteIOPSDevice", "blkio.throttle.write_iops_device")):
        for i, d in enumerate(blk.get(key) or []):
            dp = f"{bp}.{key}[{i}]"
            dev = f"{_int(d.get('major'), dp + '.major', 0)}:{_int(d.get('minor'), dp + '.minor', 0)}"
            out.append(("blkio", file, f"{dev} {_int(d.get('rate'), dp + '.rate', 0)}", dp))
    for i, h in enumerate(res.get("hugepageLimits") or []):
        hp = f"{path}.hugepageLimits[{i}]"
        limit = str(_int(h.get("limit"), hp + ".limit", 0))
        out.append(("hugetlb", f"hugetlb.{h.get('pageSize')}.limit_in_bytes", limit, hp))
    net = _obj(res, "network", path)
    if "classID" in net:
        out.append(("net_cls", "net_cls.classid", str(_int(net["classID"], f"{path}.network.classID", 0)),
                    f"{path}.network.classID"))
    for i, p in enumerate(net.get("priorities") or []):
        out.append(("net_prio", "net_prio.ifpriomap", f"{p.get('name')} {_int(p.get('priority'), 'x', 0)}",
                    f"{path}.network.priorities[{i}]"))
    for dev, lim in (res.get("rdma") or {}).items():
        parts = [f"{k}={lim[k2]}" for k, k2 in (("hca_handle", "hcaHandles"), ("hca_object", "hcaObjects"))
                 if lim.get(k2) is not None]
        out.append(("rdma", "rdma.max", f"{dev} {' '.join(parts)}", f"{path}.rdma.{dev}"))
    if res.get("unified"):
        raise ConfigError(f"{path}.unified", "cannot use unified on cgroup v1")
    out += device_writes(res, path, replaced)
    return out


#: runc's default allow list (the devices every container gets): null, zero, full,
#: random, urandom, tty, ptmx, the pty slaves and /dev/net/tun, read/write/mknod ...
#: (tun/tap: in runc 1.1, dropped in 1.2.0 and put back in 1.2.4 because users rely on
#: it; Podman sends only a deny-all rule and leaves the defaults to the runtime).
DEFAULT_ALLOWED = [("c", 1, 3), ("c", 1, 5), ("c", 1, 7), ("c", 1, 8), ("c", 1, 9), ("c", 5, 0),
                   ("c", 5, 2), ("c", 136, -1), ("c", 10, 200)]
#: The defaults that are also device nodes: a linux.devices entry at one of these paths
#: replaces the default, its rule included (runc's specconv drops such a default from its
#: AllowedDevices; linux.devices itself adds no rule), so /dev/null listed there without a
#: linux.resources.devices rule is not accessible, as under runc.
DEFAULT_PATHS = {("c", 1, 3): "/dev/null", ("c", 1, 5): "/dev/zero", ("c", 1, 7): "/dev/full",
                 ("c", 1, 8): "/dev/random", ("c", 1, 9): "/dev/urandom", ("c", 5, 0): "/dev/tty"}


def _defaults(replaced: frozenset[str]) -> list[tuple[str, int, int]]:
    return [d for d in DEFAULT_ALLOWED if DEFAULT_PATHS.get(d) not in replaced]
#: ... and mknod (only) of any character or block device.
DEFAULT_MKNOD = [("c", -1, -1), ("b", -1, -1)]


def device_writes(res: dict, path: str, replaced: frozenset[str] = frozenset()) -> list[Write]:
    """The v1 devices controller: the config's rules in order, then runc's defaults, as
    runc 1.1 writes them: folded into one default ("a") and its exceptions (its device
    emulator), written sorted, so that devices.list reads as under runc.  A rule v1 cannot
    express (a hole in a wildcard exception) is refused, as runc refuses it.  A default
    whose path linux.devices lists (``replaced``) is left out, as runc does."""
    # Without linux.resources.devices the default list alone: runc always writes it (a
    # container never inherits its parent's "a *:* rwm").
    rules = res.get("devices") or []
    default_allow = False  # runc's emulator starts from "deny all", whatever the parent has
    exceptions: dict[tuple[int, int, str], str] = {}
    steps = []
    for i, r in enumerate(rules):
        rp = f"{path}.devices[{i}]"
        typ = r.get("type") or "a"
        if typ not in ("a", "c", "b"):
            raise ConfigError(f"{rp}.type", f"unknown device type {typ!r}")
        access = r.get("access") or "rwm"
        if any(ch not in "rwm" for ch in access):
            raise ConfigError(f"{rp}.access", f"{access!r} is not made of r, w and m")
        major, minor = r.get("major"), r.get("minor")
        steps.append((bool(r.get("allow")), typ, -1 if major is None or major < 0 else major,
                      -1 if minor is None or minor < 0 else minor, access, rp))
    for typ, _major, _minor in DEFAULT_MKNOD:
        steps.append((True, typ, -1, -1, "m", f"{path}.devices (default allow list)"))
    for typ, major, minor in _defaults(replaced):
        steps.append((True, typ, major, minor, "rwm", f"{path}.devices (default allow list)"))
    for allow, typ, major, minor, access, rp in steps:
        if typ == "a":  # "a" resets the list whatever its numbers and access (as the kernel does)
            default_allow, exceptions = allow, {}
        elif allow != default_allow:  # an exception to the default: add its access
            key = (major, minor, typ)
            exceptions[key] = _perms(exceptions.get(key, "") + access)
        else:  # the default's own kind: take its access out of an exception
            _remove_exception(exceptions, typ, major, minor, access, rp, default_allow)
    out: list[Write] = [("devices", "devices.allow" if default_allow else "devices.deny", "a",
                         f"{path}.devices")]
    for (major, minor, typ), access in sorted(exceptions.items()):
        rule = f"{typ} {'*' if major < 0 else major}:{'*' if minor < 0 else minor} {access}"
        out.append(("devices", "devices.deny" if default_allow else "devices.allow", rule, f"{path}.devices"))
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


#: A zero means "unset" for these, at create as at update (runc 1.1's libcontainer/cgroups
#: fs and fs2 Set functions skip them; Docker sends 0 for every field the user did not set,
#: and an empty string for cpuset.cpus/mems).  Writing them would fail (blkio.weight is
#: absent without BFQ) or change something (cpu.shares 0 is clamped to 2).
_ZERO_IS_UNSET = {"memory": ("limit", "reservation", "swap", "kernel", "kernelTCP"),
                  "cpu": ("shares", "quota", "period", "realtimeRuntime", "realtimePeriod", "cpus", "mems"),
                  "blockIO": ("weight", "leafWeight"),
                  "pids": ("limit",),
                  "network": ("classID",)}
#: memory.swappiness: runc leaves it alone when it is -1 (as a uint64: 2**64-1).
_SWAPPINESS_UNSET = (-1, 2**64 - 1)


def drop_unset(res: dict, update: bool = False) -> dict:
    """A copy of ``res`` without the values runc treats as unset (zeros, empty cpu lists, a
    swappiness of -1, a weightDevice's zero weights); for an update, a memory limit of -1
    alone also lifts memory+swap (runc's setMemoryAndSwap; at create both are already
    unlimited)."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in res.items()}
    for section, keys in _ZERO_IS_UNSET.items():
        sec = out.get(section)
        if isinstance(sec, dict):
            for k in keys:
                if k in sec and sec[k] in (0, "") and not isinstance(sec[k], bool):
                    del sec[k]
    mem = out.get("memory")
    if isinstance(mem, dict) and mem.get("swappiness") in _SWAPPINESS_UNSET:
        del mem["swappiness"]
    blk = out.get("blockIO")
    if isinstance(blk, dict) and isinstance(blk.get("weightDevice"), list):
        blk["weightDevice"] = [{k: v for k, v in d.items() if not (k in ("weight", "leafWeight") and v == 0)}
                               if isinstance(d, dict) else d for d in blk["weightDevice"]]
    if update and isinstance(mem, dict) and mem.get("limit") == -1 and "swap" not in mem:
        mem["swap"] = -1
    return out


def v2_writes(res: dict, path: str = "linux.resources") -> list[Write]:
    """The unified hierarchy's files (controller "" : every write goes to the one tree)."""
    out: list[Write] = []
    mem = _obj(res, "memory", path)
    mp = f"{path}.memory"
    limit = mem.get("limit")
    if limit is not None:
        out.append(("", "memory.max", "max" if _int(limit, f"{mp}.limit", -1) < 0 else str(limit), f"{mp}.limit"))
    if "reservation" in mem:
        r = _int(mem["reservation"], f"{mp}.reservation", -1)
        out.append(("", "memory.low", "max" if r < 0 else str(r), f"{mp}.reservation"))
    if "swap" in mem:
        sw = _int(mem["swap"], f"{mp}.swap", -1)
        if sw < 0:
            val = "max"
        else:
            # v1's swap is memory+swap; v2's memory.swap.max is swap alone.
            if limit is None or limit < 0:
                raise ConfigError(f"{mp}.swap", "on cgroup v2 a swap limit needs memory.limit too")
            if sw < limit:
                raise ConfigError(f"{mp}.swap", f"{sw} is below memory.limit {limit}")
            val = str(sw - limit)
        out.append(("", "memory.swap.max", val, f"{mp}.swap"))
    cpu = _obj(res, "cpu", path)
    cp = f"{path}.cpu"
    if "shares" in cpu:
        out.append(("", "cpu.weight", str(shares_to_weight(_int(cpu["shares"], f"{cp}.shares", 0))), f"{cp}.shares"))
    if "quota" in cpu or "period" in cpu:
        q = _int(cpu.get("quota", -1), f"{cp}.quota", -1)
        per = _int(cpu.get("period", 100000), f"{cp}.period", 1)
        out.append(("", "cpu.max", f"{'max' if q <= 0 else q} {per}", f"{cp}.quota"))
    if "burst" in cpu:
        out.append(("", "cpu.max.burst", str(_int(cpu["burst"], f"{cp}.burst", 0)), f"{cp}.burst"))
    if "idle" in cpu:
        out.append(("", "cpu.idle", str(_int(cpu["idle"], f"{cp}.idle", 0)), f"{cp}.idle"))
    out += _cpuset_and_pids(res, cpu, path, v2=True)
    blk = _obj(res, "blockIO", path)
    if "weight" in blk:
        out.append(("", "io.weight", f"default {blkio_weight_to_io_weight(_int(blk['weight'], 'w', 0))}",
                    f"{path}.blockIO.weight"))
    for key, kw in (("throttleReadBpsDevice", "rbps"), ("throttleWriteBpsDevice", "wbps"),
                    ("throttleReadIOPSDevice", "riops"), ("throttleWriteIOPSDevice", "wiops")):
        for i, d in enumerate(blk.get(key) or []):
            out.append(("", "io.max", f"{d.get('major')}:{d.get('minor')} {kw}={d.get('rate')}",
                        f"{path}.blockIO.{key}[{i}]"))
    for i, h in enumerate(res.get("hugepageLimits") or []):
        out.append(("", f"hugetlb.{h.get('pageSize')}.max", str(h.get("limit")), f"{path}.hugepageLimits[{i}]"))
    for key, val in (res.get("unified") or {}).items():
        if "/" in key or key.startswith("."):
            raise ConfigError(f"{path}.unified.{key}", "not a cgroup file name")
        out.append(("", key, str(val), f"{path}.unified.{key}"))
    return out


def device_rules_with_defaults(devices: list[dict], replaced: frozenset[str] = frozenset()) -> list[dict]:
    """The rules of the v2 eBPF device filter: the config's, then runc's defaults."""
    out = list(devices)
    for typ, _major, _minor in DEFAULT_MKNOD:
        out.append({"allow": True, "type": typ, "major": None, "minor": None, "access": "m"})
    for typ, major, minor in _defaults(replaced):
        out.append({"allow": True, "type": typ, "major": major, "minor": None if minor < 0 else minor,
                    "access": "rwm"})
    return out


def writes_for(res: dict, v2: bool, part: str = "all", update: bool = False,
               replaced: frozenset[str] = frozenset()) -> list[Write]:
    """The writes of ``res`` for this host's cgroup version.  ``part``: "limits" (all but
    the device rules), "devices", or "all"; an update leaves the device rules alone (runc)."""
    given = res.get("memory") if isinstance(res.get("memory"), dict) else {}
    res = drop_unset(res, update)
    if part != "devices":  # warnings once
        # runc's specconv warns when the config has the fields at all, zeros included
        # (Docker sends "kernel": 0); an update, when they are given a value.
        mem = (res.get("memory") or {}) if update else given
        if "kernel" in mem or "kernelTCP" in mem:
            log.warn("Kernel memory settings are ignored and will be removed")
    writes = v2_writes(res) if v2 else v1_writes(res, warn=False, replaced=replaced)
    if update or part == "limits":
        return [w for w in writes if w[0] != "devices"]
    if part == "devices":
        return [w for w in writes if w[0] == "devices"]
    return writes


# --- the shape of linux.resources (config-linux.md "Control groups"), checked at load --

_I, _S, _B = "int", "str", "bool"
_THROTTLE = [{"major": _I, "minor": _I, "rate": _I}]
SHAPE: dict = {
    "devices": [{"allow": _B, "type": _S, "major": _I, "minor": _I, "access": _S}],
    "memory": {"limit": _I, "reservation": _I, "swap": _I, "kernel": _I, "kernelTCP": _I, "swappiness": _I,
               "disableOOMKiller": _B, "useHierarchy": _B, "checkBeforeUpdate": _B},
    "cpu": {"shares": _I, "quota": _I, "burst": _I, "period": _I, "realtimeRuntime": _I, "realtimePeriod": _I,
            "cpus": _S, "mems": _S, "idle": _I},
    "pids": {"limit": _I},
    "blockIO": {"weight": _I, "leafWeight": _I,
                "weightDevice": [{"major": _I, "minor": _I, "weight": _I, "leafWeight": _I}],
                "throttleReadBpsDevice": _THROTTLE, "throttleWriteBpsDevice": _THROTTLE,
                "throttleReadIOPSDevice": _THROTTLE, "throttleWriteIOPSDevice": _THROTTLE},
    "hugepageLimits": [{"pageSize": _S, "limit": _I}],
    "network": {"classID": _I, "priorities": [{"name": _S, "priority": _I}]},
    "rdma": {"*": {"hcaHandles": _I, "hcaObjects": _I}},
    "unified": {"*": _S},
}


def check(res: object, path: str = "linux.resources") -> dict:
    """Every field of ``res`` has the type config-linux.md gives it (integers within 64
    bits, device rules with a known type and access), so that no later step meets a
    value it cannot use; unknown fields are left alone."""
    _check_shape(res, SHAPE, path)
    for i, d in enumerate(res.get("devices") or []):  # type: ignore[union-attr]
        if (d.get("type") or "a") not in ("a", "b", "c"):
            raise ConfigError(f"{path}.devices[{i}].type", f"unknown device type {d.get('type')!r}")
        if not set(d.get("access") or "rwm") <= set("rwm"):
            raise ConfigError(f"{path}.devices[{i}].access", f"{d.get('access')!r} is not a subset of \"rwm\"")
    return res  # type: ignore[return-value]


def _check_shape(v: object, shape: object, path: str) -> None:
    if v is None:
        return
    if shape == _I:
        if isinstance(v, bool) or not isinstance(v, int):
            raise ConfigError(path, f"expected an integer, got {_kind(v)}")
        if not -(2**63) <= v <= 2**64 - 1:
            raise ConfigError(path, f"{v} does not fit in 64 bits")
    elif shape == _S:
        if not isinstance(v, str):
            raise ConfigError(path, f"expected a string, got {_kind(v)}")
    elif shape == _B:
        if not isinstance(v, bool):
            raise ConfigError(path, f"expected a boolean, got {_kind(v)}")
    elif isinstance(shape, list):
        if not isinstance(v, list):
            raise ConfigError(path, f"expected an array, got {_kind(v)}")
        for i, item in enumerate(v):
            if item is None:
                raise ConfigError(f"{path}[{i}]", "expected a value, got null")
            _check_shape(item, shape[0], f"{path}[{i}]")
    elif isinstance(shape, dict):
        if not isinstance(v, dict):
            raise ConfigError(path, f"expected an object, got {_kind(v)}")
        for k, item in v.items():
            sub = shape.get(k, shape.get("*"))
            if sub is not None:
                _check_shape(item, sub, f"{path}.{k}")
            if isinstance(shape.get("*"), dict) and item is None:
                raise ConfigError(f"{path}.{k}", "expected an object, got null")


def _kind(v: object) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object",
            type(None): "null"}.get(type(v), type(v).__name__)
