"""pyrunc update [options] <container-id>: change the resources of a live container.

``--resources FILE`` (``-`` for stdin, as containerd sends it) holds a linux.resources
object; runc's single-value flags build one.
"""

import sys

from pyrunc.runtime.cli.flags import Flag, check_args
from pyrunc.runtime.errors import PyruncError

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
"""

_SUFFIX = {"k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def _bytes(flag: str, v: str) -> int:
    s = v.strip().lower().removesuffix("b")
    mult = 1
    if s and s[-1] in _SUFFIX:
        mult = _SUFFIX[s[-1]]
        s = s[:-1]
    try:
        return int(s) * mult
    except ValueError:
        raise PyruncError(f"invalid value for {flag}: invalid size: '{v}'") from None


def _int(flag: str, v: str) -> int:
    try:
        return int(v)
    except ValueError:
        raise PyruncError(f'invalid value for {flag}: strconv.ParseInt: parsing "{v}": invalid syntax') from None


def from_flags(o: dict) -> dict:
    res: dict = {}
    mem = {k: _bytes(f, o[d]) for f, d, k in (("memory", "memory", "limit"),
                                             ("memory-reservation", "memory_reservation", "reservation"),
                                             ("memory-swap", "memory_swap", "swap"),
                                             ("kernel-memory", "kernel_memory", "kernel"),
                                             ("kernel-memory-tcp", "kernel_memory_tcp", "kernelTCP")) if o[d]}
    if mem:
        res["memory"] = mem
    cpu: dict = {k: _int(f, o[d]) for f, d, k in (("cpu-share", "cpu_share", "shares"),
                                                  ("cpu-quota", "cpu_quota", "quota"),
                                                  ("cpu-period", "cpu_period", "period"),
                                                  ("cpu-burst", "cpu_burst", "burst"),
                                                  ("cpu-rt-runtime", "cpu_rt_runtime", "realtimeRuntime"),
                                                  ("cpu-rt-period", "cpu_rt_period", "realtimePeriod"),
                                                  ("cpu-idle", "cpu_idle", "idle")) if o[d]}
    if o["cpuset_cpus"]:
        cpu["cpus"] = o["cpuset_cpus"]
    if o["cpuset_mems"]:
        cpu["mems"] = o["cpuset_mems"]
    if cpu:
        res["cpu"] = cpu
    if o["pids_limit"]:
        res["pids"] = {"limit": _int("pids-limit", o["pids_limit"])}
    if o["blkio_weight"]:
        res["blockIO"] = {"weight": _int("blkio-weight", o["blkio_weight"])}
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

        resources.check(res, "--resources")
    else:
        res = from_flags(opts)  # runc: with --resources, the single-value flags are ignored
    load(g["root"], pos[0]).update(res)
    return 0
