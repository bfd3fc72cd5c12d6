"""What engines read from a runtime and send to it, checked on bundles beside runc.

Podman classes a runtime's error by its text and sends config forms of its own (a
device's whole st_mode as fileMode, a tmpfs with tmpcopyup, only a deny-all device rule);
tests/engines/test_podman.py meets them through Podman, these tests meet them directly,
so they hold where Podman is not installed.  Each runs the same bundle under runc (the
oracle) and pyrunc and compares exit status and normalized output.
"""

import copy
import json
import os
import shutil
import subprocess
import tempfile

import pytest
from conftest import PYRUNC

RUNC = "/usr/sbin/runc"

pytestmark = pytest.mark.skipif(not os.access(RUNC, os.X_OK), reason=f"{RUNC} (the oracle) is not installed")


@pytest.fixture
def both(make_bundle, tmp_path):
    """both(config_changes, args) -> {runtime: (rc, stdout, stderr)} for `run` of one bundle."""
    def run(change, args: list[str], exec_args: list[str] | None = None) -> dict:
        out = {}
        for name, binary in (("runc", RUNC), ("pyrunc", PYRUNC)):
            # A bundle each: what one runtime makes in the rootfs (mount points) must not
            # be there for the other.
            b = make_bundle(args)
            change(b.config)
            b.write()
            root = str(tmp_path / f"root-{name}")
            cid = f"contract-{name}"
            if exec_args is None:
                p = _run([binary, "--root", root, "run", "-b", b.path, cid])
                _run([binary, "--root", root, "delete", "-f", cid])
            else:
                d = _run([binary, "--root", root, "run", "-d", "-b", b.path, cid])
                assert d.returncode == 0, d.stderr
                try:
                    p = _run([binary, "--root", root, "exec", *exec_args[:-1], cid, exec_args[-1]])
                finally:
                    _run([binary, "--root", root, "delete", "-f", cid])
            out[name] = (p.returncode, p.stdout, _norm(p.stderr))
        return out
    return run


def _run(argv: list[str]) -> subprocess.CompletedProcess:
    with tempfile.TemporaryFile("w+") as o, tempfile.TemporaryFile("w+") as e:
        rc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=o, stderr=e, timeout=60).returncode
        o.seek(0)
        e.seek(0)
        return subprocess.CompletedProcess(argv, rc, o.read(), e.read())


def _norm(text: str) -> str:
    """The runtime's name, and the phrase where pyrunc names the JSON path instead."""
    text = text.replace("pyrunc", "runc").replace("error during container init: ", "")
    for path in ("process.rlimits[0]: ", "process.cwd: "):
        text = text.replace(path, "")
    if "level=error" in text:
        text = text.split("msg=", 1)[1]
    return text


def test_device_file_mode_with_file_type_bits(both):
    """Podman's --device sends the host node's st_mode (S_IFCHR|0600 = 8576): runc keeps
    the permission bits; an explicit 0 stays 0."""
    def devices(c):
        c["linux"]["devices"] = [{"path": "/dev/xd", "type": "c", "major": 1, "minor": 3, "fileMode": 0o20600},
                                 {"path": "/dev/xz", "type": "c", "major": 1, "minor": 5, "fileMode": 0}]
    out = both(devices, ["stat", "-c", "%n %A %t:%T", "/dev/xd", "/dev/xz"])
    assert out["pyrunc"] == out["runc"] == (0, "/dev/xd crw------- 1:3\n/dev/xz c--------- 1:5\n", ""), out


def test_rlimit_error_text(both):
    """A hard limit above what this process may raise to: runc's "operation not permitted"
    (Podman: "OCI permission denied").  With CAP_SYS_RESOURCE both simply run."""
    hard = 1 << 30

    def rlimit(c):
        c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": hard, "soft": 1024}]
    out = both(rlimit, ["true"])
    assert out["pyrunc"] == out["runc"], out
    if out["runc"][0] != 0:
        assert "error setting rlimits for ready process: error setting rlimit type 7: operation not permitted" \
            in out["runc"][2], out


def test_exec_into_a_missing_cwd_text(both):
    out = both(lambda c: None, ["sleep", "100"], exec_args=["--cwd", "/nonexistent", "true"])
    assert out["pyrunc"] == out["runc"], out
    assert 'chdir to cwd (\\"/nonexistent\\") set in config.json failed: no such file or directory' \
        in out["runc"][2], out


def test_program_that_cannot_exec(both, make_bundle):
    """A dynamic binary without its loader: execve fails after the lookup; runc says
    "exec PATH: ERRNO" as the program, status 1, for run and for exec."""
    if not os.path.exists("/lib64/ld-linux-x86-64.so.2") and not os.path.exists("/lib/ld-linux-aarch64.so.1"):
        pytest.skip("no dynamic loader on this host to leave out of the rootfs")

    def with_binary(c):
        c["mounts"].append({"destination": "/dyntrue", "type": "bind", "source": os.path.realpath(shutil.which("true")),
                            "options": ["rbind", "ro"]})
    run = both(with_binary, ["/dyntrue"])
    ex = both(with_binary, ["sleep", "100"], exec_args=["/dyntrue"])
    for out in (run, ex):
        assert out["pyrunc"] == out["runc"] == (1, "", "exec /dyntrue: no such file or directory\n"), out


def test_tmpcopyup_mode(both):
    """Over a directory made for it, a tmpcopyup tmpfs keeps its mode= (runc chmods only
    over a directory the image has)."""
    def tmpfs(c):
        c["mounts"] += [{"destination": "/new", "type": "tmpfs", "source": "tmpfs",
                         "options": ["mode=700", "tmpcopyup"]},
                        {"destination": "/etc", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup"]}]
    out = both(tmpfs, ["sh", "-c", "stat -c '%n %a' /new /etc; wc -l < /etc/passwd"])
    assert out["pyrunc"] == out["runc"] == (0, "/new 700\n/etc 755\n3\n", ""), out


def test_default_device_rules(make_bundle, tmp_path):
    """Podman sends only {allow: false}: the runtime's default rules apply (tun/tap among
    them in runc 1.1 and 1.2.4+)."""
    if not os.path.isdir("/sys/fs/cgroup/devices"):
        pytest.skip("no v1 devices controller on this host")
    b = make_bundle(["sleep", "100"])
    b.config["linux"]["resources"] = {"devices": [{"allow": False, "access": "rwm"}]}
    b.write()
    rules = {}
    for name, binary in (("runc", RUNC), ("pyrunc", PYRUNC)):
        cfg = copy.deepcopy(b.config)
        cfg["linux"]["cgroupsPath"] = b.config["linux"]["cgroupsPath"] + "-" + name
        with open(os.path.join(b.path, "config.json"), "w") as f:
            json.dump(cfg, f)
        root = str(tmp_path / f"root-{name}")
        p = _run([binary, "--root", root, "create", "-b", b.path, f"rules-{name}"])
        try:
            assert p.returncode == 0, p.stderr
            with open(f"/sys/fs/cgroup/devices{cfg['linux']['cgroupsPath']}/devices.list") as f:
                rules[name] = sorted(f.read().split("\n"))
        finally:
            _run([binary, "--root", root, "delete", "-f", f"rules-{name}"])
    assert rules["pyrunc"] == rules["runc"], rules
    assert "c 10:200 rwm" in rules["runc"]


def test_personality_with_seccomp(make_bundle, pyrunc):
    """process.personality LINUX32 with a seccomp filter: the filter is loaded with the
    64-bit syscall numbers (uname says i686 by then).  runc 1.1.5 predates personality
    (it ignores it), so this one is pyrunc's alone."""
    if os.uname().machine != "x86_64":
        pytest.skip("LINUX32 is the x86_64 personality tested here")
    b = make_bundle(["uname", "-m"])
    b.config["linux"]["personality"] = {"domain": "LINUX32"}
    b.config["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
                                    "syscalls": [{"names": ["kexec_load"], "action": "SCMP_ACT_ERRNO"}]}
    b.write()
    p = pyrunc("run", "-b", b.path, "pers")
    pyrunc("delete", "-f", "pers")
    assert (p.returncode, p.stdout) == (0, "i686\n"), p.stderr
