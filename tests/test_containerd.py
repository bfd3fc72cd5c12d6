"""containerd 1.6 (Debian) runs pyrunc through its runc v2 shim: `ctr run --runc-binary`.

A containerd of the suite's own (root, state, socket, FIFO dir and pyrunc's --root all in
a temporary directory; cgroups under the run's own parent; its own PID, mount and network
namespaces, as tests/engines/cri_env.py starts it, so the shims' sockets under
/run/containerd stay out of the host's /run) imports a busybox OCI image the suite builds
(there is no registry) and drives the shim's whole path: create/start, exec, ps,
pause/resume, kill, delete, and a terminal through the console socket.
"""

import os
import shutil
import subprocess
import sys
import time
import uuid

import ociimage
import pytest
from conftest import CGROUP_PARENT, HERE, PYRUNC, RUN_TOKEN, run_in_pty

sys.path.insert(0, os.path.join(HERE, "engines"))
import cri_env  # noqa: E402

REF = "docker.io/library/pyrunc-busybox:latest"

pytestmark = pytest.mark.skipif(not shutil.which("containerd") or not shutil.which("ctr"),
                                reason="containerd is not installed (make deps installs Debian's)")


@pytest.fixture(scope="module")
def ctd(base_dir, busybox_rootfs):
    d = os.path.join(base_dir, "containerd")
    os.makedirs(d)
    daemon = cri_env.Cri(d).start()
    try:
        archive = os.path.join(d, "busybox.tar")
        ociimage.build(busybox_rootfs, archive, REF)
        subprocess.run(["ctr", "-a", daemon.sock, "images", "import", archive], check=True, capture_output=True,
                       timeout=120)
        yield Ctr(daemon.sock, d)
    finally:
        daemon.stop()


class Ctr:
    def __init__(self, sock: str, d: str) -> None:
        self.sock = sock
        self.root = os.path.join(d, "pyrunc-root")
        self.fifo = os.path.join(d, "fifo")

    def __call__(self, *args: str, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
        return subprocess.run(["ctr", "-a", self.sock, *args], capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, **kw)

    def run_args(self, cid: str) -> list[str]:
        return ["run", "--runc-binary", PYRUNC, "--runc-root", self.root, "--fifo-dir", self.fifo,
                "--cgroup", f"{CGROUP_PARENT}/{cid}", "--env", f"PYRUNC_TEST_TOKEN={RUN_TOKEN}"]


def test_ctr_run_foreground(ctd):
    cid = "c" + uuid.uuid4().hex[:6]
    p = ctd(*ctd.run_args(cid), "--rm", REF, cid, "sh", "-c", "echo hello from containerd; exit 3")
    assert p.stdout == "hello from containerd\n", p.stderr
    assert p.returncode == 3
    assert not os.listdir(ctd.root) or os.listdir(os.path.join(ctd.root, "default")) == []


def test_ctr_task_lifecycle(ctd):
    cid = "c" + uuid.uuid4().hex[:6]
    assert ctd(*ctd.run_args(cid), "-d", REF, cid, "sleep", "1000").returncode == 0
    try:
        assert "RUNNING" in ctd("task", "ls").stdout
        p = ctd("task", "exec", "--fifo-dir", ctd.fifo, "--exec-id", "e1", cid, "sh", "-c",
                "echo exec-ok; cat /proc/1/cmdline")
        assert p.returncode == 0 and p.stdout.startswith("exec-ok\nsleep"), p.stderr
        ps = ctd("task", "ps", cid)
        assert ps.returncode == 0 and len(ps.stdout.splitlines()) == 2, ps.stdout + ps.stderr
        assert ctd("task", "pause", cid).returncode == 0
        assert "PAUSED" in ctd("task", "ls").stdout
        assert ctd("task", "resume", cid).returncode == 0
        assert "RUNNING" in ctd("task", "ls").stdout
        assert ctd("task", "kill", "-s", "KILL", cid).returncode == 0
        deadline = time.time() + 20
        while "STOPPED" not in ctd("task", "ls").stdout:
            assert time.time() < deadline
            time.sleep(0.1)
    finally:
        ctd("task", "delete", "-f", cid)
        ctd("container", "delete", cid)
    assert not os.path.exists(os.path.join(ctd.root, "default", cid))


def test_ctr_run_with_terminal(ctd):
    cid = "c" + uuid.uuid4().hex[:6]
    code, out = run_in_pty(["ctr", "-a", ctd.sock, *ctd.run_args(cid), "--rm", "-t", REF, cid, "sh", "-c",
                          "tty; exit 4"])
    assert b"/dev/pts/0" in out, out
    assert code == 4


def test_ctr_exec_with_terminal(ctd):
    cid = "c" + uuid.uuid4().hex[:6]
    assert ctd(*ctd.run_args(cid), "-d", REF, cid, "sleep", "1000").returncode == 0
    try:
        code, out = run_in_pty(["ctr", "-a", ctd.sock, "task", "exec", "--fifo-dir", ctd.fifo, "-t", "--exec-id",
                              "t1", cid, "sh", "-c", "tty; exit 6"])
        assert b"/dev/pts/" in out, out
        assert code == 6
    finally:
        ctd("task", "kill", "-s", "KILL", cid)
        time.sleep(0.3)
        ctd("task", "delete", "-f", cid)
        ctd("container", "delete", cid)


def test_ctr_shows_pyrunc_error_when_create_fails(ctd):
    cid = "c" + uuid.uuid4().hex[:6]
    p = ctd(*ctd.run_args(cid), "--rm", REF, cid, "no-such-program")
    assert p.returncode != 0
    assert 'exec: \\\\"no-such-program\\\\": executable file not found in $PATH' in p.stderr or \
        "executable file not found in $PATH" in p.stderr, p.stderr
    ctd("container", "delete", cid)
    assert not os.path.exists(os.path.join(ctd.root, "default", cid))
