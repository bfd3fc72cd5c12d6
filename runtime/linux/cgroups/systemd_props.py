"""linux.cgroupsPath and linux.resources for systemd's cgroup driver (``--systemd-cgroup``).

Pure translation, no kernel and no D-Bus: the systemd driver (systemd.py) hands the
result to systemd's ``StartTransientUnit``/``SetUnitProperties`` and writes the rest
through the fs driver, as runc's libcontainer/cgroups/systemd does.  Pure stdlib, imported
only with ``--systemd-cgroup`` (or for a container it made).

- config-linux.md "Cgroups path": with the systemd driver the path has systemd's form,
  ``slice:prefix:name`` (runc's rule: an empty slice is ``system.slice``; a slice
  ``a-b-c.slice`` lies in ``a.slice/a-b.slice``; the unit is ``prefix-name.scope``, or
  ``name`` itself when it ends in ``.slice``); no path is ``system.slice`` and
  ``runc-<id>.scope``, as runc names it.
- config-linux.md "Control groups": the resources become the unit properties systemd
  knows (systemd.resource-control(5)): v1's MemoryLimit, CPUShares, BlockIOWeight, v2's
  MemoryMax, MemoryLow, MemorySwapMax, CPUWeight, and for both CPUQuotaPerSecUSec with
  CPUQuotaPeriodUSec, TasksMax, AllowedCPUs/AllowedMemoryNodes, DeviceAllow/DevicePolicy.
- Annotations ``org.systemd.property.<Name>`` (runc's extension, listed in features.md's
  potentiallyUnsafeConfigAnnotations): extra unit properties, values in GVariant's text
  form (``uint64 7``, ``'text'``, ``true``); a ``...Sec`` name is given as ``...USec``.

A property is ``(name, (D-Bus signature, value))``: what a D-Bus variant needs.
"""


from pyrunc.runtime.errors import ConfigError
from pyrunc.runtime.linux.cgroups.convert import shares_to_weight, swap_only

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyrunc.spec.resources import Resources

Prop = tuple[str, tuple[str, object]]

DEFAULT_SLICE = "system.slice"
#: systemd's "infinity" (USEC_INFINITY, CGROUP_LIMIT_MAX): Go's uint64(-1).
INFINITY = 2**64 - 1
#: The kernel's default CFS period (µs), v1 and v2.
DEFAULT_PERIOD = 100000
#: systemd versions that first knew a property (runc asks for them the same way).
CPU_QUOTA_PERIOD_SINCE = 242
ALLOWED_CPUS_SINCE = 244
ANNOTATION_PREFIX = "org.systemd.property."
_PATH = "linux.cgroupsPath"


class UnitPath:
    """Where a container lives under systemd (a plain record: dataclasses' import is slow)."""

    __slots__ = ("slice", "unit", "name", "cgroup")

    def __init__(self, slice: str, unit: str, name: str, cgroup: str) -> None:
        self.slice = slice  # the parent slice unit, e.g. "kubepods-burstable-pod1234.slice"
        self.unit = unit  # the container's unit, e.g. "cri-containerd-<id>.scope"
        self.name = name  # the path's name part: the Description is "libcontainer container <name>"
        self.cgroup = cgroup  # the unit's cgroup below systemd's root: "/kubepods.slice/.../<unit>"

    @property
    def is_slice(self) -> bool:
        return self.unit.endswith(".slice")


def expand_slice(slice_name: str) -> str:
    """``a-b-c.slice`` -> ``/a.slice/a-b.slice/a-b-c.slice`` (systemd.slice(5): a dash is a
    level); ``-.slice`` is the root.  runc's checks and text."""
    bad = ConfigError(_PATH, f"invalid slice name: {slice_name}")
    if not slice_name.endswith(".slice") or "/" in slice_name:
        raise bad
    base = slice_name[: -len(".slice")]
    if base == "-":
        return "/"
    path, prefix = "", ""
    for part in base.split("-"):
        if not part:  # "a--b.slice", "-a.slice", "a-.slice", ".slice"
            raise bad
        path += f"/{prefix}{part}.slice"
        prefix += f"{part}-"
    return path


def unit_name(prefix: str, name: str) -> str:
    """A scope ``prefix-name.scope`` unless the name asks for a slice (runc's getUnitName)."""
    return name if name.endswith(".slice") else f"{prefix}-{name}.scope"


def parse_path(cgroups_path: str, cid: str) -> UnitPath:
    """linux.cgroupsPath in systemd's form (or empty) -> where the unit goes."""
    if not cgroups_path:
        slice_name, prefix, name = "", "runc", cid
    else:
        parts = cgroups_path.split(":")
        if len(parts) != 3:
            raise ConfigError(_PATH, "expected cgroupsPath to be of format \"slice:prefix:name\" for systemd "
                                     f"cgroups, got {_quoted(cgroups_path)} instead")
        slice_name, prefix, name = parts
    unit = unit_name(prefix, name)
    # systemd refuses these anyway; checked here so that no path is made of them.
    if not name or "/" in unit or unit in (".", "..") or "\0" in unit:
        raise ConfigError(_PATH, f"invalid unit name: {_quoted(unit)}")
    parent = slice_name or DEFAULT_SLICE
    expanded = expand_slice(parent)
    return UnitPath(slice=parent, unit=unit, name=name,
                    cgroup=("" if expanded == "/" else expanded) + "/" + unit)


# --- the unit ------------------------------------------------------------------------


def unit_properties(up: UnitPath, pid: int, v2: bool, extra: list[Prop] = ()) -> list[Prop]:
    """What runc's Apply sends with every unit, in its order: the description, where the
    unit goes (a scope: Slice= and Delegate=yes; a slice: Wants= its parent), the init's
    pid, accounting on (the kernel joins a memory cgroup late badly; and it is what the fs
    driver gets), no default dependencies; then the annotations' properties."""
    props: list[Prop] = [("Description", ("s", f"libcontainer container {up.name}"))]
    if up.is_slice:
        props.append(("Wants", ("as", [up.slice])))
    else:
        props += [("Slice", ("s", up.slice)), ("Delegate", ("b", True))]
    if pid > 0:
        props.append(("PIDs", ("au", [pid])))
    props += [("MemoryAccounting", ("b", True)), ("CPUAccounting", ("b", True)),
              ("IOAccounting" if v2 else "BlockIOAccounting", ("b", True)), ("TasksAccounting", ("b", True)),
              ("DefaultDependencies", ("b", False))]
    return props + list(extra)


# --- resources -----------------------------------------------------------------------


def _u64(v: int) -> int:
    """Go's uint64(int64): -1 is infinity."""
    return v % 2**64


def cpu_quota_properties(quota: int, period: int, version: int) -> list[Prop]:
    """CPUQuotaPeriodUSec (systemd >= 242) and CPUQuotaPerSecUSec: µs of CPU per second,
    rounded up to 10 ms (systemd keeps it as a whole percentage, so a child cgroup could
    not get the cfs_quota_us asked for otherwise)."""
    props: list[Prop] = []
    if period and version >= CPU_QUOTA_PERIOD_SINCE:
        props.append(("CPUQuotaPeriodUSec", ("t", _u64(period))))
    if quota or period:
        per_sec = INFINITY
        if quota > 0:
            per_sec = quota * 1000000 // (period or DEFAULT_PERIOD)
            if per_sec % 10000:
                per_sec = (per_sec // 10000 + 1) * 10000
        props.append(("CPUQuotaPerSecUSec", ("t", per_sec)))
    return props


def range_to_bits(text: str, path: str) -> bytes:
    """A cpu/node list ("0-3,7") -> systemd's AllowedCPUs bitmask: bit n of byte n // 8
    (little-endian, as systemd's cpu_set_from_dbus reads it); a refused list in runc's
    words (its systemd driver's "conversion error")."""
    from pyrunc.runtime.linux import idlist

    try:
        ids = idlist.parse(text)
    except idlist.ListError as e:
        if e.kind == "order":
            raise ConfigError(path, f"{text!r} conversion error: invalid range: {e.part}") from None
        if e.kind == "bound":
            raise ConfigError(path, f"{text!r} conversion error: {e.id} is out of range "
                                    f"(maximum {idlist.MAX_ID - 1})") from None
        raise ConfigError(path, f"{text!r} conversion error: {e.part!r} is not a number or range") from None
    if not ids:
        raise ConfigError(path, f"{text!r} conversion error: empty value")
    out = bytearray(ids[-1] // 8 + 1)
    for i in ids:
        out[i // 8] |= 1 << (i % 8)
    return bytes(out)


def _cpuset_properties(res: "Resources", version: int, path: str) -> list[Prop]:
    props: list[Prop] = []
    if version < ALLOWED_CPUS_SINCE or res.cpu is None:
        return props  # the fs driver still writes cpuset.cpus/mems
    for key, prop in (("cpus", "AllowedCPUs"), ("mems", "AllowedMemoryNodes")):
        v = getattr(res.cpu, key)
        if v:
            props.append((prop, ("ay", range_to_bits(v, f"{path}.cpu.{key}"))))
    return props


def _quota(res: "Resources", version: int) -> list[Prop]:
    cpu = res.cpu
    return cpu_quota_properties(cpu.quota or 0, cpu.period or 0, version) if cpu is not None else []


def _tasks_max(res: "Resources") -> list[Prop]:
    limit = (res.pids.limit if res.pids is not None else None) or 0
    return [("TasksMax", ("t", _u64(limit)))] if limit > 0 or limit == -1 else []


def v1_properties(res: "Resources", version: int, devices: list[Prop] | None = None,
                  path: str = "linux.resources") -> list[Prop]:
    """runc's genV1ResourcesProperties (``res`` is already without runc's unset values)."""
    props: list[Prop] = list(devices or [])
    if res.memory is not None and res.memory.limit:
        props.append(("MemoryLimit", ("t", _u64(res.memory.limit))))
    if res.cpu is not None and res.cpu.shares:
        props.append(("CPUShares", ("t", _u64(res.cpu.shares))))
    props += _quota(res, version)
    if res.block_io is not None and res.block_io.weight:
        props.append(("BlockIOWeight", ("t", _u64(res.block_io.weight))))
    props += _tasks_max(res)
    props += _cpuset_properties(res, version, path)
    return props


def v2_properties(res: "Resources", version: int, devices: list[Prop] | None = None,
                  path: str = "linux.resources") -> list[Prop]:
    """runc's genV2ResourcesProperties, then linux.resources.unified's keys systemd knows
    (the others are still written by the fs2 driver)."""
    props: list[Prop] = list(devices or [])
    mem = res.memory
    limit = (mem.limit if mem is not None else None) or 0
    swap = (mem.swap if mem is not None else None) or 0
    if limit:
        props.append(("MemoryMax", ("t", _u64(limit))))
    if mem is not None and mem.reservation:
        props.append(("MemoryLow", ("t", _u64(mem.reservation))))
    # v1's swap is memory+swap, v2's MemorySwapMax is swap alone (runc's conversion).
    if limit == -1 and not swap:
        swap_max = -1
    elif swap in (0, -1):
        swap_max = swap
    else:
        swap_max = swap_only(swap, limit or None, f"{path}.memory.swap")
    if swap_max:
        props.append(("MemorySwapMax", ("t", _u64(swap_max))))
    if res.cpu is not None and res.cpu.shares:
        props.append(("CPUWeight", ("t", shares_to_weight(res.cpu.shares))))
    props += _quota(res, version)
    props += _tasks_max(res)
    props += _cpuset_properties(res, version, path)
    props += unified_properties(res.unified or {}, version, f"{path}.unified")
    return props


_MEMORY_KEYS = {"memory.high": "MemoryHigh", "memory.low": "MemoryLow", "memory.min": "MemoryMin",
                "memory.max": "MemoryMax", "memory.swap.max": "MemorySwapMax"}


def unified_properties(unified: dict, version: int, path: str = "linux.resources.unified") -> list[Prop]:
    """runc's unifiedResToSystemdProps: the cgroup v2 files systemd has a property for."""
    props: list[Prop] = []
    for key, raw in unified.items():
        kp = f"{path}.{key}"
        if "/" in key:
            raise ConfigError(kp, "must be a file name (no slashes)")
        if "." not in key:
            raise ConfigError(kp, "must be in the form CONTROLLER.PARAMETER")
        v = str(raw).strip()
        if key == "cpu.max":
            f = v.split()
            if not 1 <= len(f) <= 2:
                raise ConfigError(kp, f"value invalid: {v!r}")
            quota = 0 if f[0] == "max" else _parse_uint(f[0], kp, signed=True)
            period = _parse_uint(f[1], kp) if len(f) == 2 else DEFAULT_PERIOD
            props += cpu_quota_properties(quota, period, version)
        elif key == "cpu.weight":
            props.append(("CPUWeight", ("t", _parse_uint(v, kp))))
        elif key in ("cpuset.cpus", "cpuset.mems"):
            if version >= ALLOWED_CPUS_SINCE:
                name = "AllowedCPUs" if key == "cpuset.cpus" else "AllowedMemoryNodes"
                props.append((name, ("ay", range_to_bits(v, kp))))
        elif key in _MEMORY_KEYS:
            props.append((_MEMORY_KEYS[key], ("t", INFINITY if v == "max" else _parse_uint(v, kp))))
        elif key == "pids.max":
            props.append(("TasksMax", ("t", INFINITY if v == "max" else _parse_uint(v, kp))))
        # any other key: systemd has no property for it; the fs2 driver writes it
    return props


def _parse_uint(s: str, path: str, signed: bool = False) -> int:
    try:
        n = int(s, 10)
    except ValueError:
        raise ConfigError(path, f"value conversion error: {s!r} is not a number") from None
    if (n < 0 and not signed) or not -(2**63) <= n < 2**64:
        raise ConfigError(path, f"value conversion error: {s!r} is out of range")
    return n


# --- device rules ------------------------------------------------------------------


def device_properties(res: "Resources", group_of=None, exists=None,
                      replaced: frozenset[str] = frozenset()) -> list[Prop]:
    """DevicePolicy and DeviceAllow for the rules the fs driver writes (v1.py's emulator:
    the config's rules, then runc's defaults), as runc's generateDeviceProperties:

    - an allow-list becomes DevicePolicy=strict and one DeviceAllow entry per rule:
      ``char-*``/``block-*`` for ``*:*``, the device group of /proc/devices for ``M:*``
      (``group_of(type, major)``; none: left to the fs driver), ``/dev/char/M:m`` for a
      device, when it exists (``exists(path)``; systemd warns about a missing one);
    - allow-all: DevicePolicy=auto and no DeviceAllow;
    - a deny-list (systemd has none): strict and empty, the fs driver writing the rules.

    A ``*:m`` rule systemd cannot express is left to the fs driver too.  ``replaced``: the
    paths linux.devices lists, whose default rules are left out (as the fs driver does)."""
    from pyrunc.runtime.linux.cgroups.v1 import device_writes

    writes = device_writes(res.devices or [], replaced)
    props: list[Prop] = [("DevicePolicy", ("s", "strict")), ("DeviceAllow", ("a(ss)", []))]
    default_allow = writes[0][1] == "devices.allow"
    if default_allow:
        if len(writes) == 1:
            return [("DevicePolicy", ("s", "auto")), ("DeviceAllow", ("a(ss)", []))]
        return props
    entries: list[tuple[str, str]] = []
    for _ctl, _file, rule, _jp in writes[1:]:
        typ, nums, access = rule.split(" ")
        major, minor = nums.split(":")
        prefix = "char-" if typ == "c" else "block-"
        if major == "*":
            if minor != "*":
                continue
            entry = prefix + "*"
        elif minor == "*":
            group = group_of(typ, int(major)) if group_of else ""
            if not group:
                continue
            entry = group
        else:
            entry = f"/dev/{'char' if typ == 'c' else 'block'}/{major}:{minor}"
            if exists is not None and not exists(entry):
                continue
        entries.append((entry, access))
    return props + [("DeviceAllow", ("a(ss)", entries))]


def device_group(proc_devices: str, typ: str, major: int) -> str:
    """The /proc/devices name of ``major`` with systemd's prefix (``char-pts``), or ''."""
    want = "Character devices:" if typ == "c" else "Block devices:"
    section = ""
    for line in proc_devices.splitlines():
        line = line.strip()
        if line.endswith(":"):
            section = line
            continue
        f = line.split()
        if section == want and len(f) == 2 and f[0].isdigit() and int(f[0]) == major:
            return ("char-" if typ == "c" else "block-") + f[1]
    return ""


# --- annotations ---------------------------------------------------------------------


def annotation_properties(annotations: dict[str, str]) -> list[Prop]:
    """``org.systemd.property.<Name>`` annotations -> properties (runc's initSystemdProps:
    a name of three or more ASCII letters; a value in GVariant text form; ``<x>Sec`` with a
    lower-case x before Sec is sent as ``<x>USec``, its number of seconds in µs)."""
    props: list[Prop] = []
    for key, text in annotations.items():
        if not key.startswith(ANNOTATION_PREFIX):
            continue
        name = key[len(ANNOTATION_PREFIX):]
        jp = f"annotations.{key}"
        if len(name) < 3:
            raise ConfigError(jp, "systemd property name incorrect: too short")
        if not all(("A" <= ch <= "Z") or ("a" <= ch <= "z") for ch in name):
            raise ConfigError(jp, "systemd property name incorrect: contains non-alphabetic character")
        try:
            sig, value = parse_variant(text)
        except ValueError as e:
            raise ConfigError(jp, f"value {text!r} parse error: {e}") from None
        if name.endswith("Sec") and "a" <= name[-4:-3] <= "z":
            if sig not in _NUMBER_SIGS:
                raise ConfigError(jp, f"value {text!r} parse error: not a number")
            name, sig, value = name[:-3] + "USec", "t", int(value * 1000000) % 2**64
        props.append((name, (sig, value)))
    return props


_TYPE_WORDS = {"boolean": "b", "byte": "y", "int16": "n", "uint16": "q", "int32": "i", "uint32": "u",
               "int64": "x", "uint64": "t", "double": "d", "string": "s", "objectpath": "o", "signature": "g"}
_INT_RANGES = {"y": (0, 2**8), "n": (-(2**15), 2**15), "q": (0, 2**16), "i": (-(2**31), 2**31),
               "u": (0, 2**32), "x": (-(2**63), 2**63), "t": (0, 2**64)}
_NUMBER_SIGS = set(_INT_RANGES) | {"d"}


def parse_variant(text: str) -> tuple[str, object]:
    """A GVariant text-form value (the subset unit properties use): booleans, numbers
    (bare integers are int32, with a point double), strings in '' or "", arrays ``[..]``
    of one type, a type given by a word (``uint64 7``) or ``@t 7`` / ``@as []``."""
    p = _VariantParser(text)
    sig, value = p.value(None)
    p.skip()
    if p.i != len(p.s):
        raise ValueError(f"unexpected {p.s[p.i:]!r}")
    return sig, value


class _VariantParser:
    def __init__(self, s: str) -> None:
        self.s, self.i = s, 0

    def skip(self) -> None:
        while self.i < len(self.s) and self.s[self.i].isspace():
            self.i += 1

    def word(self) -> str:
        self.skip()
        j = self.i
        while j < len(self.s) and (self.s[j].isalnum() or self.s[j] in "_+-."):
            j += 1
        return self.s[self.i:j]

    def value(self, want: str | None) -> tuple[str, object]:
        self.skip()
        if self.i >= len(self.s):
            raise ValueError("missing value")
        ch = self.s[self.i]
        if ch == "@":
            j = self.i + 1
            while j < len(self.s) and not self.s[j].isspace():
                j += 1
            sig = self.s[self.i + 1:j]
            if not sig or (want and sig != want):
                raise ValueError(f"bad type {sig!r}")
            self.i = j
            return self.value(sig)
        w = self.word()
        if w in _TYPE_WORDS and self.s[self.i + len(w):self.i + len(w) + 1].isspace():
            if want and _TYPE_WORDS[w] != want:
                raise ValueError(f"{w} where {want} was expected")
            self.i += len(w)
            return self.value(_TYPE_WORDS[w])
        if ch == "[":
            return self.array(want)
        if ch in "'\"":
            if want not in (None, "s", "o", "g"):
                raise ValueError(f"a string where {want} was expected")
            return want or "s", self.string()
        if w in ("true", "false"):
            if want not in (None, "b"):
                raise ValueError(f"a boolean where {want} was expected")
            self.i += len(w)
            return "b", w == "true"
        return self.number(w, want)

    def number(self, w: str, want: str | None) -> tuple[str, object]:
        if not w:
            raise ValueError(f"unexpected {self.s[self.i:]!r}")
        self.i += len(w)
        is_float = any(c in w for c in ".eE") and not w.lower().startswith("0x")
        sig = want or ("d" if is_float else "i")
        if sig == "d":
            try:
                return "d", float(w)
            except ValueError:
                raise ValueError(f"{w!r} is not a number") from None
        if sig not in _INT_RANGES:
            raise ValueError(f"a number where {sig} was expected")
        try:
            n = int(w, 16) if w.lower().startswith(("0x", "-0x")) else int(w, 10)
        except ValueError:
            raise ValueError(f"{w!r} is not an integer") from None
        lo, hi = _INT_RANGES[sig]
        if not lo <= n < hi:
            raise ValueError(f"{w} is out of range for {sig}")
        return sig, n

    def string(self) -> str:
        q = self.s[self.i]
        out, j = [], self.i + 1
        while j < len(self.s):
            c = self.s[j]
            if c == "\\" and j + 1 < len(self.s):
                out.append({"n": "\n", "t": "\t", "\\": "\\", "'": "'", '"': '"'}.get(self.s[j + 1], self.s[j + 1]))
                j += 2
                continue
            if c == q:
                self.i = j + 1
                return "".join(out)
            out.append(c)
            j += 1
        raise ValueError("unterminated string")

    def array(self, want: str | None) -> tuple[str, object]:
        if want is not None and not want.startswith("a"):
            raise ValueError(f"an array where {want} was expected")
        elem = want[1:] if want else None
        self.i += 1
        items: list = []
        while True:
            self.skip()
            if self.i < len(self.s) and self.s[self.i] == "]":
                self.i += 1
                break
            if items:
                if self.i >= len(self.s) or self.s[self.i] != ",":
                    raise ValueError("expected ',' or ']' in an array")
                self.i += 1
            sig, v = self.value(elem)
            elem = elem or sig
            items.append(v)
        if elem is None:
            raise ValueError("an empty array needs its type (@as [])")
        return "a" + elem, items


def _quoted(v: str) -> str:
    """Go's %q of a string as runc prints it (JSON's quoting; json imported only here, on
    an error: the short commands load this module)."""
    import json

    return json.dumps(v)
