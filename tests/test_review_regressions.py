"""Defects found in review, each pinned by a test that fails without its fix."""

import os
import signal
import subprocess
import time


def wait_status(pyrunc, cid, status, timeout=10):
    deadline = time.time() + timeout
    while pyrunc.state(cid)["status"] != status:
        assert time.time() < deadline, f"{cid} never became {status}"
        time.sleep(0.05)


def test_waiting_init_is_not_dumpable(pyrunc, make_bundle, tmp_path):
    """CVE-2019-5736: until execve the init is the host's interpreter; a process sharing
    its pid namespace must not be able to open /proc/PID/exe (or its fds)."""
    # The watcher is pid 1 of the shared pid namespace: it must outlive the victim's
    # create, so it records what it saw in a file and keeps running.
    watcher = make_bundle(["sh", "-c",
                           "while true; do for p in /proc/[0-9]*; do "
                           "grep -q py''runc $p/cmdline 2>/dev/null || continue; "
                           "if cat $p/exe > /dev/null 2>&1; then r=opened; else r=denied; fi; "
                           "readlink $p/fd/0 > /dev/null 2>&1 && f=fds-open || f=fds-denied; "
                           "echo $r $f > /tmp/seen.tmp; mv /tmp/seen.tmp /tmp/seen; exec sleep 1000; "
                           "done; sleep 0.02; done"])
    watcher.config["root"]["readonly"] = False
    watcher.write()
    pyrunc("run", "-d", "-b", watcher.path, "watch", check=True)
    wpid = pyrunc.state("watch")["pid"]
    victim = make_bundle(["true"])
    for ns in victim.config["linux"]["namespaces"]:
        if ns["type"] == "pid":
            ns["path"] = f"/proc/{wpid}/ns/pid"
    victim.write()
    pyrunc("create", "-b", victim.path, "victim", check=True)
    seen = os.path.join(watcher.rootfs, "tmp", "seen")
    deadline = time.time() + 10
    while not os.path.exists(seen):
        assert time.time() < deadline, "the watcher never saw the waiting init"
        time.sleep(0.05)
    assert open(seen).read().split() == ["denied", "fds-denied"]
    pyrunc("delete", "--force", "victim", check=True)
    pyrunc("delete", "--force", "watch", check=True)


def test_kill_all_and_delete_reach_leftovers_without_pid_namespace(pyrunc, make_bundle):
    b = make_bundle(["sh", "-c", "sleep 1000 & exit 0"])
    b.config["linux"]["namespaces"] = [n for n in b.config["linux"]["namespaces"] if n["type"] != "pid"]
    b.write()
    pyrunc("run", "-d", "-b", b.path, "left", check=True)
    wait_status(pyrunc, "left", "stopped")
    rel = b.config["linux"]["cgroupsPath"]
    procs = open(f"/sys/fs/cgroup/pids{rel}/cgroup.procs").read().split()
    assert len(procs) == 1  # the orphaned sleep
    assert pyrunc("kill", "--all", "left", "KILL").returncode == 0
    t = time.time()
    assert pyrunc("delete", "left").returncode == 0
    assert time.time() - t < 4
    # Dead: gone, or a zombie waiting for whoever inherited it to reap it.
    stat_path = f"/proc/{procs[0]}/stat"
    assert not os.path.exists(stat_path) or open(stat_path).read().rsplit(")", 1)[1].split()[0] in "ZX"


def test_destroy_spares_other_members_of_a_shared_cgroup(pyrunc, make_bundle):
    from conftest import CGROUP_PARENT

    shared = f"/sys/fs/cgroup/pids{CGROUP_PARENT}/shared"
    os.makedirs(shared, exist_ok=True)
    bystander = subprocess.Popen(["sleep", "1000"])
    try:
        with open(f"{shared}/cgroup.procs", "w") as f:
            f.write(str(bystander.pid))
        b = make_bundle(["true"])
        b.config["linux"]["cgroupsPath"] = f"{CGROUP_PARENT}/shared"
        b.write()
        assert pyrunc("run", "-b", b.path, "sh1").returncode == 0
        assert bystander.poll() is None, "the container's exit killed a process it does not own"
    finally:
        bystander.kill()
        bystander.wait()
        for ctrl in os.listdir("/sys/fs/cgroup"):
            try:
                os.rmdir(f"/sys/fs/cgroup/{ctrl}{CGROUP_PARENT}/shared")
            except OSError:
                pass


def test_signal_dispositions_are_defaults(pyrunc, make_bundle):
    # "; true": busybox sh would exec the last command itself, and sh ignores SIGQUIT.
    b = make_bundle(["sh", "-c", "grep SigIgn /proc/self/status; true"])
    p = pyrunc("run", "-b", b.path, "sigs")
    assert p.stdout.split() == ["SigIgn:", "0000000000000000"], p.stdout


def test_hook_timeout_counts_while_stdin_is_unread(pyrunc, make_bundle, tmp_path):
    hook = tmp_path / "stuck"
    hook.write_text("#!/bin/sh\nsleep 30\n")
    hook.chmod(0o755)
    b = make_bundle(["true"])
    b.config["annotations"] = {f"k{i}": "x" * 1000 for i in range(200)}  # more than a pipe holds
    b.config["hooks"] = {"createRuntime": [{"path": str(hook), "timeout": 1}]}
    b.write()
    t = time.time()
    p = pyrunc("create", "-b", b.path, "stuck")
    assert p.returncode == 1 and "timed out" in p.stderr
    assert time.time() - t < 10


def test_run_detached_failing_start_leaves_nothing(pyrunc, make_bundle, tmp_path):
    hook = tmp_path / "fail"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    b = make_bundle(["sleep", "1000"])
    b.config["hooks"] = {"poststart": [{"path": str(hook)}]}
    b.write()
    assert pyrunc("run", "-d", "-b", b.path, "rdf").returncode == 1
    assert pyrunc("list", "-q").stdout == ""


def test_create_killed_midway_is_cleaned_by_delete_force(pyrunc, make_bundle, tmp_path):
    """SIGKILL create while a createRuntime hook runs: state says what to clean up."""
    flag = tmp_path / "hook-started"
    hook = tmp_path / "slow"
    hook.write_text(f"#!/bin/sh\ntouch {flag}\nexec sleep 30\n")
    hook.chmod(0o755)
    b = make_bundle(["sleep", "1000"])
    b.config["hooks"] = {"createRuntime": [{"path": str(hook)}]}
    b.write()
    proc = subprocess.Popen(pyrunc.cmd("create", "-b", b.path, "crash"), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while not flag.exists():
        assert time.time() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    subprocess.run(["pkill", "-f", str(hook)], check=False)
    st = pyrunc.state("crash")
    assert st["status"] in ("stopped", "created")
    assert pyrunc("delete", "--force", "crash").returncode == 0
    rel = b.config["linux"]["cgroupsPath"]
    assert not os.path.exists(f"/sys/fs/cgroup/pids{rel}")


def test_systemd_cgroup_without_systemd(pyrunc, make_bundle):
    if os.path.isdir("/run/systemd/system"):
        return
    b = make_bundle(["true"])
    p = pyrunc("--systemd-cgroup", "create", "-b", b.path, "sd")
    assert p.returncode == 1
    assert "systemd not running on this host, cannot use systemd cgroups manager" in p.stderr


def test_root_that_is_a_file(pyrunc, tmp_path):
    f = tmp_path / "file"
    f.write_text("")
    p = subprocess.run(pyrunc.cmd("list", root=False)[:1] + ["--root", str(f), "list"], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 1 and "internal error" not in p.stderr and len(p.stderr.splitlines()) == 1
