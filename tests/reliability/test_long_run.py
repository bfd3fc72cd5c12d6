"""Many `run` cycles of a short container (100 by default, 1000 with
PYRUNC_RELIABILITY=full): the host's mounts, the cgroup directories under the test's
parent, the zombie processes and this test process's own open fds do not grow; every
25 cycles the init of a created container (waiting on its exec FIFO) keeps the same
memory and fds, and so does a foreground `pyrunc run` waiting on its container.  The
figures are printed (pytest -s), not timed."""

import json
import os
import time

from common import FULL, no_traceback, popen, run
from conftest import CGROUP_PARENT

CYCLES = 1000 if FULL else 100
EVERY = 25


def _mounts() -> int:
    with open("/proc/self/mountinfo") as f:
        return sum(1 for _ in f)


def _cgroup_dirs() -> int:
    from pyrunc.runtime.linux import cgroups

    n = 0
    for mnt, _root, _t, _c in cgroups.hierarchies():
        for _dir, subdirs, _files in os.walk(mnt.rstrip("/") + CGROUP_PARENT):
            n += len(subdirs)
    return n


def _zombies() -> set[int]:
    out = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        if stat[stat.rindex(")") + 2:].startswith("Z"):
            out.add(int(pid))
    return out


def _describe(pids: set[int]) -> dict[int, str]:
    """pid -> "comm, parent's command line", for an assertion message."""
    out = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            ppid = stat[stat.rindex(")") + 2:].split()[1]
            with open(f"/proc/{ppid}/cmdline", "rb") as f:
                parent = f.read().replace(b"\0", b" ").decode(errors="replace")[:120]
        except (OSError, ValueError):
            stat, ppid, parent = "(?)", "?", "?"
        out[pid] = f"{stat[stat.index('(') + 1:stat.rindex(')')]}, parent {ppid} {parent}"
    return out


def _new_lasting_zombies(before: set[int], patience: float = 10.0) -> dict[int, str]:
    """Zombies that were not there before and are still there after ``patience``
    seconds: orphans wait for the host's pid 1 to reap them (this VM's takes up to
    2 s), and the host runs more than this test."""
    deadline = time.monotonic() + patience
    new = _zombies() - before
    while True:
        new &= _zombies()  # the ones seen first, still there (others come and go)
        if not new or time.monotonic() > deadline:
            return _describe(new)
        time.sleep(0.2)


def _fds(pid: int | str = "self") -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def _waiting_init(root: str, bundle: str, cid: str) -> tuple[int, int]:
    """(VmRSS KiB, open fds) of a created container's init, waiting on its exec FIFO."""
    p = run(root, "create", "-b", bundle, cid)
    no_traceback(p)
    assert p.returncode == 0, p.stderr
    st = run(root, "state", cid)
    s = json.loads(st.stdout)
    assert s["status"] == "created", s
    figures = _rss_kib(s["pid"]), _fds(s["pid"])
    d = run(root, "delete", cid)
    assert d.returncode == 0, d.stderr
    return figures


def _foreground_run_fds(root: str, bundle: str, cid: str) -> int:
    """Open fds of a foreground `pyrunc run` while its container (sleep 0.5) runs."""
    p = popen(root, "run", "-b", bundle, cid)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            st = run(root, "state", cid)
            if st.returncode == 0 and json.loads(st.stdout)["status"] == "running":
                break
            time.sleep(0.02)
        else:
            raise AssertionError(f"{cid} never ran")
        time.sleep(0.1)
        n = _fds(p.pid)
        assert p.poll() is None, "the run ended before its fds were counted"
    finally:
        rc = p.wait(timeout=30)
    assert rc == 0, rc
    return n


def test_long_run(pyrunc, make_bundle):
    short = make_bundle(["true"])
    sleeper = make_bundle(["sleep", "0.5"])
    root = pyrunc.root
    # One cycle first: imports, the cgroup parent and the state root exist from then on.
    assert run(root, "run", "-b", short.path, "warm-up").returncode == 0
    before = {"mounts": _mounts(), "cgroup dirs": _cgroup_dirs(), "test fds": _fds()}
    zombies_before = _zombies()
    inits: list[tuple[int, int]] = []
    runner_fds: list[int] = []
    t0 = time.monotonic()
    for i in range(CYCLES):
        p = run(root, "run", "-b", short.path, f"lr{i}")
        no_traceback(p)
        assert p.returncode == 0, (i, p.stderr)
        if i % EVERY == 0 or i == CYCLES - 1:
            inits.append(_waiting_init(root, short.path, f"init{i}"))
            runner_fds.append(_foreground_run_fds(root, sleeper.path, f"fg{i}"))
    took = time.monotonic() - t0
    zombies_left = _new_lasting_zombies(zombies_before)
    zombies_after = _zombies()
    after = {"mounts": _mounts(), "cgroup dirs": _cgroup_dirs(), "test fds": _fds()}
    rss = [r for r, _ in inits]
    init_fds = sorted({f for _, f in inits})
    print(f"\nlong run: {CYCLES} run cycles of `true` in {took:.1f} s "
          f"({1000 * took / CYCLES:.0f} ms a cycle, with {len(inits)} samples of a waiting init "
          f"and of a foreground run)")
    for k in before:
        print(f"  {k}: {before[k]} before, {after[k]} after")
    print(f"  host zombies: {len(zombies_before)} before, {len(zombies_after)} after "
          f"({len(zombies_left)} new ones lasting 10 s)")
    print(f"  waiting init VmRSS KiB: min {min(rss)}, max {max(rss)}; its open fds: {init_fds}")
    print(f"  foreground run's open fds while it waits: {sorted(set(runner_fds))}")
    assert after == before, (before, after)
    assert not zombies_left, zombies_left
    assert max(rss) <= min(rss) * 1.10, rss
    assert len(init_fds) == 1, inits
    assert len(set(runner_fds)) == 1, runner_fds
    assert not os.listdir(root), os.listdir(root)
