"""linux.resources as typed values (config-linux.md "Control groups"), for the cgroup manager.
Layer: spec (between process and linux: may import linux's pure helpers and the base).

spec/ reads config.json's ``linux.resources`` (and ``update``'s ``--resources`` or flags),
checks every field's type and range (``check``) and hands the cgroup manager a
``Resources``: typed values, with runc's rule for what is unset already applied
(``parse``).  The manager's drivers (runtime/linux/cgroups: fs for v1, fs2 for v2,
systemd) turn it into files or unit properties; none of them reads JSON, and they refuse
only what the host decides (its kernel, its cgroup version).

``None`` is "unset" everywhere: absent from the JSON, JSON null, or a value runc treats as
unset (``parse``: a zero for most numbers, an empty cpu list, a swappiness of -1).  The
classes are plain ``__slots__`` records like the Plan's (not ``dataclasses``, whose import
costs ~12 ms on create's hot path).
"""

from pyrunc.runtime.errors import ConfigError


class _Record:
    """A plain record: keyword fields (default None), equality and repr by field."""

    __slots__: tuple[str, ...] = ()

    def __init__(self, **kw: object) -> None:
        for name in self.__slots__:
            setattr(self, name, kw.pop(name, None))
        if kw:
            raise TypeError(f"{type(self).__name__}: unknown fields {sorted(kw)}")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__ if getattr(self, n) is not None)
        return f"{type(self).__name__}({shown})"


class DeviceRule(_Record):
    """linux.resources.devices[i]: ``type`` "a", "c" or "b"; ``major``/``minor`` None for
    any (a negative number in the JSON is any too); ``access`` a subset of "rwm"."""

    __slots__ = ("allow", "type", "major", "minor", "access")
    allow: bool
    type: str
    major: int | None
    minor: int | None
    access: str


class Memory(_Record):
    """linux.resources.memory, in bytes (-1 is unlimited)."""

    __slots__ = ("limit", "reservation", "swap", "kernel", "kernel_tcp", "swappiness", "disable_oom_killer",
                 "use_hierarchy", "check_before_update")
    limit: int | None
    reservation: int | None
    swap: int | None  # memory+swap, as v1 has it (v2's memory.swap.max is swap alone)
    kernel: int | None  # NOT RECOMMENDED (config-linux.md); ignored by kernels since 5.4
    kernel_tcp: int | None
    swappiness: int | None
    disable_oom_killer: bool | None
    use_hierarchy: bool | None
    check_before_update: bool | None


class CPU(_Record):
    """linux.resources.cpu: shares, CFS quota/period/burst and RT runtime/period (µs), the
    cpuset lists (strings like "0-3,5"), SCHED_IDLE."""

    __slots__ = ("shares", "quota", "burst", "period", "realtime_runtime", "realtime_period", "cpus", "mems",
                 "idle")
    shares: int | None
    quota: int | None
    burst: int | None
    period: int | None
    realtime_runtime: int | None
    realtime_period: int | None
    cpus: str | None
    mems: str | None
    idle: int | None


class Pids(_Record):
    __slots__ = ("limit",)
    limit: int | None  # 0 or negative: no limit


class WeightDevice(_Record):
    __slots__ = ("major", "minor", "weight", "leaf_weight")
    major: int  # 0 when the config gives none (runc's zero value)
    minor: int
    weight: int | None
    leaf_weight: int | None


class ThrottleDevice(_Record):
    __slots__ = ("major", "minor", "rate")
    major: int  # 0 when the config gives none (runc's zero value)
    minor: int
    rate: int


class BlockIO(_Record):
    """linux.resources.blockIO; the throttle lists keyed by their JSON names."""

    __slots__ = ("weight", "leaf_weight", "weight_device", "throttle_read_bps_device", "throttle_write_bps_device",
                 "throttle_read_iops_device", "throttle_write_iops_device")
    weight: int | None
    leaf_weight: int | None
    weight_device: list[WeightDevice] | None
    throttle_read_bps_device: list[ThrottleDevice] | None
    throttle_write_bps_device: list[ThrottleDevice] | None
    throttle_read_iops_device: list[ThrottleDevice] | None
    throttle_write_iops_device: list[ThrottleDevice] | None

    #: (attribute, JSON key) of the four throttle lists, in the order runc writes them.
    THROTTLES = (("throttle_read_bps_device", "throttleReadBpsDevice"),
                 ("throttle_write_bps_device", "throttleWriteBpsDevice"),
                 ("throttle_read_iops_device", "throttleReadIOPSDevice"),
                 ("throttle_write_iops_device", "throttleWriteIOPSDevice"))


class HugepageLimit(_Record):
    __slots__ = ("page_size", "limit")
    page_size: str | None  # "2MB", "1GB": the hugetlb.<size>.* file names
    limit: int | None


class InterfacePriority(_Record):
    __slots__ = ("name", "priority")
    name: str | None
    priority: int | None


class Network(_Record):
    __slots__ = ("class_id", "priorities")
    class_id: int | None
    priorities: list[InterfacePriority] | None


class Rdma(_Record):
    __slots__ = ("hca_handles", "hca_objects")
    hca_handles: int | None
    hca_objects: int | None


class Resources(_Record):
    """linux.resources, typed.  ``devices`` None: the config gave none (the drivers still
    apply runc's default allow list).  ``rdma`` and ``unified`` keep the config's order."""

    __slots__ = ("devices", "memory", "cpu", "pids", "block_io", "hugepage_limits", "network", "rdma", "unified")
    devices: list[DeviceRule] | None
    memory: Memory | None
    cpu: CPU | None
    pids: Pids | None
    block_io: BlockIO | None
    hugepage_limits: list[HugepageLimit] | None
    network: Network | None
    rdma: dict[str, Rdma] | None
    unified: dict[str, str] | None

    def is_empty(self) -> bool:
        """Nothing to write but the default device rules."""
        return all(getattr(self, n) in (None, [], {}) for n in self.__slots__)


#: JSON key -> attribute, per object (config-linux.md's names; runc's configs.Resources).
_MEMORY = {"limit": "limit", "reservation": "reservation", "swap": "swap", "kernel": "kernel",
           "kernelTCP": "kernel_tcp", "swappiness": "swappiness", "disableOOMKiller": "disable_oom_killer",
           "useHierarchy": "use_hierarchy", "checkBeforeUpdate": "check_before_update"}
_CPU = {"shares": "shares", "quota": "quota", "burst": "burst", "period": "period",
        "realtimeRuntime": "realtime_runtime", "realtimePeriod": "realtime_period", "cpus": "cpus", "mems": "mems",
        "idle": "idle"}

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


def _unset(section: str, key: str, v: object) -> bool:
    return v is None or (key in _ZERO_IS_UNSET.get(section, ()) and v in (0, "") and not isinstance(v, bool))


def _fields(cls: type, raw: object, keys: dict[str, str], section: str) -> object:
    if not isinstance(raw, dict):
        return None
    return cls(**{attr: raw[k] for k, attr in keys.items() if k in raw and not _unset(section, k, raw[k])})


def parse(res: dict | None, update: bool = False) -> Resources:
    """A checked linux.resources object (``check``) as ``Resources``, with runc's unset
    rule: zeros, empty cpu lists, a swappiness of -1 and a weightDevice's zero weights are
    None.  For an update, a memory limit of -1 alone also lifts memory+swap (runc's
    setMemoryAndSwap; at create both are already unlimited)."""
    res = res or {}
    out = Resources()
    raw_mem = res.get("memory")
    kmem = [raw_mem.get(k) for k in ("kernel", "kernelTCP")] if isinstance(raw_mem, dict) else []
    if any(v not in (None, 0) if update else v is not None for v in kmem):
        # config-linux.md: NOT RECOMMENDED; kernels since 5.4/6.x ignore kmem limits.  runc's one
        # warning (1.1.5 and 1.5), for any kernel value at create (a 0 too: Docker sends it), for
        # a non-zero one at update.
        from pyrunc.runtime import log

        log.warn("Kernel memory settings are ignored and will be removed")
    if isinstance(res.get("devices"), list):
        out.devices = [DeviceRule(allow=bool(r.get("allow")), type=r.get("type") or "a",
                                  major=None if r.get("major") is None or r["major"] < 0 else r["major"],
                                  minor=None if r.get("minor") is None or r["minor"] < 0 else r["minor"],
                                  access=r.get("access") or "rwm") for r in res["devices"]]
    mem = _fields(Memory, res.get("memory"), _MEMORY, "memory")
    if isinstance(mem, Memory):
        if mem.swappiness in _SWAPPINESS_UNSET:
            mem.swappiness = None
        if update and mem.limit == -1 and mem.swap is None:
            mem.swap = -1
    out.memory = mem  # type: ignore[assignment]
    out.cpu = _fields(CPU, res.get("cpu"), _CPU, "cpu")  # type: ignore[assignment]
    out.pids = _fields(Pids, res.get("pids"), {"limit": "limit"}, "pids")  # type: ignore[assignment]
    blk = res.get("blockIO")
    if isinstance(blk, dict):
        b = _fields(BlockIO, blk, {"weight": "weight", "leafWeight": "leaf_weight"}, "blockIO")
        assert isinstance(b, BlockIO)
        if isinstance(blk.get("weightDevice"), list):
            # A missing major/minor/rate is 0, as in runc (Go's zero value): "0:0" reaches the
            # kernel, which refuses it (no such device), on every driver alike.
            b.weight_device = [WeightDevice(major=d.get("major") or 0, minor=d.get("minor") or 0,
                                            weight=d.get("weight") or None, leaf_weight=d.get("leafWeight") or None)
                               for d in blk["weightDevice"]]
        for attr, key in BlockIO.THROTTLES:
            if isinstance(blk.get(key), list):
                setattr(b, attr, [ThrottleDevice(major=d.get("major") or 0, minor=d.get("minor") or 0,
                                                         rate=d.get("rate") or 0)
                                  for d in blk[key]])
        out.block_io = b
    if isinstance(res.get("hugepageLimits"), list):
        out.hugepage_limits = [HugepageLimit(page_size=h.get("pageSize"), limit=h.get("limit"))
                               for h in res["hugepageLimits"]]
    net = res.get("network")
    if isinstance(net, dict):
        n = _fields(Network, net, {"classID": "class_id"}, "network")
        assert isinstance(n, Network)
        if isinstance(net.get("priorities"), list):
            n.priorities = [InterfacePriority(name=p.get("name"), priority=p.get("priority"))
                            for p in net["priorities"]]
        out.network = n
    if isinstance(res.get("rdma"), dict):
        out.rdma = {dev: Rdma(hca_handles=lim.get("hcaHandles"), hca_objects=lim.get("hcaObjects"))
                    for dev, lim in res["rdma"].items()}
    if isinstance(res.get("unified"), dict):
        out.unified = dict(res["unified"])
    return out


def load(res: object, path: str = "linux.resources", update: bool = False) -> Resources:
    """``check`` then ``parse``: config.json's linux.resources (or update's) as the manager takes it."""
    return parse(check(res, path), update)


# --- the shape of linux.resources (config-linux.md "Control groups"), checked at load --

_S, _B = "str", "bool"
#: Integers as (kind, minimum, maximum): the Go type runc reads each field into (an
#: unsigned one refuses a negative number at load, as runc's JSON decoder does), and the
#: ranges config-linux.md gives ("-1 is unlimited" for the memory limits and the RT runtime).
_I = ("int", None, None)        # int64: the kernel judges the value (cpu.quota, cpu.idle, pids.limit)
_U64 = ("int", 0, None)
_U32 = ("int", 0, 2**32 - 1)
_U16 = ("int", 0, 2**16 - 1)
_LIMIT = ("int", -1, None)      # int64 where -1 is "unlimited" and other negatives mean nothing
_DEV = ("int", 0, None)         # a device's major or minor number
_THROTTLE = [{"major": _DEV, "minor": _DEV, "rate": _U64}]
SHAPE: dict = {
    "devices": [{"allow": _B, "type": _S, "major": _I, "minor": _I, "access": _S}],
    "memory": {"limit": _LIMIT, "reservation": _LIMIT, "swap": _LIMIT, "kernel": _I, "kernelTCP": _I,
               "swappiness": _I, "disableOOMKiller": _B, "useHierarchy": _B, "checkBeforeUpdate": _B},
    "cpu": {"shares": _U64, "quota": _I, "burst": _U64, "period": _U64, "realtimeRuntime": _LIMIT,
            "realtimePeriod": _U64, "cpus": _S, "mems": _S, "idle": _I},
    "pids": {"limit": _I},
    "blockIO": {"weight": _U16, "leafWeight": _U16,
                "weightDevice": [{"major": _DEV, "minor": _DEV, "weight": _U16, "leafWeight": _U16}],
                "throttleReadBpsDevice": _THROTTLE, "throttleWriteBpsDevice": _THROTTLE,
                "throttleReadIOPSDevice": _THROTTLE, "throttleWriteIOPSDevice": _THROTTLE},
    "hugepageLimits": [{"pageSize": _S, "limit": _U64}],
    "network": {"classID": _U32, "priorities": [{"name": _S, "priority": _U32}]},
    "rdma": {"*": {"hcaHandles": _U32, "hcaObjects": _U32}},
    "unified": {"*": _S},
}


def check(res: object, path: str = "linux.resources") -> dict:
    """Every field of ``res`` has the type config-linux.md gives it (integers within 64
    bits and their Go type's range, device rules with a known type and access, cpu lists,
    a swappiness of 0-100, unified keys that are file names), so that no later step meets
    a value it cannot use and every cgroup driver gets the same checked values; unknown
    fields are left alone.  What depends on the host (a file the kernel lacks, a value the
    kernel refuses, the cgroup version) is the drivers' (runtime/linux/cgroups)."""
    _check_shape(res, SHAPE, path)
    assert isinstance(res, dict) or res is None
    res = res or {}
    for i, d in enumerate(res.get("devices") or []):
        if (d.get("type") or "a") not in ("a", "b", "c"):
            raise ConfigError(f"{path}.devices[{i}].type", f"unknown device type {d.get('type')!r}")
        if not set(d.get("access") or "rwm") <= set("rwm"):
            raise ConfigError(f"{path}.devices[{i}].access", f"{d.get('access')!r} is not a subset of \"rwm\"")
    mem = res.get("memory") or {}
    sw = mem.get("swappiness")
    if sw is not None and sw not in _SWAPPINESS_UNSET and not 0 <= sw <= 100:
        # config-linux.md: "The values are from 0 to 100" (runc 1.1.5 refuses others on v1).
        raise ConfigError(f"{path}.memory.swappiness", f"{sw} is out of range (0-100)")
    # cpu.cpus/mems go to the kernel as they are, as runc writes them: its list grammar
    # has more than "0-3,5" (strides "0-7:2/4", "N" for the last id, empty elements), and a
    # list it refuses fails at the write, named by its JSON path (cgroups/files.py).
    for key in res.get("unified") or {}:
        if "/" in key or key.startswith("."):
            # a file of the container's own cgroup directory, never one beside or above it
            raise ConfigError(f"{path}.unified.{key}", "not a cgroup file name")
    return res


def _check_shape(v: object, shape: object, path: str) -> None:
    if v is None:
        return
    if isinstance(shape, tuple):  # ("int", minimum, maximum)
        if isinstance(v, bool) or not isinstance(v, int):
            raise ConfigError(path, f"expected an integer, got {_kind(v)}")
        if not -(2**63) <= v <= 2**64 - 1:
            raise ConfigError(path, f"{v} does not fit in 64 bits")
        _, lo, hi = shape
        if lo is not None and v < lo:
            raise ConfigError(path, f"{v} is out of range (minimum {lo})")
        if hi is not None and v > hi:
            raise ConfigError(path, f"{v} is out of range (maximum {hi})")
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
