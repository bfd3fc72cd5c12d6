"""--pidfd-socket on create, run and exec (runc 1.2+): the runtime sends the new process's
pidfd over the socket, and a socket nobody listens on is one line with nothing made."""

import ctypes
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
