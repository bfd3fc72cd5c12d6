"""pyrunc update [options] <container-id>: change the resources of a live container.

``--resources FILE`` (``-`` for stdin, as containerd sends it) holds a linux.resources
object; runc's single-value flags build one.
"""

import sys

from pyrunc.runtime.cli.flags import Flag, check_args
from pyrunc.runtime.errors import PyruncError, UsageError

FLAGS = [
    Flag("resources,r", "str"),
    Flag("memory", "str"), Flag("memory-reservation", "str"), Flag("memory-swap", "str"),
    Flag("kernel-memory", "str"), Flag("kernel-memory-tcp", "str"),
    Flag("cpu-share", "str"), Flag("cpu-quota", "str"), Flag("cpu-period", "str"), Flag("cpu-burst", "str"),
    Flag("cpu-rt-runtime", "str"), Flag("cpu-rt-period", "str"), Flag("cpu-idle", "str"),
    Flag("cpuset-cpus", "str"), Flag("cpuset-mems", "str"),
    Flag("pids-limit", "str"), Flag("blkio-weight", "str"), Flag("l3-cache-schema", "str"),
    Flag("mem-bw-schema", "str"),
]

USAGE = """NAME:
   pyrunc update - update container resource constraints

USAGE:
   pyrunc update [command options] <container-id>

OPTIONS:
   --resources value, -r value  path to a file of linux.resources JSON, or - for stdin
   --memory value               memory limit (in bytes, or with k/m/g)
   --memory-reservation value   memory reservation or soft limit
   --memory-swap value          total memory usage (memory + swap); -1 for unlimited
   --cpu-share value            CPU shares (relative weight vs. other containers)
   --cpu-quota value            CPU CFS hardcap limit (in usecs)
   --cpu-period value           CPU CFS period to be used for hardcapping (in usecs)
   --cpu-burst value            CPU CFS hardcap burst limit (in usecs)
   --cpu-idle value             set cgroup SCHED_IDLE or not, 0: default behavior, 1: SCHED_IDLE
   --cpuset-cpus value          CPU(s) to use
   --cpuset-mems value          memory node(s) to use
   --pids-limit value           maximum number of pids allowed in the container
   --blkio-weight value         block IO weight (10-1000)
   --l3-cache-schema value      the string of Intel RDT/CAT L3 cache schema
   --mem-bw-schema value        the string of Intel RDT/MBA memory bandwidth schema
"""

_UNITS = "kmgtp"
_RAM = None


def _bytes(flag: str, v: str) -> int:
    """runc's reading of a memory flag: -1 as is, else go-units' RAMInBytes (a decimal
    number, an optional space, k/m/g/t/p with an optional i and b: binary multiples)."""
    if v == "-1":
        return -1
    global _RAM
    import re

    _RAM = _RAM or re.compile(r"^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$")
    m = _RAM.match(v)
    if not m:
        raise PyruncError(f"invalid value for {flag}: invalid size: '{v}'")
    try:
        num = float(m.group(1))
    except ValueError:  # "1.2.3": go-units' ParseFloat fails the same way
        raise PyruncError(f"invalid value for {flag}: invalid size: '{v}'") from None
    unit = m.group(2)
    return int(num * 1024 ** (_UNITS.index(unit.lower()) + 1)) if unit else int(num)


def _go_int(flag: str, v: str, signed: bool) -> int:
    """strconv.ParseInt / ParseUint (base 10), with runc's text for a bad value."""
    fn = "ParseInt" if signed else "ParseUint"
    digits = v[1:] if signed and v.startswith(("+", "-")) else v
    if not digits or not digits.isascii() or not digits.isdigit():
        raise PyruncError(f'invalid value for {flag}: strconv.{fn}: parsing "{v}": invalid syntax')
    n = int(v)
    if (signed and not -(1 << 63) <= n < (1 << 63)) or (not signed and n >= (1 << 64)):
        raise PyruncError(f'invalid value for {flag}: strconv.{fn}: parsing "{v}": value out of range')
    return n


def _flag_int(flag: str, v: str) -> int:
    """An integer flag of runc's (urfave Int64Flag/UintFlag: Go's base-0 parse); a bad
    value is a flag-parse error, shown as urfave shows it."""
    try:
        if v != v.strip():
            raise ValueError(v)
        return int(v, 0)
    except ValueError:
        e = UsageError(f'invalid value "{v}" for flag -{flag}: parse error')
        e.kind = "flag"
        raise e from None


def from_flags(o: dict) -> dict:
    res: dict = {}
    mem = {k: _bytes(f, o[d]) for f, d, k in (("memory", "memory", "limit"),
                                             ("memory-reservation", "memory_reservation", "reservation"),
                                             ("memory-swap", "memory_swap", "swap"),
                                             ("kernel-memory", "kernel_memory", "kernel"),
                                             ("kernel-memory-tcp", "kernel_memory_tcp", "kernelTCP")) if o[d]}
    if mem:
        res["memory"] = mem
    # runc: unsigned for the periods and shares, signed for the rest.
    cpu: dict = {k: _go_int(f, o[d], signed) for f, d, k, signed in (
        ("cpu-share", "cpu_share", "shares", False),
        ("cpu-quota", "cpu_quota", "quota", True),
        ("cpu-period", "cpu_period", "period", False),
        ("cpu-burst", "cpu_burst", "burst", False),
        ("cpu-rt-runtime", "cpu_rt_runtime", "realtimeRuntime", True),
        ("cpu-rt-period", "cpu_rt_period", "realtimePeriod", False),
        ("cpu-idle", "cpu_idle", "idle", True)) if o[d]}
    if o["cpuset_cpus"]:
        cpu["cpus"] = o["cpuset_cpus"]
    if o["cpuset_mems"]:
        cpu["mems"] = o["cpuset_mems"]
    if cpu:
        res["cpu"] = cpu
    if o["pids_limit"]:
        res["pids"] = {"limit": _flag_int("pids-limit", o["pids_limit"])}
    if o["blkio_weight"]:
        res["blockIO"] = {"weight": _flag_int("blkio-weight", o["blkio_weight"])}
    return res


def run(g: dict, opts: dict, pos: list[str]) -> int:
    check_args("update", pos, exact=1)
    from pyrunc.runtime import jsonin
    from pyrunc.runtime.container.container import load

    res: dict = {}
    if opts["resources"]:
        src = opts["resources"]
        try:
            text = sys.stdin.read() if src == "-" else open(src).read()
        except OSError as e:
            raise PyruncError(f"open {src}: {(e.strerror or '').lower()}") from None
        try:
            res = jsonin.loads(text)  # type: ignore[assignment]
        except ValueError as e:
            raise PyruncError(f"--resources: invalid JSON: {getattr(e, 'msg', e)}") from None
        if not isinstance(res, dict):
            raise PyruncError("--resources: expected a linux.resources object")
        from pyrunc.spec import resources

        typed = resources.load(res, "--resources", update=True)
    else:
        from pyrunc.spec import resources

        # runc: with --resources, the single-value flags are ignored.  Flags are typed already.
        typed = resources.parse(from_flags(opts), update=True)
    load(g["root"], pos[0]).update(typed, opts["l3_cache_schema"] or "", opts["mem_bw_schema"] or "")
    return 0
