"""Reading a container's cgroup statistics, in the shape of runc's ``events`` JSON
(types.Stats: cpu, memory, pids, blkio, hugetlb), from v1 controllers or the v2 tree."""

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


def stats(ctl: dict[str, str]) -> dict:
    """``ctl``: controller -> directory (cgroups.by_controller)."""
    out: dict = {}
    cpu = ctl.get("cpuacct") or ctl.get("cpu")
    if "cpuacct" in ctl or "cpu" in ctl:
        usage = {"total": _int(f"{cpu}/cpuacct.usage"),
                 "percpu": [int(x) for x in _read(f"{cpu}/cpuacct.usage_percpu").split()]}
        st = _kv(f"{cpu}/cpuacct.stat")
        tick = 10_000_000  # USER_HZ 100: ticks -> ns
        usage["kernel"] = st.get("system", 0) * tick
        usage["user"] = st.get("user", 0) * tick
        thr = _kv(f"{ctl.get('cpu', cpu)}/cpu.stat")
        out["cpu"] = {"usage": usage, "throttling": {"periods": thr.get("nr_periods", 0),
                                                     "throttledPeriods": thr.get("nr_throttled", 0),
                                                     "throttledTime": thr.get("throttled_time", 0)}}
    elif "" in ctl:
        st = _kv(f"{ctl['']}/cpu.stat")
        out["cpu"] = {"usage": {"total": st.get("usage_usec", 0) * 1000, "kernel": st.get("system_usec", 0) * 1000,
                                "user": st.get("user_usec", 0) * 1000},
                      "throttling": {"periods": st.get("nr_periods", 0), "throttledPeriods": st.get("nr_throttled", 0),
                                     "throttledTime": st.get("throttled_usec", 0) * 1000}}
    if "memory" in ctl:
        m = ctl["memory"]
        out["memory"] = {
            "usage": {"limit": _int(f"{m}/memory.limit_in_bytes"), "usage": _int(f"{m}/memory.usage_in_bytes"),
                      "max": _int(f"{m}/memory.max_usage_in_bytes"), "failcnt": _int(f"{m}/memory.failcnt")},
            "swap": {"limit": _int(f"{m}/memory.memsw.limit_in_bytes"),
                     "usage": _int(f"{m}/memory.memsw.usage_in_bytes"),
                     "max": _int(f"{m}/memory.memsw.max_usage_in_bytes"), "failcnt": _int(f"{m}/memory.memsw.failcnt")},
            "raw": _kv(f"{m}/memory.stat"),
        }
    if "pids" in ctl:
        out["pids"] = {"current": _int(f"{ctl['pids']}/pids.current"), "limit": _int(f"{ctl['pids']}/pids.max")}
    out["blkio"] = {}
    out["hugetlb"] = {}
    return out


def oom_count(ctl: dict[str, str]) -> int:
    """How many OOM kills the container's memory cgroup has seen (v1 oom_control)."""
    m = ctl.get("memory")
    if not m:
        return _kv(f"{ctl.get('', '')}/memory.events").get("oom_kill", 0) if "" in ctl else 0
    return _kv(os.path.join(m, "memory.oom_control")).get("oom_kill", 0)
