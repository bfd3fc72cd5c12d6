"""runc 1.2-1.5 command-line additions: --pidfd-socket on create, run and exec, and
update --cpu-burst / --cpu-idle (read back from the container's cgroup files)."""

import ctypes
import json
import os
import socket
import struct

import pytest

SYS_PIDFD_SEND_SIGNAL = 424


def pidfd_send_signal(fd: int, sig: int) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc.syscall(ctypes.c_long(SYS_PIDFD_SEND_SIGNAL), ctypes.c_long(fd), ctypes.c_long(sig), None,
                        ctypes.c_long(0))


def pid_of_pidfd(fd: int) -> int:
    with open(f"/proc/self/fdinfo/{fd}") as f:
        for line in f:
            if line.startswith("Pid:"):
                return int(line.split()[1])
    raise AssertionError("not a pidfd")


@pytest.fixture
def listener(tmp_path):
    path = str(tmp_path / "pidfd.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(4)
    s.settimeout(10)
    yield path, s
    s.close()


def receive(s: socket.socket) -> tuple[str, int]:
    """What the runtime sent: its message ("standard" or "setns") and the fd."""
    conn, _ = s.accept()
    with conn:
        data, anc, _, _ = conn.recvmsg(64, socket.CMSG_SPACE(4))
    fds = [struct.unpack("i", d[:4])[0] for lvl, typ, d in anc if lvl == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS]
    assert len(fds) == 1, anc
    return data.decode(), fds[0]


@pytest.mark.parametrize("how", ["create", "run -d"])
def test_pidfd_socket_gets_the_inits_pidfd(pyrunc, make_bundle, listener, how):
    path, s = listener
    b = make_bundle(["sleep", "1000"])
    pyrunc(*how.split(), "-b", b.path, "--pidfd-socket", path, "pfd", check=True)
    try:
        kind, fd = receive(s)
        try:
            assert kind == "standard"
            assert pid_of_pidfd(fd) == pyrunc.state("pfd")["pid"]
            assert pidfd_send_signal(fd, 0) == 0
            assert pidfd_send_signal(fd, 9) == 0  # SIGKILL through the pidfd stops the container
            for _ in range(100):
                if pyrunc.state("pfd")["status"] == "stopped":
                    break
                import time

                time.sleep(0.05)
            assert pyrunc.state("pfd")["status"] == "stopped"
        finally:
            os.close(fd)
    finally:
        pyrunc("delete", "--force", "pfd")


def test_pidfd_socket_on_exec_names_the_exec_process(pyrunc, make_bundle, listener, tmp_path):
    path, s = listener
    b = make_bundle(["sleep", "1000"])
    pyrunc("run", "-d", "-b", b.path, "pfx", check=True)
    try:
        pidfile = str(tmp_path / "exec.pid")
        pyrunc("exec", "-d", "--pid-file", pidfile, "--pidfd-socket", path, "pfx", "sleep", "1000", check=True)
        kind, fd = receive(s)
        try:
            with open(pidfile) as f:
                exec_pid = int(f.read())
            assert kind == "setns" and pid_of_pidfd(fd) == exec_pid
            assert pidfd_send_signal(fd, 0) == 0 and pidfd_send_signal(fd, 9) == 0
        finally:
            os.close(fd)
        assert pyrunc.state("pfx")["status"] == "running"  # only the exec'd process got it
    finally:
        pyrunc("delete", "--force", "pfx")


@pytest.mark.parametrize("cmd", ["create", "run", "exec"])
def test_pidfd_socket_nobody_listens(pyrunc, make_bundle, tmp_path, cmd):
    """One line, and nothing made (the socket is connected first)."""
    b = make_bundle(["sleep", "1000"])
    bad = str(tmp_path / "nobody.sock")
    if cmd == "exec":
        pyrunc("run", "-d", "-b", b.path, "pfn", check=True)
        try:
            p = pyrunc("exec", "--pidfd-socket", bad, "pfn", "true")
            assert p.returncode == 255
            assert pyrunc("ps", "pfn").stdout.count("sleep") == 1
        finally:
            pyrunc("delete", "--force", "pfn")
    else:
        p = pyrunc(cmd, "-b", b.path, "--pidfd-socket", bad, "pfn")
        assert p.returncode == 1
        assert pyrunc("list", "-q").stdout.strip() == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and f"--pidfd-socket {bad}: no such file or directory" in lines[0], p.stderr


def _cpu_dir(b) -> str:
    return "/sys/fs/cgroup/cpu" + b.config["linux"]["cgroupsPath"]


def _read(d: str, name: str) -> str:
    with open(os.path.join(d, name)) as f:
        return f.read().strip()


needs_v1_cpu = pytest.mark.skipif(not os.path.exists("/sys/fs/cgroup/cpu/cpu.shares"), reason="no v1 cpu controller")


@needs_v1_cpu
def test_update_cpu_burst_and_idle_flags(pyrunc, make_bundle):
    if not os.path.exists("/sys/fs/cgroup/cpu/cpu.cfs_burst_us") or not os.path.exists("/sys/fs/cgroup/cpu/cpu.idle"):
        pytest.skip("this kernel's v1 cpu controller has no cpu.cfs_burst_us or cpu.idle")
    b = make_bundle(["sleep", "1000"])
    pyrunc("run", "-d", "-b", b.path, "upd", check=True)
    try:
        d = _cpu_dir(b)
        assert _read(d, "cpu.idle") == "0"
        pyrunc("update", "--cpu-quota", "50000", "--cpu-burst", "20000", "upd", check=True)
        assert _read(d, "cpu.cfs_quota_us") == "50000" and _read(d, "cpu.cfs_burst_us") == "20000"
        for val in ("1", "0", "1"):
            pyrunc("update", "--cpu-idle", val, "upd", check=True)
            assert _read(d, "cpu.idle") == val
        pyrunc("update", "-r", "-", "upd", input=json.dumps({"cpu": {"idle": 0, "burst": 1000}}), check=True)
        assert _read(d, "cpu.idle") == "0" and _read(d, "cpu.cfs_burst_us") == "1000"
        p = pyrunc("update", "--cpu-burst", "90000", "upd")  # above the quota: the kernel refuses
        assert p.returncode == 1 and "linux.resources.cpu.burst: write cpu.cfs_burst_us = 90000: invalid argument" \
            in p.stderr, p.stderr
        p = pyrunc("update", "--cpu-idle", "x", "upd")
        assert p.returncode == 1 and 'invalid value for cpu-idle: strconv.ParseInt: parsing \\"x\\": invalid syntax' \
            in p.stderr, p.stderr
    finally:
        pyrunc("delete", "--force", "upd")


@needs_v1_cpu
def test_burst_in_config_at_create(pyrunc, make_bundle):
    if not os.path.exists("/sys/fs/cgroup/cpu/cpu.cfs_burst_us"):
        pytest.skip("no cpu.cfs_burst_us here")
    b = make_bundle(["sleep", "1000"])
    b.config["linux"].setdefault("resources", {})["cpu"] = {"quota": 40000, "period": 100000, "burst": 10000,
                                                            "idle": 1}
    b.write()
    pyrunc("create", "-b", b.path, "burst", check=True)
    try:
        d = _cpu_dir(b)
        assert _read(d, "cpu.cfs_burst_us") == "10000" and _read(d, "cpu.idle") == "1"
    finally:
        pyrunc("delete", "--force", "burst")


def test_missing_burst_file_is_ignored_as_runc(tmp_path):
    """On a kernel without the burst knob runc ignores it; a missing cpu.idle is an
    error.  Against a fake v1 cpu directory (named so)."""
    from pyrunc.runtime.errors import ConfigError
    from pyrunc.runtime.linux.cgroups import files as cgroups

    fake = tmp_path / "fake-cpu-cgroup"
    fake.mkdir()
    (fake / "cpu.cfs_quota_us").write_text("")
    orig = cgroups.by_controller
    cgroups.by_controller = lambda dirs: {"cpu": str(fake)}
    try:
        cgroups.write_all([str(fake)], [("cpu", "cpu.cfs_quota_us", "1000", "q"),
                                        ("cpu", "cpu.cfs_burst_us", "10", "linux.resources.cpu.burst")])
        assert (fake / "cpu.cfs_quota_us").read_text() == "1000"
        with pytest.raises(ConfigError, match="linux.resources.cpu.idle: write cpu.idle = 1: no such file"):
            cgroups.write_all([str(fake)], [("cpu", "cpu.idle", "1", "linux.resources.cpu.idle")])
    finally:
        cgroups.by_controller = orig


def test_features_lists_the_spec13_additions(pyrunc):
    """features-linux.md 1.3.0 shapes; every listed mode and flag is accepted at load."""
    f = json.loads(pyrunc("features", check=True).stdout)
    lx = f["linux"]
    assert lx["memoryPolicy"] == {
        "modes": ["MPOL_DEFAULT", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE", "MPOL_PREFERRED",
                  "MPOL_PREFERRED_MANY", "MPOL_LOCAL"],
        "flags": ["MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"]}
    assert lx["intelRdt"] == {"enabled": False, "schemata": True, "monitoring": True}
    assert lx["mountExtensions"] == {"idmap": {"enabled": True}}
    assert f["potentiallyUnsafeConfigAnnotations"] == ["bundle", "org.systemd.property.", "org.criu.config"]
    from pyrunc.spec import numa
    from pyrunc.spec.check import Obj

    for mode in lx["memoryPolicy"]["modes"]:
        nodes = "" if mode in ("MPOL_DEFAULT", "MPOL_LOCAL") else "0"
        assert numa.parse(Obj({"mode": mode, "nodes": nodes}, "linux.memoryPolicy")).mode == numa.MODES[mode]
