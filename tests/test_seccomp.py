"""linux.seccomp (config-linux.md "Seccomp"): filters seen from inside real containers."""

import errno
import json
import os
import select
import socket
import struct
import threading

import pytest

EDQUOT_TEXT = "Disk quota exceeded"


def seccomp_bundle(make_bundle, args, profile, user=None, nnp=True):
    b = make_bundle(args)
    b.config["root"]["readonly"] = False
    b.config["linux"]["seccomp"] = profile
    b.config["process"]["noNewPrivileges"] = nnp
    if user is not None:
        b.config["process"]["user"] = {"uid": user, "gid": user}
    return b.write()


def deny(names, errno_ret=errno.EDQUOT, **extra):
    rule = {"names": names, "action": "SCMP_ACT_ERRNO", "errnoRet": errno_ret, **extra}
    return {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [rule]}


def test_errno_rule_seen_inside(pyrunc, make_bundle):
    b = seccomp_bundle(make_bundle, ["sh", "-c", "mkdir /tmp/a; echo rc=$?; grep -E '^(Seccomp|NoNewPrivs):' "
                                     "/proc/self/status"], deny(["mkdir", "mkdirat"]))
    p = pyrunc("run", "-b", b.path, "errno")
    assert p.returncode == 0, p.stderr
    assert f"can't create directory '/tmp/a': {EDQUOT_TEXT}" in p.stderr
    assert "rc=1" in p.stdout and "Seccomp:\t2" in p.stdout and "NoNewPrivs:\t1" in p.stdout


def test_default_errno_ret_with_a_large_allow_list(pyrunc, make_bundle):
    """Default ERRNO with defaultErrnoRet; every other syscall of the native table allowed."""
    from pyrunc.runtime.linux.seccomp import syscall_names

    names = [n for n in syscall_names() if n not in ("mkdir", "mkdirat")]
    assert len(names) > 300
    profile = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": errno.EDQUOT,
               "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
               "syscalls": [{"names": names, "action": "SCMP_ACT_ALLOW"}]}
    b = seccomp_bundle(make_bundle, ["sh", "-c", "mkdir /tmp/a || echo denied; touch /tmp/f && echo touched"],
                       profile)
    p = pyrunc("run", "-b", b.path, "deferr")
    assert p.returncode == 0, p.stderr
    assert EDQUOT_TEXT in p.stderr and "denied" in p.stdout and "touched" in p.stdout


#: (op, value, valueTwo, a size that is refused, a size that is not) for ftruncate(fd, size).
OPERATOR_CASES = [
    ("SCMP_CMP_EQ", 1234, 0, 1234, 1235),
    ("SCMP_CMP_NE", 0, 0, 1, 0),
    ("SCMP_CMP_LT", 100, 0, 50, 200),
    ("SCMP_CMP_LE", 100, 0, 100, 101),
    ("SCMP_CMP_GE", 100, 0, 100, 99),
    ("SCMP_CMP_GT", 100, 0, 101, 100),
    ("SCMP_CMP_MASKED_EQ", 0xF000, 0x1000, 4096, 8192),
]


@pytest.mark.parametrize("op,value,value_two,refused,allowed", OPERATOR_CASES)
def test_argument_operators(pyrunc, make_bundle, op, value, value_two, refused, allowed):
    """busybox truncate calls ftruncate(fd, SIZE): the rule looks at argument 1."""
    arg = {"index": 1, "value": value, "valueTwo": value_two, "op": op}
    script = (f"truncate -s {refused} /tmp/r; echo refused=$?; truncate -s {allowed} /tmp/a; echo allowed=$?; "
              "stat -c %s /tmp/a")
    b = seccomp_bundle(make_bundle, ["sh", "-c", script], deny(["ftruncate"], errno.EFBIG, args=[arg]))
    p = pyrunc("run", "-b", b.path, "op")
    assert p.returncode == 0, p.stderr
    assert "refused=1" in p.stdout and "allowed=0" in p.stdout and p.stdout.split()[-1] == str(allowed)
    assert "File too large" in p.stderr


def test_two_conditions_on_one_argument_match_either(pyrunc, make_bundle):
    """As runc: two conditions on the same argument become two rules (either refuses)."""
    args = [{"index": 1, "value": 10, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 20, "op": "SCMP_CMP_EQ"}]
    script = "for n in 10 20 30; do truncate -s $n /tmp/f; echo $n=$?; done"
    b = seccomp_bundle(make_bundle, ["sh", "-c", script], deny(["ftruncate"], errno.EFBIG, args=args))
    p = pyrunc("run", "-b", b.path, "or")
    assert p.stdout.split() == ["10=1", "20=1", "30=0"], p.stderr


def test_personality_argument_rule(pyrunc, make_bundle):
    """linux32 calls personality(PER_LINUX32): refused when argument 0 is 8, allowed otherwise."""
    arg = {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}
    b = seccomp_bundle(make_bundle, ["sh", "-c", "linux32 uname -m; echo rc=$?; linux64 uname -m"],
                       deny(["personality"], errno.EPERM, args=[arg]))
    p = pyrunc("run", "-b", b.path, "pers")
    assert "rc=1" in p.stdout and "x86_64" in p.stdout and "i686" not in p.stdout, (p.stdout, p.stderr)


@pytest.mark.parametrize("action", ["SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD"])
def test_kill_actions(pyrunc, make_bundle, action):
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": action}]}
    b = seccomp_bundle(make_bundle, ["mkdir", "/tmp/x"], profile)
    p = pyrunc("run", "-b", b.path, "kill")
    assert p.returncode == 128 + 31, (p.returncode, p.stderr)  # SIGSYS
    assert not os.path.exists(os.path.join(b.rootfs, "tmp", "x"))


def test_trap_delivers_sigsys_to_a_handler(pyrunc, make_bundle):
    """TRAP raises SIGSYS, which the shell can catch (KILL could not be)."""
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["umask"], "action": "SCMP_ACT_TRAP"}]}
    b = seccomp_bundle(make_bundle, ["sh", "-c", "trap 'echo trapped' SYS; umask 077; echo after"], profile)
    p = pyrunc("run", "-b", b.path, "trap")
    assert p.returncode == 0 and p.stdout.split() == ["trapped", "after"], (p.stdout, p.stderr)


def test_trace_without_a_tracer_is_enosys(pyrunc, make_bundle):
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_TRACE"}]}
    b = seccomp_bundle(make_bundle, ["mkdir", "/tmp/x"], profile)
    p = pyrunc("run", "-b", b.path, "trace")
    assert p.returncode == 1 and "Function not implemented" in p.stderr, p.stderr


def test_log_action_allows_and_logs(pyrunc, make_bundle):
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_LOG"}]}
    b = seccomp_bundle(make_bundle, ["sh", "-c", "mkdir /tmp/logged && echo made"], profile)
    p = pyrunc("run", "-b", b.path, "log")
    assert p.returncode == 0 and "made" in p.stdout, p.stderr
    assert os.path.isdir(os.path.join(b.rootfs, "tmp", "logged"))


def test_flags_reach_seccomp(pyrunc, make_bundle, tmp_path):
    """The flags given to seccomp(2) (runc's debug line): LOG=2, SPEC_ALLOW=4; no flags
    at all means SPEC_ALLOW, as runc; [] means none."""
    cases = [(["SECCOMP_FILTER_FLAG_LOG"], 2), (["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"], 6),
             (None, 4), ([], 0), (["SECCOMP_FILTER_FLAG_TSYNC"], 1)]
    for i, (flags, value) in enumerate(cases):
        profile = deny(["mkdir", "mkdirat"])
        if flags is not None:
            profile["flags"] = flags
        b = seccomp_bundle(make_bundle, ["sh", "-c", "mkdir /tmp/x || echo refused"], profile)
        log = tmp_path / f"log{i}"
        p = pyrunc("--debug", "--log", str(log), "run", "-b", b.path, f"flags{i}")
        assert p.returncode == 0 and "refused" in p.stdout, p.stderr
        assert f"seccomp filter flags: {value}" in log.read_text(), (flags, log.read_text())


class Listener:
    """A seccomp agent: takes the listener fd and the state from listenerPath, then answers
    ``answers`` notifications in turn (an errno, or 0: let the call continue), then closes."""

    RECV = 0xC0502100  # SECCOMP_IOCTL_NOTIF_RECV, struct seccomp_notif (80 bytes)
    SEND = 0xC0182101  # SECCOMP_IOCTL_NOTIF_SEND, struct seccomp_notif_resp (24 bytes)
    CONTINUE = 1  # SECCOMP_USER_NOTIF_FLAG_CONTINUE

    def __init__(self, path: str, answers: list[int]) -> None:
        self.path = path
        self.answers = answers
        self.state: dict = {}
        self.fd_link = ""
        self.syscalls: list[int] = []
        self.error: BaseException | None = None
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(1)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.server.settimeout(30)
            conn, _ = self.server.accept()
            with conn:
                msg, anc, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(4))
                fd = struct.unpack("i", anc[0][2][:4])[0]
                data = msg
                while True:
                    more = conn.recv(65536)
                    if not more:
                        break
                    data += more
            self.state = json.loads(data)
            self.fd_link = os.readlink(f"/proc/self/fd/{fd}")
            try:
                for answer in self.answers:
                    self._answer(fd, answer)
            finally:
                os.close(fd)
        except BaseException as e:  # reported by the test
            self.error = e
        finally:
            self.server.close()

    def _answer(self, fd: int, answer: int) -> None:
        import fcntl

        p = select.poll()
        p.register(fd, select.POLLIN)
        if not p.poll(20000):
            raise TimeoutError("no seccomp notification")
        buf = bytearray(80)
        fcntl.ioctl(fd, self.RECV, buf, True)
        nid, _pid, _flags, nr = struct.unpack_from("=QIIi", buf)
        self.syscalls.append(nr)
        if answer:
            resp = struct.pack("=QqiI", nid, 0, -answer, 0)
        else:
            resp = struct.pack("=QqiI", nid, 0, 0, self.CONTINUE)
        fcntl.ioctl(fd, self.SEND, bytearray(resp), True)

    def join(self) -> None:
        self.thread.join(30)
        if self.error is not None:
            raise self.error


def notify_profile(listener_path: str, flags=None) -> dict:
    prof = {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": listener_path, "listenerMetadata": "agent-data",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}
    if flags is not None:
        prof["flags"] = flags
    return prof


@pytest.mark.parametrize("flags", [None, ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]])
def test_notify_listener_answers(pyrunc, make_bundle, tmp_path, flags):
    """The agent refuses the first mkdir (EDQUOT), lets the second continue; once it has
    closed the listener, a notified call fails with ENOSYS."""
    path = str(tmp_path / "agent.sock")
    agent = Listener(path, [errno.EDQUOT, 0])
    script = "mkdir /tmp/a; echo a=$?; mkdir /tmp/b; echo b=$?; sleep 1; mkdir /tmp/c; echo c=$?"
    b = seccomp_bundle(make_bundle, ["sh", "-c", script], notify_profile(path, flags))
    p = pyrunc("run", "-b", b.path, "notify")
    agent.join()
    assert p.stdout.split() == ["a=1", "b=0", "c=1"], (p.stdout, p.stderr)
    assert EDQUOT_TEXT in p.stderr and "Function not implemented" in p.stderr
    assert agent.fd_link == "anon_inode:seccomp notify"
    st = agent.state
    assert st["fds"] == ["seccompFd"] and st["metadata"] == "agent-data" and st["ociVersion"] == "1.3.0"
    assert st["state"]["id"] == "notify" and st["state"]["status"] == "creating"
    assert st["state"]["bundle"] == b.path and st["pid"] == st["state"]["pid"] > 0
    assert os.path.isdir(os.path.join(b.rootfs, "tmp", "b")) and not os.path.exists(os.path.join(b.rootfs, "tmp", "a"))


def test_notify_without_a_listening_agent_fails_create(pyrunc, make_bundle, tmp_path):
    """runtime.md: if sending to listenerPath fails, create fails, and leaves nothing."""
    b = seccomp_bundle(make_bundle, ["true"], notify_profile(str(tmp_path / "nobody.sock")))
    p = pyrunc("create", "-b", b.path, "noagent")
    assert p.returncode == 1
    assert "nobody.sock" in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr


def seccomp_status(text: str) -> dict:
    return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)


@pytest.mark.parametrize("nnp", [True, False])
def test_non_root_user_both_load_orders(pyrunc, make_bundle, nnp):
    """uid 1000 with the default capabilities: with noNewPrivileges the filter is loaded
    last; without it, before the capabilities go (it needs CAP_SYS_ADMIN then)."""
    script = "grep -E '^(Seccomp|NoNewPrivs|Uid|CapEff):' /proc/self/status; mkdir /tmp/u; echo rc=$?"
    b = seccomp_bundle(make_bundle, ["sh", "-c", script], deny(["mkdir", "mkdirat"]), user=1000, nnp=nnp)
    os.chmod(os.path.join(b.rootfs, "tmp"), 0o1777)
    p = pyrunc("run", "-b", b.path, "user")
    assert p.returncode == 0, p.stderr
    f = seccomp_status(p.stdout)
    assert f["Seccomp"] == "2" and f["NoNewPrivs"] == ("1" if nnp else "0")
    assert f["Uid"].split()[0] == "1000" and f["CapEff"] == "0000000000000000"
    assert "rc=1" in p.stdout and EDQUOT_TEXT in p.stderr


@pytest.mark.parametrize("nnp", [True, False])
def test_exec_gets_the_filter(pyrunc, make_bundle, tmp_path, nnp):
    b = seccomp_bundle(make_bundle, ["sleep", "1000"], deny(["mkdir", "mkdirat"]), user=1000, nnp=nnp)
    pyrunc("run", "-d", "-b", b.path, "ex", check=True)
    try:
        p = pyrunc("exec", "ex", "sh", "-c", "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; mkdir /tmp/e")
        f = seccomp_status(p.stdout)
        assert f["Seccomp"] == "2" and f["NoNewPrivs"] == ("1" if nnp else "0"), p.stdout
        assert p.returncode == 1 and EDQUOT_TEXT in p.stderr
        # With --process, the filter still comes from the container's config.
        proc = tmp_path / "proc.json"
        proc.write_text(json.dumps({"args": ["mkdir", "/tmp/e"], "cwd": "/", "user": {"uid": 1000, "gid": 1000},
                                    "noNewPrivileges": nnp, "capabilities": {}}))
        p = pyrunc("exec", "-p", str(proc), "ex")
        assert p.returncode == 1 and EDQUOT_TEXT in p.stderr, p.stderr
    finally:
        pyrunc("delete", "--force", "ex")


def test_exec_hands_its_listener_over(pyrunc, make_bundle, tmp_path):
    path = str(tmp_path / "agent.sock")
    agent = Listener(path, [])  # the init's listener: taken and closed at once
    b = seccomp_bundle(make_bundle, ["sleep", "1000"], notify_profile(path))
    pyrunc("run", "-d", "-b", b.path, "exn", check=True)
    try:
        agent.join()
        os.unlink(path)
        agent2 = Listener(path, [errno.EDQUOT])
        p = pyrunc("exec", "exn", "mkdir", "/tmp/x")
        agent2.join()
        assert p.returncode == 1 and EDQUOT_TEXT in p.stderr, p.stderr
        st = agent2.state
        assert st["state"]["status"] == "running" and st["pid"] != st["state"]["pid"]
    finally:
        pyrunc("delete", "--force", "exn")


BAD = [
    ({"defaultAction": "SCMP_ACT_FOO"}, 'linux.seccomp.defaultAction: unknown seccomp action "SCMP_ACT_FOO"'),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ALLOW"},
                                                      {"names": ["mkdir"], "action": "SCMP_ACT_FOO"}]},
     'linux.seccomp.syscalls[1].action: unknown seccomp action "SCMP_ACT_FOO"'),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO",
                                                       "args": [{"index": 1, "value": 1, "op": "SCMP_CMP_BAD"}]}]},
     'linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator "SCMP_CMP_BAD"'),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO",
                                                       "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]},
     "linux.seccomp.syscalls[0].args[0].index: 6 is out of range (maximum 5)"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"]},
     'linux.seccomp.architectures[1]: unknown seccomp architecture "SCMP_ARCH_VAX"'),
    ({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_NOPE"]},
     'linux.seccomp.flags[0]: unknown seccomp flag "SECCOMP_FILTER_FLAG_NOPE"'),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]},
     "linux.seccomp.listenerPath: is required when a rule uses SCMP_ACT_NOTIFY"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]},
     "linux.seccomp.flags: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs an SCMP_ACT_NOTIFY rule"),
    ({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/run/x.sock"},
     "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/x.sock",
      "syscalls": [{"names": ["sendmsg"], "action": "SCMP_ACT_NOTIFY"}]},
     "linux.seccomp.syscalls[0].names[0]: SCMP_ACT_NOTIFY cannot be used for sendmsg"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "x"},
     "linux.seccomp.listenerMetadata: must not be set without listenerPath"),
    ({"defaultAction": "SCMP_ACT_KILL", "defaultErrnoRet": 5},
     "linux.seccomp.defaultErrnoRet: SCMP_ACT_KILL does not take an errno"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [], "action": "SCMP_ACT_ERRNO"}]},
     "linux.seccomp.syscalls[0].names: must contain at least one syscall name"),
    ({"syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}, "linux.seccomp.defaultAction: is required"),
]


@pytest.mark.parametrize("profile,message", BAD, ids=[m.split(":")[0] + str(i) for i, (_, m) in enumerate(BAD)])
def test_bad_profiles(pyrunc, make_bundle, profile, message):
    b = seccomp_bundle(make_bundle, ["true"], profile)
    p = pyrunc("create", "-b", b.path, "bad")
    assert p.returncode == 1
    lines = p.stderr.strip().splitlines()
    # The logfmt line quotes the message: its double quotes come escaped.
    assert len(lines) == 1 and message.replace('"', '\\"') in lines[0], p.stderr
    assert "Traceback" not in p.stderr


def test_unknown_syscall_name_is_a_warning(pyrunc, make_bundle):
    b = seccomp_bundle(make_bundle, ["sh", "-c", "mkdir /tmp/x; echo rc=$?"],
                       deny(["mkdir", "no_such_syscall_2099", "mkdirat"]))
    p = pyrunc("run", "-b", b.path, "unknown")
    assert p.returncode == 0 and "rc=1" in p.stdout, p.stderr
    assert "no_such_syscall_2099" not in p.stderr  # runc says it at debug level only
    p = pyrunc("--debug", "run", "-b", b.path, "unknown")
    assert p.returncode == 0 and "rc=1" in p.stdout, p.stderr
    assert 'linux.seccomp.syscalls[0].names[1]: unknown seccomp syscall \\"no_such_syscall_2099\\" ignored' \
        in p.stderr


def test_architecture_this_libseccomp_lacks_is_an_error(pyrunc, make_bundle):
    b = seccomp_bundle(make_bundle, ["true"], {"defaultAction": "SCMP_ACT_ALLOW",
                                               "architectures": ["SCMP_ARCH_LOONGARCH64"]})
    p = pyrunc("run", "-b", b.path, "loong")
    assert p.returncode == 1
    assert "linux.seccomp.architectures[0]: SCMP_ARCH_LOONGARCH64 is not supported by this libseccomp" in p.stderr


def test_features_lists_seccomp(pyrunc):
    f = json.loads(pyrunc("features", check=True).stdout)["linux"]["seccomp"]
    assert f["enabled"] is True
    assert "SCMP_ACT_NOTIFY" in f["actions"] and "SCMP_ACT_KILL_PROCESS" in f["actions"]
    assert "SCMP_CMP_MASKED_EQ" in f["operators"] and "SCMP_ARCH_X86_64" in f["archs"]
    assert "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" in f["supportedFlags"]
    assert set(f["supportedFlags"]) <= set(f["knownFlags"])


def test_no_seccomp_no_libseccomp(tmp_path):
    """Loading a config without linux.seccomp imports neither libseccomp nor the binding."""
    import subprocess
    import sys

    code = ("import sys; from pyrunc.spec.load import build; from pyrunc.spec.defaults import default_config; "
            f"build(default_config(), {str(tmp_path)!r}); "
            "print('pyrunc.runtime.linux.seccomp' in sys.modules, 'pyrunc.spec.seccomp' in sys.modules)")
    os.makedirs(tmp_path / "rootfs")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
