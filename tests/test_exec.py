"""exec: a new process inside a running container (runc's flags and texts)."""

import json
import os
import socket
import subprocess
import time

from conftest import run_in_pty


def running(pyrunc, make_bundle, cid="ex"):
    b = make_bundle(["sleep", "1000"])
    pyrunc("run", "-d", "-b", b.path, cid, check=True)
    return b, pyrunc.state(cid)["pid"]


def test_exec_joins_the_container(pyrunc, make_bundle):
    b, pid = running(pyrunc, make_bundle)
    p = pyrunc("exec", "ex", "sh", "-c", "for n in pid mnt net uts ipc cgroup; do readlink /proc/self/ns/$n; done;"
               " cat /proc/self/cgroup | head -1; exit 4")
    assert p.returncode == 4, p.stderr
    lines = p.stdout.split()
    for n, link in zip(["pid", "mnt", "net", "uts", "ipc", "cgroup"], lines, strict=False):
        assert link == os.readlink(f"/proc/{pid}/ns/{n}"), n
    assert lines[-1].endswith(":/")  # inside the container's cgroup namespace
    pyrunc("delete", "--force", "ex", check=True)


def test_exec_flags_env_cwd_user(pyrunc, make_bundle):
    running(pyrunc, make_bundle)
    p = pyrunc("exec", "--env", "FOO=bar", "--env", "X=1", "--cwd", "/tmp", "--user", "1000:1000", "ex",
               "sh", "-c", "echo $FOO $X; pwd; id -u; id -g")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["bar", "1", "/tmp", "1000", "1000"]
    # runc (urfave/cli 1.22) refuses one flag under both its names; nothing runs
    p = pyrunc("exec", "--env", "FOO=bar", "-e", "X=1", "ex", "sh", "-c", "touch /tmp/ran")
    assert p.returncode == 1 and "Cannot use two forms of the same flag: e env" in p.stderr
    assert pyrunc("exec", "ex", "test", "-e", "/tmp/ran").returncode == 1
    pyrunc("delete", "--force", "ex", check=True)


def test_exec_detached_pid_file_and_ps(pyrunc, make_bundle, tmp_path):
    running(pyrunc, make_bundle)
    pidfile = tmp_path / "exec.pid"
    assert pyrunc("exec", "-d", "--pid-file", str(pidfile), "ex", "sleep", "100").returncode == 0
    pid = int(pidfile.read_text())
    assert pid in json.loads(pyrunc("ps", "--format", "json", "ex").stdout)
    pyrunc("delete", "--force", "ex", check=True)
    deadline = time.time() + 5
    while os.path.exists(f"/proc/{pid}") and open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
        assert time.time() < deadline
        time.sleep(0.05)


def test_exec_process_file(pyrunc, make_bundle, tmp_path):
    running(pyrunc, make_bundle)
    proc = {"args": ["sh", "-c", "echo from-process-json; echo $ONLY"], "cwd": "/", "env": ["ONLY=here"],
            "user": {"uid": 0, "gid": 0}}
    f = tmp_path / "process.json"
    f.write_text(json.dumps(proc))
    p = pyrunc("exec", "--process", str(f), "ex")
    assert p.stdout.split() == ["from-process-json", "here"], p.stderr
    pyrunc("delete", "--force", "ex", check=True)


def test_exec_errors(pyrunc, make_bundle):
    running(pyrunc, make_bundle)
    p = pyrunc("exec", "ex", "nosuchcommand")
    # runc: exec's own failures exit 255, apart from the process's statuses
    assert p.returncode == 255 and len(p.stderr.splitlines()) == 1
    assert 'exec: \\"nosuchcommand\\": executable file not found in $PATH' in p.stderr
    pyrunc("kill", "ex", "KILL", check=True)
    deadline = time.time() + 10
    while pyrunc.state("ex")["status"] != "stopped":
        assert time.time() < deadline
        time.sleep(0.05)
    p = pyrunc("exec", "ex", "true")
    assert p.returncode == 255 and "cannot exec in a stopped container" in p.stderr
    p = pyrunc("exec", "ghost", "true")
    assert p.returncode == 255 and "container does not exist" in p.stderr
    pyrunc("delete", "ex", check=True)


def test_exec_paused_needs_ignore_paused(pyrunc, make_bundle):
    running(pyrunc, make_bundle)
    pyrunc("pause", "ex", check=True)
    p = pyrunc("exec", "ex", "true")
    assert p.returncode == 255 and "--ignore-paused" in p.stderr
    pyrunc("delete", "--force", "ex", check=True)


def test_exec_tty_foreground(pyrunc, make_bundle):
    running(pyrunc, make_bundle)
    code, out = run_in_pty(pyrunc.cmd("exec", "-t", "ex", "sh", "-c", "tty; exit 3"))
    assert code == 3, out
    assert b"/dev/pts/" in out
    pyrunc("delete", "--force", "ex", check=True)


def test_exec_console_socket_receives_the_pty_master(pyrunc, make_bundle, tmp_path):
    running(pyrunc, make_bundle)
    path = str(tmp_path / "console.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    try:
        p = subprocess.Popen(pyrunc.cmd("exec", "-t", "-d", "--console-socket", path, "ex", "sh", "-c",
                                        "echo through-the-pty; sleep 1"),
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        conn, _ = srv.accept()
        _, fds, _, _ = socket.recv_fds(conn, 1024, 1)
        conn.close()
        assert p.wait(timeout=30) == 0, p.stderr.read()
        master = fds[0]
        data = b""
        deadline = time.time() + 10
        while b"through-the-pty" not in data and time.time() < deadline:
            try:
                data += os.read(master, 1024)
            except OSError:
                break
        os.close(master)
        assert b"through-the-pty" in data
    finally:
        srv.close()
    pyrunc("delete", "--force", "ex", check=True)


def test_exec_bad_input(pyrunc, make_bundle, tmp_path):
    running(pyrunc, make_bundle)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    p = pyrunc("exec", "--process", str(bad), "ex")
    assert p.returncode == 255 and len(p.stderr.splitlines()) == 1 and "invalid JSON" in p.stderr
    p = pyrunc("exec", "-t", "-d", "--console-socket", str(tmp_path / "nope.sock"), "ex", "true")
    assert p.returncode == 255 and "--console-socket" in p.stderr and len(p.stderr.splitlines()) == 1
    notsock = tmp_path / "plain-file"
    notsock.write_text("")
    p = pyrunc("exec", "-t", "-d", "--console-socket", str(notsock), "ex", "true")
    assert p.returncode == 255 and "--console-socket" in p.stderr
    p = pyrunc("exec", "-d", "--pid-file", str(tmp_path / "no" / "dir" / "pid"), "ex", "sleep", "1")
    assert p.returncode == 255 and "open " in p.stderr and "no such file" in p.stderr  # runc's text
    p = pyrunc("exec", "ex")
    assert p.returncode == 255 and "process args cannot be empty" in p.stderr
    # Nothing of the failed execs is left in the container.
    assert json.loads(pyrunc("ps", "--format", "json", "ex").stdout) == [pyrunc.state("ex")["pid"]]
    pyrunc("delete", "--force", "ex", check=True)


def test_exec_into_a_sub_cgroup(pyrunc, make_bundle):
    b, _ = running(pyrunc, make_bundle)
    rel = b.config["linux"]["cgroupsPath"]
    sub = f"/sys/fs/cgroup/pids{rel}/sub"
    os.mkdir(sub)
    try:
        p = pyrunc("exec", "--cgroup", "pids:/sub", "ex", "sh", "-c", "grep pids /proc/self/cgroup")
        assert p.returncode == 0, p.stderr
        assert p.stdout.strip().endswith(":/sub")
        p = pyrunc("exec", "--cgroup", "/nope", "ex", "true")
        assert p.returncode == 255 and "does not exist" in p.stderr
    finally:
        os.rmdir(sub)
    pyrunc("delete", "--force", "ex", check=True)


SDNOTIFY_C = r"""
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
int main(void) {
    const char *p = getenv("NOTIFY_SOCKET");
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (!p || s < 0) return 2;
    strncpy(a.sun_path, p, sizeof a.sun_path - 1);
    return sendto(s, "READY=1", 7, 0, (struct sockaddr *)&a, sizeof a) < 0;
}
"""


def test_notify_socket_pass_through(pyrunc, make_bundle, tmp_path):
    """NOTIFY_SOCKET (sd_notify), as containerd's shim passes it: start waits for the
    container's READY=1 and forwards it, with MAINPID, to the runtime's own socket."""
    src = tmp_path / "sdnotify.c"
    src.write_text(SDNOTIFY_C)
    b = make_bundle(["sh", "-c", "sleep 0.3; /sdnotify; sleep 1000"])
    built = subprocess.run(["gcc", "-static", "-O", "-o", os.path.join(b.rootfs, "sdnotify"), str(src)],
                           capture_output=True, text=True)
    if built.returncode != 0:
        import pytest

        pytest.skip(f"no static C toolchain for the helper: {built.stderr[:200]}")
    host = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    host_path = str(tmp_path / "host-notify.sock")
    host.bind(host_path)
    env = dict(os.environ, NOTIFY_SOCKET=host_path)
    try:
        assert pyrunc("create", "-b", b.path, "nt", env=env).returncode == 0
        assert os.path.exists(os.path.join(pyrunc.root, "nt", "notify", "notify.sock"))
        t = time.time()
        p = pyrunc("start", "nt", env=env)
        assert p.returncode == 0, p.stderr
        assert time.time() - t >= 0.25  # start waited for READY=1
        host.settimeout(5)
        msg = host.recv(4096).decode()
        assert "READY=1" in msg and f"MAINPID={pyrunc.state('nt')['pid']}" in msg
        init_env = open(f"/proc/{pyrunc.state('nt')['pid']}/environ", "rb").read().split(b"\0")
        assert b"NOTIFY_SOCKET=/run/notify/notify.sock" in init_env
        out = pyrunc("exec", "nt", "ls", "/run/notify")
        assert out.stdout.split() == ["notify.sock"], out.stderr
    finally:
        host.close()
        pyrunc("delete", "--force", "nt")


def test_exec_process_file_without_caps_gets_the_containers(pyrunc, make_bundle, tmp_path):
    running(pyrunc, make_bundle)
    f = tmp_path / "p.json"
    f.write_text(json.dumps({"args": ["sh", "-c", "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status"],
                             "cwd": "/", "user": {"uid": 0, "gid": 0}}))
    p = pyrunc("exec", "--process", str(f), "ex")
    fields = dict(line.split(":\t") for line in p.stdout.splitlines())
    assert fields["CapEff"] == f"{(1 << 29) | (1 << 5) | (1 << 10):016x}", p.stdout  # the container's set
    assert fields["NoNewPrivs"] == "1"
    pyrunc("delete", "--force", "ex", check=True)



def test_user_namespace_container_and_exec(pyrunc, make_bundle):
    """A new user namespace with id maps written by the parent; exec joins it too."""
    b = make_bundle(["sleep", "1000"])
    b.config["linux"]["namespaces"].append({"type": "user"})
    b.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    b.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    b.write()
    pyrunc("run", "-d", "-b", b.path, "un", check=True)
    pid = pyrunc.state("un")["pid"]
    assert open(f"/proc/{pid}/uid_map").read().split() == ["0", "100000", "65536"]
    assert os.stat(f"/proc/{pid}").st_uid == 100000  # container root is host uid 100000
    p = pyrunc("exec", "un", "sh", "-c", "id -u; cat /proc/self/uid_map; readlink /proc/self/ns/user")
    assert p.returncode == 0, p.stderr
    out = p.stdout.split()
    assert out[0] == "0" and out[1:4] == ["0", "100000", "65536"]
    assert out[4] == os.readlink(f"/proc/{pid}/ns/user") != os.readlink("/proc/self/ns/user")
    pyrunc("delete", "--force", "un", check=True)


def test_preserve_fds_the_caller_did_not_open(pyrunc, make_bundle):
    """--preserve-fds N needs fds 3..3+N-1 open in the caller: runc's runner.run stats each
    (utils_linux.go) and refuses, exit 255 for exec, 1 for create/run, nothing started or
    left behind.  Before, pyrunc filled the holes with /dev/null and went on."""
    running(pyrunc, make_bundle)

    def with_fd3(*args: str) -> subprocess.CompletedProcess:  # the caller opens fd 3 only
        cmd = " ".join(pyrunc.cmd(*args))
        return subprocess.run(["sh", "-c", f"exec {cmd} 3</dev/null"], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=60)

    p = with_fd3("exec", "--preserve-fds", "2", "ex", "touch", "/tmp/ran")
    assert p.returncode == 255, p.stderr
    assert p.stderr.strip().endswith('msg="exec failed: unable to stat preserved-fd 1 (of 2): '
                                     'stat /proc/self/fd/4: no such file or directory"'), p.stderr
    assert pyrunc("exec", "ex", "test", "-e", "/tmp/ran").returncode == 1
    # what the caller does pass reaches the process, as before
    p = with_fd3("exec", "--preserve-fds", "1", "ex", "readlink", "/proc/self/fd/3")
    assert (p.returncode, p.stdout.strip()) == (0, "/dev/null"), p.stderr
    b = make_bundle(["true"])
    for cmd in (["create"], ["run", "-d"]):
        p = with_fd3(*cmd, "--preserve-fds", "3", "-b", b.path, "pf")
        assert p.returncode == 1, p.stderr
        assert ('failed: unable to stat preserved-fd 1 (of 3): stat /proc/self/fd/4: '
                'no such file or directory"') in p.stderr, p.stderr
        assert not os.path.exists(os.path.join(pyrunc.root, "pf"))
        assert "pf" not in pyrunc("list", "-q").stdout.split()
    pyrunc("delete", "--force", "ex", check=True)


def test_exec_cgroup_syntax_first(pyrunc, make_bundle):
    """runc parses --cgroup right after the process is read (exec.go getSubCgroupPaths),
    before runner.run's terminal, --preserve-fds and caller-terminal checks; 1.1.5's texts."""
    running(pyrunc, make_bundle)
    for args, msg in [
        (["--cgroup", "pids:a:b"], "invalid --cgroup argument: pids:a:b"),
        (["--cgroup", "pids:/a", "--cgroup", "b"], "invalid --cgroup argument: b (missing <controller>: prefix)"),
        (["-t", "-d", "--cgroup", "a:b:c"], "invalid --cgroup argument: a:b:c"),
        (["-t", "--cgroup", "x", "--cgroup", "y"], "invalid --cgroup argument: x (missing <controller>: prefix)"),
        (["--preserve-fds", "10", "--cgroup", "a:b:c"], "invalid --cgroup argument: a:b:c"),
    ]:
        p = pyrunc("exec", *args, "ex", "touch", "/tmp/ran")
        assert p.returncode == 255, (args, p.stderr)
        assert p.stderr.strip().endswith(f'msg="exec failed: {msg}"'), (args, p.stderr)
    assert pyrunc("exec", "ex", "test", "-e", "/tmp/ran").returncode == 1
    pyrunc("delete", "--force", "ex", check=True)
