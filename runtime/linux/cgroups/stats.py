"""Reading a container's cgroup statistics, in the shape of runc's ``events`` JSON
(types.Stats: cpu, cpuset, memory, pids, blkio, hugetlb, intel_rdt, network_interfaces),
from v1 controllers or the v2 tree."""

import os


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def _int(path: str) -> int:
    v = _read(path)
    if v in ("", "max"):
        return 0 if v == "" else 2**64 - 1
    try:
        return int(v.split()[0])
    except ValueError:
        return 0


def _kv(path: str) -> dict[str, int]:
    out = {}
    for line in _read(path).splitlines():
        k, _, v = line.partition(" ")
        try:
            out[k] = int(v)
        except ValueError:
            continue
    return out


def _nz(d: dict, *keys: str) -> dict:
    """Go's ``omitempty``: drop the named keys whose value is 0 or empty."""
    return {k: v for k, v in d.items() if k not in keys or v}


def _list(spec: str) -> list[int]:
    """A cpuset list ("0-2,4") as its members."""
    out: list[int] = []
    for part in spec.split(","):
        lo, _, hi = part.strip().partition("-")
        if lo.isdigit():
            out.extend(range(int(lo), int(hi if hi.isdigit() else lo) + 1))
    return out


def _entry(m: str, prefix: str) -> dict:
    """types.MemoryEntry from ``memory.<prefix>limit_in_bytes`` and its siblings."""
    return _nz({"limit": _int(f"{m}/memory.{prefix}limit_in_bytes"),
                "usage": _int(f"{m}/memory.{prefix}usage_in_bytes"),
                "max": _int(f"{m}/memory.{prefix}max_usage_in_bytes"),
                "failcnt": _int(f"{m}/memory.{prefix}failcnt")}, "usage", "max")


def _cpu_v1(ctl: dict[str, str]) -> dict:
    acct = ctl.get("cpuacct") or ctl.get("cpu", "")
    usage: dict = {"total": _int(f"{acct}/cpuacct.usage"),
                   "percpu": [int(x) for x in _read(f"{acct}/cpuacct.usage_percpu").split()]}
    kernel: list[int] = []
    user: list[int] = []
    for line in _read(f"{acct}/cpuacct.usage_all").splitlines()[1:]:  # "cpu user system"
        f = line.split()
        if len(f) == 3 and f[1].isdigit() and f[2].isdigit():
            user.append(int(f[1]))
            kernel.append(int(f[2]))
    usage["percpu_kernel"], usage["percpu_user"] = kernel, user
    st = _kv(f"{acct}/cpuacct.stat")
    tick = 10_000_000  # USER_HZ 100: ticks -> ns
    usage["kernel"] = st.get("system", 0) * tick
    usage["user"] = st.get("user", 0) * tick
    thr = _kv(f"{ctl.get('cpu', acct)}/cpu.stat")
    return {"usage": _nz(usage, "total", "percpu", "percpu_kernel", "percpu_user"),
            "throttling": _nz({"periods": thr.get("nr_periods", 0), "throttledPeriods": thr.get("nr_throttled", 0),
                               "throttledTime": thr.get("throttled_time", 0)},
                              "periods", "throttledPeriods", "throttledTime")}


def _cpuset_v1(d: str) -> dict:
    one = ("cpu_exclusive", "mem_hardwall", "mem_exclusive", "memory_migrate", "memory_spread_page",
           "memory_spread_slab", "memory_pressure", "sched_load_balance")
    out: dict = {"cpus": _list(_read(f"{d}/cpuset.cpus"))}
    out["cpu_exclusive"] = _int(f"{d}/cpuset.cpu_exclusive")
    out["mems"] = _list(_read(f"{d}/cpuset.mems"))
    for k in one[1:]:
        out[k] = _int(f"{d}/cpuset.{k}")
    try:
        out["sched_relax_domain_level"] = int(_read(f"{d}/cpuset.sched_relax_domain_level") or 0)
    except ValueError:
        out["sched_relax_domain_level"] = 0
    return _nz(out, "cpus", "mems")


def _pids_limit(path: str) -> int:
    v = _read(path)
    return int(v) if v.isdigit() else 0  # "max" (no limit) is 0 in runc's JSON


def stats(ctl: dict[str, str]) -> dict:
    """``ctl``: controller -> directory (cgroups.by_controller).  The shape of runc 1.1.5's
    types.Stats: every top-level key, Go's omitempty where runc's struct tags have it (a
    zero throttling is {}, a pids limit of "max" is left out), memory.stat as a sorted map."""
    out: dict = {}
    if "cpuacct" in ctl or "cpu" in ctl:
        out["cpu"] = _cpu_v1(ctl)
    elif "" in ctl:
        st = _kv(f"{ctl['']}/cpu.stat")
        out["cpu"] = {"usage": _nz({"total": st.get("usage_usec", 0) * 1000,
                                    "kernel": st.get("system_usec", 0) * 1000,
                                    "user": st.get("user_usec", 0) * 1000}, "total"),
                      "throttling": _nz({"periods": st.get("nr_periods", 0),
                                         "throttledPeriods": st.get("nr_throttled", 0),
                                         "throttledTime": st.get("throttled_usec", 0) * 1000},
                                        "periods", "throttledPeriods", "throttledTime")}
    else:
        out["cpu"] = {"usage": {"kernel": 0, "user": 0}, "throttling": {}}
    out["cpuset"] = _cpuset_v1(ctl["cpuset"]) if "cpuset" in ctl else {}
    if "memory" in ctl:
        m = ctl["memory"]
        raw = dict(sorted(_kv(f"{m}/memory.stat").items()))
        out["memory"] = _nz({"cache": raw.get("cache", 0), "usage": _entry(m, ""), "swap": _entry(m, "memsw."),
                             "kernel": _entry(m, "kmem."), "kernelTCP": _entry(m, "kmem.tcp."), "raw": raw},
                            "cache", "raw")
    else:
        zero = {"limit": 0, "failcnt": 0}
        out["memory"] = {"usage": dict(zero), "swap": dict(zero), "kernel": dict(zero), "kernelTCP": dict(zero)}
    if "pids" in ctl:
        out["pids"] = _nz({"current": _int(f"{ctl['pids']}/pids.current"),
                           "limit": _pids_limit(f"{ctl['pids']}/pids.max")}, "current", "limit")
    else:
        out["pids"] = {}
    out["blkio"] = {}
    out["hugetlb"] = {}
    out["intel_rdt"] = {}
    out["network_interfaces"] = None
    return out


def oom_count(ctl: dict[str, str]) -> int:
    """How many OOM kills the container's memory cgroup has seen (v1 oom_control)."""
    m = ctl.get("memory")
    if not m:
        return _kv(f"{ctl.get('', '')}/memory.events").get("oom_kill", 0) if "" in ctl else 0
    return _kv(os.path.join(m, "memory.oom_control")).get("oom_kill", 0)
