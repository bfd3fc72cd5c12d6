"""The runtime SIGKILLed at many points of create, start, run and delete.  Afterwards
`list` and `state` answer with a status that is true, and `delete --force` removes every
trace; after each kill the leak check of the whole host (state, mounts, processes,
cgroups) must come back clean."""

import json
import os
import signal
import subprocess
import time

import pytest
from common import ENV, FULL, no_traceback, popen, run
from conftest import PYRUNC, leaks

#: Milliseconds after the command starts; CI takes a spread, the full run every 3 ms.
DELAYS = list(range(0, 150, 3)) if FULL else [0, 8, 16, 24, 32, 40, 50, 60, 75, 90, 110, 140]


def _kill_after(root: str, delay_ms: int, *args: str) -> None:
    p = popen(root, *args)
    time.sleep(delay_ms / 1000)
    p.kill()
    p.wait()


def _check_and_clean(root: str, base: str, cid: str, allowed: set[str]) -> str:
    ls = run(root, "list", "--format", "json")
    no_traceback(ls)
    assert ls.returncode == 0, ls.stderr
    json.loads(ls.stdout or "null")
    st = run(root, "state", cid)
    no_traceback(st)
    if st.returncode == 0:
        status = json.loads(st.stdout)["status"]
        assert status in allowed, status
    else:
        assert "does not exist" in st.stderr, st.stderr
        status = "gone"
    d = run(root, "delete", "--force", cid)
    no_traceback(d)
    assert d.returncode == 0 or "does not exist" in d.stderr, d.stderr
    problems = leaks(root, base)
    assert not problems, problems
    return status


@pytest.mark.parametrize("command", ["create", "run"])
def test_killed_while_creating(pyrunc, make_bundle, base_dir, command):
    b = make_bundle(["sleep", "1000"])
    seen = set()
    for i, delay in enumerate(DELAYS):
        cid = f"{command}{i}"
        args = ("create", "-b", b.path, cid) if command == "create" else ("run", "-b", b.path, cid)
        _kill_after(pyrunc.root, delay, *args)
        seen.add(_check_and_clean(pyrunc.root, base_dir, cid, {"creating", "created", "running", "stopped"}))
    assert "gone" in seen or "creating" in seen  # the early kills did land mid-create


def _wait_stopped(p: subprocess.Popen, timeout: float = 30.0) -> None:
    """Until ``p`` has stopped itself (state T), bounded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert p.poll() is None, f"the runtime exited ({p.returncode}) before its stop point"
        with open(f"/proc/{p.pid}/stat") as f:
            if f.read().rpartition(")")[2].split()[0] == "T":
                return
        time.sleep(0.01)
    raise AssertionError(f"the runtime did not reach its stop point in {timeout}s")


@pytest.mark.parametrize("step", ["cgroup-join", "init-pid", "device-rules"])
def test_killed_at_a_known_step(pyrunc, make_bundle, base_dir, step):
    """The runtime stops itself at a step of create (PYRUNC_FAULT=stop@STEP), stays
    stopped while what it forked may run on, then is SIGKILLed: delete --force leaves
    nothing.  At init-pid (the init's pid received, not yet in the state) an init that
    went on alone used to wait on the exec FIFO for ever, named by no state."""
    b = make_bundle(["sleep", "1000"])
    p = subprocess.Popen([PYRUNC, "--root", pyrunc.root, "create", "-b", b.path, "k"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=dict(ENV, PYRUNC_FAULT=f"stop@{step}"))
    try:
        _wait_stopped(p)
        time.sleep(1.0)  # the window: the runtime's children run on meanwhile if they may
    finally:
        p.kill()
        p.wait(timeout=10)
    assert _check_and_clean(pyrunc.root, base_dir, "k", {"created", "stopped"})


def test_killed_while_starting(pyrunc, make_bundle, base_dir):
    b = make_bundle(["sleep", "1000"])
    for i, delay in enumerate(DELAYS):
        cid = f"start{i}"
        assert run(pyrunc.root, "create", "-b", b.path, cid).returncode == 0
        _kill_after(pyrunc.root, delay, "start", cid)
        _check_and_clean(pyrunc.root, base_dir, cid, {"created", "running"})


def test_killed_while_deleting(pyrunc, make_bundle, base_dir):
    b = make_bundle(["sleep", "1000"])
    for i, delay in enumerate(DELAYS):
        cid = f"del{i}"
        assert run(pyrunc.root, "run", "-d", "-b", b.path, cid).returncode == 0
        _kill_after(pyrunc.root, delay, "delete", "--force", cid)
        _check_and_clean(pyrunc.root, base_dir, cid, {"running", "stopped"})


def test_create_killed_midway_is_cleaned_by_delete_force(pyrunc, make_bundle, tmp_path):
    """SIGKILL create while a createRuntime hook runs: state says what to clean up."""
    flag = tmp_path / "hook-started"
    hook = tmp_path / "slow"
    # The hook writes its pid (its command line becomes "sleep 30", and hooks get only
    # their own env: neither pkill nor the leak check's token would find it).
    hook.write_text(f"#!/bin/sh\necho $$ > {flag}.tmp && mv {flag}.tmp {flag}\nexec sleep 30\n")
    hook.chmod(0o755)
    b = make_bundle(["sleep", "1000"])
    b.config["hooks"] = {"createRuntime": [{"path": str(hook)}]}
    b.write()
    proc = subprocess.Popen(pyrunc.cmd("create", "-b", b.path, "crash"), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not flag.exists():
            assert time.monotonic() < deadline, "the hook did not start"
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        if flag.exists():
            try:
                os.kill(int(flag.read_text()), signal.SIGKILL)
            except (OSError, ValueError):
                pass
    st = pyrunc.state("crash")
    assert st["status"] in ("stopped", "created")
    assert pyrunc("delete", "--force", "crash").returncode == 0
    rel = b.config["linux"]["cgroupsPath"]
    assert not os.path.exists(f"/sys/fs/cgroup/pids{rel}")
