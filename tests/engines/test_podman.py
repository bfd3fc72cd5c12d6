"""Podman 4.3 (Debian) with pyrunc as its OCI runtime, runc as the control.

Every scenario runs under runc first and pyrunc second (the ``rt`` parameter) and
records a normalized observation: exit codes, output, what the container saw, what the
host shows.  The runc run checks the observation against what the scenario means; the
pyrunc run must observe the same as runc did.  After each run the host is checked: no
container, pod, conmon, runtime state or cgroup of it is left (podman_env.Podman.settle);
after the module, nothing of the private Podman at all (Podman.host_leaks).

Normalizing: container ids, the private directory and the runtime's name are replaced;
where runc says "error during container init:" pyrunc names the JSON path that failed
(``process.rlimits[1]:``), the project's rule for errors, so both are taken out.
"""

import json
import os
import re
import subprocess
import sys
import time
import uuid

import pytest

# podman_env sits beside this file (whether or not tests/engines becomes a package).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import podman_env  # noqa: E402
from podman_env import IMAGE, PAUSE_IMAGE  # noqa: E402

pytestmark = [pytest.mark.skipif(podman_env.missing() is not None, reason=str(podman_env.missing())),
              # the module's one Podman, on one worker; with the CRI tests, which share
              # libcni's /var/lib/cni (Podman 4.3 cannot move it)
              pytest.mark.xdist_group("cni")]

_RUNC: dict = {}


@pytest.fixture(scope="module")
def podman(busybox_rootfs):
    p = podman_env.Podman(busybox_rootfs)
    try:
        p.start()
        yield p
    finally:
        p.close()
    leaks = p.host_leaks()
    assert not leaks, f"the private Podman left: {leaks}"


@pytest.fixture(params=["runc", "pyrunc"])
def rt(request, podman):
    """The runtime under test; afterwards the host holds nothing of the scenario."""
    yield request.param
    left = podman.settle()
    if left:
        podman.remove_all()
    assert not left, f"left behind under {request.param}: {left}"


@pytest.fixture
def same(request, rt):
    """same(observe): observe(runtime) -> a normalized observation; under pyrunc it must
    equal runc's (taken from runc's run of this scenario, or made now)."""
    params = getattr(request.node, "callspec", None)
    key = (request.node.originalname,
           tuple(sorted((k, repr(v)) for k, v in (params.params.items() if params else []) if k != "rt")))

    def check(observe):
        obs = observe(rt)
        if rt == "runc":
            _RUNC[key] = obs
        else:
            ref = _RUNC.get(key)
            if ref is None:
                ref = observe("runc")
            assert obs == ref, f"pyrunc saw (left) what runc did not (right):\n{_diff(obs, ref)}"
        return obs
    return check


def _diff(a, b) -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        return "\n".join(f"  {k}: {a.get(k)!r}\n  {' ' * len(str(k))}  {b.get(k)!r}"
                         for k in sorted(set(a) | set(b), key=str) if a.get(k) != b.get(k))
    return f"  {a!r}\n  {b!r}"


def norm(podman, text: str) -> str:
    for name in podman_env.RUNTIMES:
        text = text.replace(podman.runtime_path(name), "RUNTIME")
    text = text.replace(podman.dir, "<dir>")
    text = re.sub(r"\bpyrunc\b", "runc", text)
    text = text.replace("error during container init: ", "")
    text = re.sub(r"\bprocess\.\w+(\[\d+\])?: ", "", text)
    text = re.sub(r"[0-9a-f]{64}", "<id>", text)
    text = re.sub(r"\b[0-9a-f]{12}\b", "<id>", text)
    return text.replace("\r\n", "\n")


def name() -> str:
    return "pt" + uuid.uuid4().hex[:10]


def host_cgroup(podman, cid: str, ctrl: str, file: str) -> str:
    with open(f"/sys/fs/cgroup/{ctrl}{podman.cgroup_parent}/libpod-{cid}/{file}") as f:
        return f.read().strip()


def inspect(podman, rt: str, what: str, fmt: str) -> str:
    return podman.check(rt, "inspect", "-f", fmt, what).strip()


def detached(podman, rt: str, *args: str) -> str:
    p = podman.run(rt, "-d", "--name", name(), *args)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


# -- run: output, exit codes and their texts ----------------------------------------------

def test_run_output_and_exit_status(podman, rt, same):
    def observe(r):
        p = podman.run(r, "--rm", IMAGE, "sh", "-c", "echo out; echo err >&2; exit 3")
        return {"rc": p.returncode, "out": p.stdout, "err": norm(podman, p.stderr)}
    obs = same(observe)
    assert obs == {"rc": 3, "out": "out\n", "err": "err\n"}


EXITS = {
    "true": (["true"], 0, ""),
    "exit-3": (["sh", "-c", "exit 3"], 3, ""),
    "not-executable": (["/etc/passwd"], 126, 'exec: "/etc/passwd": permission denied: OCI permission denied'),
    "a-directory": (["/etc"], 126, 'exec: "/etc": permission denied: OCI permission denied'),
    "not-in-path": (["nosuch"], 127, 'exec: "nosuch": executable file not found in $PATH: '
                    "OCI runtime attempted to invoke a command that was not found"),
    "no-such-file": (["/bin/nosuch"], 127, "stat /bin/nosuch: no such file or directory: "
                     "OCI runtime attempted to invoke a command that was not found"),
    # Above the hard limit this VM (without CAP_SYS_RESOURCE) allows: Podman reads
    # "operation not permitted" in the runtime's error and says "OCI permission denied".
    "rlimit-above-hard": (["--ulimit", "nofile=1048576:1048576", "--ulimit", "nproc=4096:4096", "true"], 126,
                          "error setting rlimit type 7: operation not permitted: OCI permission denied"),
}


@pytest.mark.parametrize("case", sorted(EXITS))
def test_exit_codes_and_texts(podman, rt, same, case):
    argv, code, text = EXITS[case]
    opts = argv[:-1] if argv[0].startswith("--") else []
    cmd = argv[len(opts):]

    def observe(r):
        p = podman.run(r, "--rm", *opts, IMAGE, *cmd)
        return {"rc": p.returncode, "err": norm(podman, p.stderr)}
    obs = same(observe)
    assert obs["rc"] == code
    assert text in obs["err"], obs


def test_run_interactive_tty(podman, rt, same):
    def observe(r):
        code, out = podman.in_pty(r, "run", "-it", "--rm", "--pull", "never", "--cgroup-parent",
                                  podman.cgroup_parent, IMAGE, "sh", "-c", "tty; test -t 0 && echo stdin-tty; exit 4")
        return {"rc": code, "out": norm(podman, out.decode(errors="replace"))}
    obs = same(observe)
    assert obs["rc"] == 4
    assert "/dev/pts/0\nstdin-tty\n" in obs["out"], obs


def test_tty_device_owner(podman, rt, same, request):
    def observe(r):
        p = podman.run(r, "--rm", "-t", IMAGE, "sh", "-c", "stat -c '%a %U %G' $(tty)")
        return {"rc": p.returncode, "out": norm(podman, p.stdout)}
    assert same(observe) == {"rc": 0, "out": "620 root tty\n"}


def test_run_stdin(podman, rt, same):
    def observe(r):
        p = podman(r, "run", "-i", "--rm", "--pull", "never", "--cgroup-parent", podman.cgroup_parent, IMAGE,
                   "sh", "-c", "tr a-z A-Z", input="hello podman\n")
        return {"rc": p.returncode, "out": p.stdout}
    assert same(observe) == {"rc": 0, "out": "HELLO PODMAN\n"}


# -- a detached container: exec, top, logs, wait, stop, kill, restart, pause --------------

def test_detached_exec(podman, rt, same):
    def observe(r):
        cid = detached(podman, r, IMAGE, "sleep", "1000")
        try:
            p = podman(r, "exec", cid, "sh", "-c", "echo exec-ok; tr '\\0' ' ' < /proc/1/cmdline; echo; id")
            bad = podman(r, "exec", cid, "nosuch")
            code = podman(r, "exec", cid, "sh", "-c", "exit 5").returncode
            user = podman(r, "exec", "--user", "1000:1000", "--workdir", "/tmp", cid, "sh", "-c", "id; pwd")
            tty_rc, tty_out = podman.in_pty(r, "exec", "-it", cid, "sh", "-c", "tty; exit 6")
            env = podman(r, "exec", "-e", "FOO=bar", cid, "sh", "-c", "echo $FOO")
            noexec = podman(r, "exec", cid, "/etc/passwd")
            nocwd = podman(r, "exec", "--workdir", "/nonexistent", cid, "pwd")
        finally:
            podman(r, "rm", "-f", "-t", "0", cid)
        return {"out": p.stdout, "rc": p.returncode, "bad_rc": bad.returncode, "bad": norm(podman, bad.stderr),
                "exit": code, "user": user.stdout, "tty_rc": tty_rc, "tty": norm(podman, tty_out.decode()),
                "env": env.stdout, "noexec": (noexec.returncode, norm(podman, noexec.stderr)),
                "nocwd": (nocwd.returncode, norm(podman, nocwd.stderr))}
    obs = same(observe)
    assert obs["out"] == "exec-ok\nsleep 1000 \nuid=0(root) gid=0(root)\n" and obs["rc"] == 0, obs
    assert obs["bad_rc"] == 127 and "executable file not found in $PATH" in obs["bad"], obs
    assert obs["exit"] == 5
    assert obs["user"] == "uid=1000(user) gid=1000(user)\n/tmp\n", obs
    assert obs["tty_rc"] == 6 and "/dev/pts/" in obs["tty"], obs
    assert obs["env"] == "bar\n"
    assert obs["noexec"][0] == 126 and "permission denied: OCI permission denied" in obs["noexec"][1], obs
    assert obs["nocwd"][0] == 127 and "no such file or directory" in obs["nocwd"][1], obs


def test_top_logs_wait(podman, rt, same):
    def observe(r):
        cid = detached(podman, r, IMAGE, "sh", "-c", "echo one; echo two >&2; sleep 1000")
        try:
            podman.wait_for("the container's output", lambda: "two" in podman(r, "logs", cid).stderr)
            top = podman.check(r, "top", cid, "user", "args")
            logs = podman(r, "logs", cid)
            pid = inspect(podman, r, cid, "{{.State.Pid}}")
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                host_cmd = f.read().replace(b"\0", b" ").decode()
        finally:
            podman(r, "rm", "-f", "-t", "0", cid)
        cid2 = detached(podman, r, IMAGE, "sh", "-c", "sleep 0.2; exit 9")
        waited = podman(r, "wait", cid2)
        podman(r, "rm", cid2)
        return {"top": top.split("\n"), "logs_out": logs.stdout, "logs_err": logs.stderr, "host_cmd": host_cmd,
                "wait": waited.stdout, "wait_rc": waited.returncode}
    obs = same(observe)
    assert obs["top"][:2] == ["USER        COMMAND", "root        sh -c echo one; echo two >&2; sleep 1000"] or \
        obs["top"][1].split(None, 1)[0] == "root", obs
    assert obs["logs_out"] == "one\n" and obs["logs_err"] == "two\n", obs
    assert obs["wait"] == "9\n" and obs["wait_rc"] == 0, obs


def test_stop_term_then_kill(podman, rt, same):
    def observe(r):
        # sleep as pid 1 has no TERM handler: the kernel drops TERM, Podman kills after -t.
        deaf = detached(podman, r, IMAGE, "sleep", "1000")
        t0 = time.monotonic()
        podman.check(r, "stop", "-t", "1", deaf)
        took = time.monotonic() - t0
        deaf_rc = inspect(podman, r, deaf, "{{.State.ExitCode}}")
        trap = detached(podman, r, IMAGE, "sh", "-c", "trap 'echo got-term; exit 7' TERM; "
                        "while :; do sleep 0.1; done")
        podman.wait_for("the trap", lambda: podman(r, "top", trap, "args").stdout.count("\n") >= 2)
        t0 = time.monotonic()
        podman.check(r, "stop", "-t", "10", trap)
        quick = time.monotonic() - t0 < 5
        trap_rc = inspect(podman, r, trap, "{{.State.ExitCode}}")
        logs = podman(r, "logs", trap).stdout
        status = inspect(podman, r, trap, "{{.State.Status}}")
        podman(r, "rm", deaf, trap)
        return {"deaf_rc": deaf_rc, "deaf_waited": took >= 1, "trap_rc": trap_rc, "quick": quick, "logs": logs,
                "status": status}
    assert same(observe) == {"deaf_rc": "137", "deaf_waited": True, "trap_rc": "7", "quick": True,
                             "logs": "got-term\n", "status": "exited"}


def test_kill_and_signal(podman, rt, same):
    def observe(r):
        cid = detached(podman, r, IMAGE, "sh", "-c", "trap 'echo got-usr1' USR1; while :; do sleep 0.1; done")
        podman.wait_for("the trap", lambda: podman(r, "top", cid, "args").stdout.count("\n") >= 2)
        podman.check(r, "kill", "-s", "USR1", cid)
        podman.wait_for("USR1 handled", lambda: "got-usr1" in podman(r, "logs", cid).stdout)
        running = inspect(podman, r, cid, "{{.State.Status}}")
        podman.check(r, "kill", cid)
        podman.check(r, "wait", cid)
        rc = inspect(podman, r, cid, "{{.State.ExitCode}}")
        podman(r, "rm", cid)
        return {"after_usr1": running, "rc": rc}
    assert same(observe) == {"after_usr1": "running", "rc": "137"}


def test_restart(podman, rt, same):
    def observe(r):
        cid = detached(podman, r, IMAGE, "sh", "-c", "trap 'exit 0' TERM; echo started; "
                       "while :; do sleep 0.1; done")
        podman.wait_for("started", lambda: "started" in podman(r, "logs", cid).stdout)
        pid1 = inspect(podman, r, cid, "{{.State.Pid}}")
        podman.check(r, "restart", "-t", "5", cid)
        podman.wait_for("restarted", lambda: podman(r, "logs", cid).stdout.count("started") == 2)
        pid2 = inspect(podman, r, cid, "{{.State.Pid}}")
        status = inspect(podman, r, cid, "{{.State.Status}}")
        podman(r, "rm", "-f", "-t", "0", cid)
        return {"new_pid": pid1 != pid2, "status": status}
    assert same(observe) == {"new_pid": True, "status": "running"}


def test_pause_unpause(podman, rt, same):
    def observe(r):
        cid = detached(podman, r, IMAGE, "sleep", "1000")
        podman.check(r, "pause", cid)
        paused = inspect(podman, r, cid, "{{.State.Status}}")
        frozen = host_cgroup(podman, cid, "freezer", "freezer.state")
        pid = inspect(podman, r, cid, "{{.State.Pid}}")
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        podman.check(r, "unpause", cid)
        running = inspect(podman, r, cid, "{{.State.Status}}")
        thawed = host_cgroup(podman, cid, "freezer", "freezer.state")
        ex = podman(r, "exec", cid, "echo", "alive").stdout
        podman(r, "rm", "-f", "-t", "0", cid)
        return {"paused": paused, "frozen": frozen, "task": state in "DS", "running": running,
                "thawed": thawed, "exec": ex}
    assert same(observe) == {"paused": "paused", "frozen": "FROZEN", "task": True, "running": "running",
                             "thawed": "THAWED", "exec": "alive\n"}


# -- resources, inside and on the host -------------------------------------------------------

LIMIT_ARGS = ["--memory", "64m", "--pids-limit", "50", "--cpus", "0.5", "--cpu-shares", "512"]
LIMIT_FILES = [("memory", "memory.limit_in_bytes"), ("pids", "pids.max"), ("cpu", "cpu.cfs_quota_us"),
               ("cpu", "cpu.cfs_period_us"), ("cpu", "cpu.shares")]
LIMITS = ["67108864", "50", "50000", "100000", "512"]


def test_limits_on_the_host(podman, rt, same):
    def observe(r):
        cid = detached(podman, r, *LIMIT_ARGS, IMAGE, "sleep", "1000")
        try:
            return [host_cgroup(podman, cid, c, f) for c, f in LIMIT_FILES]
        finally:
            podman(r, "rm", "-f", "-t", "0", cid)
    assert same(observe) == LIMITS


def test_limits_seen_inside_with_cgroupns(podman, rt, same):
    script = "; ".join(f"cat /sys/fs/cgroup/{c}/{f}" for c, f in LIMIT_FILES)

    def observe(r):
        p = podman.run(r, "--rm", "--cgroupns", "private", *LIMIT_ARGS, IMAGE, "sh", "-c", script)
        return {"rc": p.returncode, "out": p.stdout.split(), "err": p.stderr}
    assert same(observe) == {"rc": 0, "out": LIMITS, "err": ""}


def test_limits_seen_inside_without_cgroupns(podman, rt, same, request):
    script = "; ".join(f"cat /sys/fs/cgroup/{c}/{f}" for c, f in LIMIT_FILES) + \
        "; grep cgroup /proc/mounts | cut -d' ' -f1-4"

    def observe(r):
        p = podman.run(r, "--rm", *LIMIT_ARGS, IMAGE, "sh", "-c", script)
        return {"rc": p.returncode, "out": p.stdout.split("\n")}
    obs = same(observe)
    assert obs["rc"] == 0 and obs["out"][:5] == LIMITS, obs


def test_memory_limit_kills(podman, rt, same):
    def observe(r):
        # dd's one 64 MiB buffer does not fit in 32 MiB: the cgroup's OOM killer ends it.
        p = podman.run(r, "--rm", "--memory", "32m", "--memory-swap", "32m", IMAGE, "sh", "-c",
                       "dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo status=$?")
        return {"rc": p.returncode, "out": p.stdout}
    assert same(observe) == {"rc": 0, "out": "status=137\n"}


def test_pids_limit_enforced(podman, rt, same):
    def observe(r):
        # A child shell forks until it cannot (ash then exits 2); the rest is builtins, as
        # no fork is left: the shell, its child's three sleeps.
        p = podman.run(r, "--rm", "--cgroupns", "private", "--pids-limit", "5", IMAGE, "sh", "-c",
                       "sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep 5 & done' 2>/dev/null; echo child=$?; "
                       "read n < /sys/fs/cgroup/pids/pids.current; echo pids=$n")
        return {"rc": p.returncode, "out": p.stdout.split()}
    assert same(observe) == {"rc": 0, "out": ["child=2", "pids=4"]}


# -- the container's view: mounts, network, volumes ----------------------------------------

def _mount_table(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        f = line.split()
        if len(f) < 4:
            continue
        if f[2] == "overlay":
            f[3] = re.sub(r"(lowerdir|upperdir|workdir)=[^,]*", r"\1=...", f[3])
        out.append(" ".join(f[:4]))
    # Sorted: Podman's own order of the files it binds (/etc/hostname, hosts, resolv.conf,
    # .containerenv) is not the same from one run to the next (seen under runc alone);
    # the order in which a runtime mounts a given config is the differential tier's.
    return sorted(out)


def test_mount_table(podman, rt, same):
    def observe(r):
        p = podman.run(r, "--rm", IMAGE, "cat", "/proc/self/mounts")
        return {"rc": p.returncode, "mounts": _mount_table(p.stdout)}
    obs = same(observe)
    assert obs["rc"] == 0
    assert "proc /proc/sys proc ro,nosuid,nodev,noexec,relatime" in obs["mounts"], obs


def test_network_modes(podman, rt, same):
    ns_inode = os.stat(f"/run/netns/{podman.netns}").st_ino

    def observe(r):
        none = podman.run(r, "--rm", "--network", "none", IMAGE, "sh", "-c", "ip -o link | cut -d: -f2")
        host = podman.run(r, "--rm", "--network", "host", IMAGE, "sh", "-c",
                          "readlink /proc/self/ns/net; hostname -i >/dev/null; ip -o link show lo | cut -d: -f2")
        bridge = podman.run(r, "--rm", IMAGE, "sh", "-c",
                            "ip -o -4 addr show eth0 | awk '{print $4}'; ip route | grep default")
        addr, _, route = bridge.stdout.partition("\n")
        return {"none": none.stdout.split(), "host": host.stdout.split(),
                "bridge_net": re.sub(r"\.\d+/", ".x/", addr), "route": route.strip(),
                "rcs": (none.returncode, host.returncode, bridge.returncode)}
    obs = same(observe)
    assert obs["none"] == ["lo"]
    assert obs["host"] == [f"net:[{ns_inode}]", "lo"], obs
    assert obs["bridge_net"] == "10.89.77.x/24" and obs["route"].startswith("default via 10.89.77.1"), obs
    assert obs["rcs"] == (0, 0, 0)


def test_bridge_containers_talk(podman, rt, same):
    def observe(r):
        server = detached(podman, r, IMAGE, "nc", "-l", "-p", "7000")
        try:
            ip = inspect(podman, r, server, "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}")
            p = podman.run(r, "--rm", IMAGE, "sh", "-c", f"for i in 1 2 3 4 5 6 7 8 9 10; do "
                           f"echo hello-over-the-bridge | nc -w 2 {ip} 7000 && exit 0; sleep 0.2; done; exit 1")
            waited = podman(r, "wait", server, timeout=20).stdout
            logs = podman(r, "logs", server).stdout
        finally:
            podman(r, "rm", "-f", "-t", "0", server)
        return {"client": p.returncode, "server_rc": waited, "got": logs, "subnet": ip.rsplit(".", 1)[0]}
    assert same(observe) == {"client": 0, "server_rc": "0\n", "got": "hello-over-the-bridge\n",
                             "subnet": "10.89.77"}


def test_volumes(podman, rt, same):
    def observe(r):
        d = os.path.join(podman.dir, "vol-" + name())
        os.makedirs(d)
        with open(os.path.join(d, "in"), "w") as f:
            f.write("from-the-host\n")
        rw = podman.run(r, "--rm", "-v", f"{d}:/data", IMAGE, "sh", "-c", "cat /data/in; echo from-inside > /data/out")
        with open(os.path.join(d, "out")) as f:
            seen = f.read()
        ro = podman.run(r, "--rm", "-v", f"{d}:/data:ro", IMAGE, "sh", "-c", "touch /data/x")
        vol = name()
        podman.check(r, "volume", "create", vol)
        w = podman.run(r, "--rm", "-v", f"{vol}:/v", IMAGE, "sh", "-c", "echo kept > /v/f")
        rd = podman.run(r, "--rm", "-v", f"{vol}:/v:ro", IMAGE, "sh", "-c", "cat /v/f; grep ' /v ' /proc/mounts | "
                        "cut -d' ' -f4 | cut -d, -f1")
        podman.check(r, "volume", "rm", vol)
        return {"rw": (rw.returncode, rw.stdout), "host_sees": seen, "ro": (ro.returncode, ro.stderr),
                "named": (w.returncode, rd.returncode, rd.stdout), "host_x": os.path.exists(os.path.join(d, "x"))}
    assert same(observe) == {"rw": (0, "from-the-host\n"), "host_sees": "from-inside\n",
                             "ro": (1, "touch: /data/x: Read-only file system\n"),
                             "named": (0, 0, "kept\nro\n"), "host_x": False}


def test_read_only_and_tmpfs(podman, rt, same):
    def observe(r):
        p = podman.run(r, "--rm", "--read-only", "--tmpfs", "/scratch:size=1m,mode=1777", IMAGE, "sh", "-c",
                       "touch /x 2>&1; touch /tmp/ok && echo tmp-writable; echo data > /scratch/f && echo scratch-ok; "
                       "grep -E ' / | /scratch | /tmp ' /proc/mounts | cut -d' ' -f2-4 | "
                       "sed 's/lowerdir=[^ ]*//' | sort")
        # sorted: Podman orders its own mounts differently from one container to the next.
        return {"rc": p.returncode, "out": p.stdout.split("\n")}
    obs = same(observe)
    assert obs["out"][:3] == ["touch: /x: Read-only file system", "tmp-writable", "scratch-ok"], obs
    assert any(line.startswith("/scratch tmpfs rw,") and "size=1024k" in line for line in obs["out"]), obs


# -- identity and privilege -------------------------------------------------------------------

USERS = {"uid-gid": ["--user", "1000:1000"], "by-name": ["--user", "nobody"],
         "group-add": ["--user", "1000", "--group-add", "5"]}


@pytest.mark.parametrize("case", sorted(USERS))
def test_user(podman, rt, same, case):
    def observe(r):
        p = podman.run(r, "--rm", *USERS[case], IMAGE, "sh", "-c", "id; touch /root/x 2>&1; echo $HOME")
        return {"rc": p.returncode, "out": p.stdout}
    obs = same(observe)
    assert obs["rc"] == 0 and "Permission denied" in obs["out"], obs


CAPS = {"default": [], "drop-all": ["--cap-drop", "ALL"],
        "drop-all-add-two": ["--cap-drop", "ALL", "--cap-add", "NET_ADMIN", "--cap-add", "CHOWN"],
        "add-sys-admin": ["--cap-add", "SYS_ADMIN"]}


@pytest.mark.parametrize("case", sorted(CAPS))
def test_capabilities(podman, rt, same, case):
    def observe(r):
        p = podman.run(r, "--rm", *CAPS[case], IMAGE, "grep", "-E", "^(Cap|NoNewPrivs|Seccomp:)", "/proc/self/status")
        return {"rc": p.returncode, "status": p.stdout}
    obs = same(observe)
    assert obs["rc"] == 0
    if case == "drop-all":
        assert "CapEff:\t0000000000000000" in obs["status"]
    if case == "drop-all-add-two":
        assert "CapEff:\t0000000000001001" in obs["status"], obs


def test_privileged(podman, rt, same):
    def observe(r):
        p = podman.run(r, "--rm", "--privileged", IMAGE, "sh", "-c",
                       "grep -E '^(Cap|NoNewPrivs|Seccomp:)' /proc/self/status; ls /dev | sort | tr '\\n' ' '; echo; "
                       "grep -E ' /sys | /proc/sys ' /proc/mounts | cut -d' ' -f2-4")
        return {"rc": p.returncode, "out": p.stdout, "err": norm(podman, p.stderr)}
    obs = same(observe)
    assert obs["rc"] == 0, obs
    assert "Seccomp:\t0" in obs["out"] and "/sys sysfs rw" in obs["out"], obs
    # The host's devices are there (Podman lists them all with their st_mode as fileMode).
    assert " fuse " in obs["out"] or not os.path.exists("/dev/fuse"), obs


def test_device_fuse(podman, rt, same):
    if not os.path.exists("/dev/fuse"):
        pytest.skip("this host has no /dev/fuse")

    def observe(r):
        cid = detached(podman, r, "--device", "/dev/fuse", "--device", "/dev/kmsg:/dev/mykmsg:r", IMAGE, "sleep",
                       "1000")
        try:
            inside = podman(r, "exec", cid, "sh", "-c", "stat -c '%n %A %t:%T' /dev/fuse /dev/mykmsg; "
                            "echo x 2>/dev/null > /dev/mykmsg || echo write-refused")
            rules = sorted(host_cgroup(podman, cid, "devices", "devices.list").split("\n"))
        finally:
            podman(r, "rm", "-f", "-t", "0", cid)
        return {"inside": inside.stdout, "rules": rules}
    obs = same(observe)
    assert "/dev/fuse crw------- a:e5" in obs["inside"] or "/dev/fuse crw-rw-rw- a:e5" in obs["inside"], obs
    assert "c 10:229 rwm" in obs["rules"] and "c 1:11 r" in obs["rules"], obs
    assert obs["inside"].endswith("write-refused\n"), obs


def test_sysctl(podman, rt, same):
    def observe(r):
        p = podman.run(r, "--rm", "--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "kernel.shm_rmid_forced=1",
                       "--sysctl", "net.ipv4.ping_group_range=0 1000", IMAGE, "sh", "-c",
                       "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shm_rmid_forced "
                       "/proc/sys/net/ipv4/ping_group_range")
        return {"rc": p.returncode, "out": p.stdout.split()}
    assert same(observe) == {"rc": 0, "out": ["1", "1", "0", "1000"]}


def test_ulimit(podman, rt, same):
    def observe(r):
        p = podman.run(r, "--rm", "--ulimit", "nofile=100:200", "--ulimit", "nproc=500:600", "--ulimit",
                       "core=0:0", IMAGE, "sh", "-c", "ulimit -n; ulimit -Hn; ulimit -u; ulimit -Hu; ulimit -c")
        return {"rc": p.returncode, "out": p.stdout.split()}
    assert same(observe) == {"rc": 0, "out": ["100", "200", "500", "600", "0"]}


def test_hostname_env_workdir(podman, rt, same):
    def observe(r):
        p = podman.run(r, "--rm", "--hostname", "pod-host", "-e", "A=1", "--workdir", "/tmp", IMAGE,
                       "sh", "-c", "hostname; echo $A; pwd; tr '\\0' ' ' < /proc/1/cmdline")
        return {"rc": p.returncode, "out": p.stdout}
    obs = same(observe)
    assert obs["out"].startswith("pod-host\n1\n/tmp\n"), obs


# -- a pod: the containers share the infra container's namespaces ----------------------------

def test_pod_shares_infra_netns(podman, rt, same):
    def observe(r):
        pod = "pod" + uuid.uuid4().hex[:8]
        podman.check(r, "pod", "create", "--name", pod, "--cgroup-parent", podman.cgroup_parent,
                     "--infra-image", PAUSE_IMAGE)
        try:
            podman.check(r, "pod", "start", pod)
            infra = json.loads(podman.check(r, "pod", "inspect", pod))["InfraContainerID"]
            infra_pid = inspect(podman, r, infra, "{{.State.Pid}}")
            infra_net = os.readlink(f"/proc/{infra_pid}/ns/net")
            infra_ipc = os.readlink(f"/proc/{infra_pid}/ns/ipc")
            server = podman.check(r, "run", "-d", "--pull", "never", "--pod", pod, IMAGE,
                                  "nc", "-l", "-p", "7001").strip()
            p = podman(r, "run", "--rm", "--pull", "never", "--pod", pod, IMAGE, "sh", "-c",
                       "readlink /proc/self/ns/net; hostname; readlink /proc/self/ns/ipc; "
                       "for i in 1 2 3 4 5 6 7 8 9 10; do "
                       "echo hello-in-the-pod | nc -w 2 127.0.0.1 7001 && exit 0; sleep 0.2; done; exit 1")
            podman(r, "wait", server, timeout=20)
            got = podman(r, "logs", server).stdout
            t0 = time.monotonic()
            podman.check(r, "pod", "stop", "-t", "10", pod)
            quick = time.monotonic() - t0 < 5
            infra_rc = inspect(podman, r, infra, "{{.State.ExitCode}}")
        finally:
            pod_id = podman(r, "pod", "inspect", "-f", "{{.ID}}", pod).stdout.strip()
            podman(r, "pod", "rm", "-f", "-t", "0", pod)
            # Podman 4.3 (cgroupfs, v1) leaves the pod's name=systemd and cgroup2
            # directories, under runc as under pyrunc: not the runtime's to remove.
            podman.remove_cgroup(pod_id)
        net, host, ipc = (p.stdout.split("\n") + ["", "", ""])[:3]
        return {"rc": p.returncode, "same_netns": net == infra_net, "hostname": host == pod,
                "same_ipc": ipc == infra_ipc, "got": got,
                "stop_quick": quick, "infra_rc": infra_rc}
    assert same(observe) == {"rc": 0, "same_netns": True, "hostname": True, "same_ipc": True,
                             "got": "hello-in-the-pod\n",
                             "stop_quick": True, "infra_rc": "0"}


# -- how a user names the runtime --------------------------------------------------------------

def test_runtime_named_in_containers_conf(podman, rt, same):
    """``[engine.runtimes] pyrunc = ["/path/to/pyrunc"]`` then ``--runtime pyrunc``: the
    name, not a path, picks the runtime, and the container records it."""
    def observe(r):
        argv = podman.argv(r, "run", "-d", "--pull", "never", "--cgroup-parent", podman.cgroup_parent, IMAGE,
                           "sleep", "1000")
        argv[argv.index("--runtime") + 1] = r
        p = subprocess.run(argv, capture_output=True, text=True, timeout=podman_env.TIMEOUT, env=podman.env(),
                           stdin=subprocess.DEVNULL)
        assert p.returncode == 0, p.stderr
        cid = p.stdout.strip()
        try:
            recorded = inspect(podman, r, cid, "{{.OCIRuntime}}")
            state = os.listdir(podman.state_dir(r))
        finally:
            podman(r, "rm", "-f", "-t", "0", cid)
        return {"runtime_is_itself": recorded == r, "its_state": state == [cid]}
    assert same(observe) == {"runtime_is_itself": True, "its_state": True}


# -- more of the container's process and namespaces ---------------------------------------------

SECURITY = {"seccomp-unconfined": ["--security-opt", "seccomp=unconfined"],
            "no-new-privileges": ["--security-opt", "no-new-privileges"],
            "unmask-all": ["--security-opt", "unmask=ALL"],
            "mask-a-file": ["--security-opt", "mask=/etc/passwd"]}


@pytest.mark.parametrize("case", sorted(SECURITY))
def test_security_opt(podman, rt, same, case):
    def observe(r):
        p = podman.run(r, "--rm", *SECURITY[case], IMAGE, "sh", "-c",
                       "grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status; wc -c < /etc/passwd; "
                       "grep -c ' /proc/' /proc/mounts; true")
        return {"rc": p.returncode, "out": p.stdout.split()}
    obs = same(observe)
    assert obs["rc"] == 0, obs
    if case == "unmask-all":
        assert obs["out"][5] == "0", obs
    if case == "mask-a-file":
        assert obs["out"][4] == "0", obs


def test_host_namespaces(podman, rt, same):
    def observe(r):
        p = podman.run(r, "--rm", "--pid", "host", "--ipc", "host", "--uts", "host", IMAGE, "sh", "-c",
                       "for n in pid ipc uts; do readlink /proc/self/ns/$n; done; hostname")
        return {"rc": p.returncode, "out": p.stdout.split()}
    obs = same(observe)
    host = [os.readlink(f"/proc/self/ns/{n}") for n in ("pid", "ipc", "uts")] + [os.uname().nodename]
    assert obs == {"rc": 0, "out": host}


def test_oom_score_adj_and_shm_size(podman, rt, same):
    def observe(r):
        p = podman.run(r, "--rm", "--oom-score-adj", "500", "--shm-size", "16m", IMAGE, "sh", "-c",
                       "cat /proc/self/oom_score_adj; grep ' /dev/shm ' /proc/mounts | cut -d' ' -f4")
        return {"rc": p.returncode, "out": p.stdout.split()}
    obs = same(observe)
    assert obs["rc"] == 0 and obs["out"][0] == "500" and "size=16384k" in obs["out"][1], obs


def test_tmpfs_mount_mode(podman, rt, same):
    """--mount type=tmpfs has Podman's tmpcopyup: over a directory the image has, the
    tmpfs takes that directory's mode; over one made for it, its own ``mode=``."""
    def observe(r):
        p = podman.run(r, "--rm", "--mount", "type=tmpfs,dst=/new,tmpfs-mode=700", "--mount",
                       "type=tmpfs,dst=/etc,tmpfs-size=1m", IMAGE, "sh", "-c",
                       "stat -c '%n %a' /new /etc; cat /etc/passwd | wc -l")
        return {"rc": p.returncode, "out": p.stdout}
    assert same(observe) == {"rc": 0, "out": "/new 700\n/etc 755\n3\n"}


def test_program_that_cannot_exec(podman, rt, same):
    """A dynamic binary without its loader in the image: execve fails after the lookup,
    which runc reports as the program's own error ("exec PATH: ERRNO", status 1)."""
    if not os.path.exists("/lib64/ld-linux-x86-64.so.2") and not os.path.exists("/lib/ld-linux-aarch64.so.1"):
        pytest.skip("no dynamic loader on this host to leave out of the image")

    def observe(r):
        p = podman.run(r, "--rm", "-v", "/bin/true:/dyntrue:ro", IMAGE, "/dyntrue")
        cid = detached(podman, r, "-v", "/bin/true:/dyntrue:ro", IMAGE, "sleep", "1000")
        try:
            e = podman(r, "exec", cid, "/dyntrue")
        finally:
            podman(r, "rm", "-f", "-t", "0", cid)
        return {"rc": p.returncode, "err": norm(podman, p.stderr), "exec_rc": e.returncode,
                "exec_err": norm(podman, e.stderr)}
    assert same(observe) == {"rc": 1, "err": "exec /dyntrue: no such file or directory\n", "exec_rc": 1,
                             "exec_err": "exec /dyntrue: no such file or directory\n"}


def test_user_namespace(podman, rt, same, request):
    def observe(r):
        p = podman.run(r, "--rm", "--uidmap", "0:100000:65536", "--gidmap", "0:100000:65536", IMAGE, "sh", "-c",
                       "id; cat /proc/self/uid_map; touch /x && echo written")
        return {"rc": p.returncode, "out": p.stdout.split(), "err": norm(podman, p.stderr)}
    assert same(observe) == {"rc": 0, "out": ["uid=0(root)", "gid=0(root)", "0", "100000", "65536", "written"],
                             "err": ""}


def test_personality(podman, rt):
    """process.personality (runtime-spec 1.3.0, config-linux.md "Personality"): runc 1.1.5
    predates it and ignores it; pyrunc applies it, as runc 1.2 and later do.  A deliberate
    difference, so this test names each runtime's answer."""
    if os.uname().machine != "x86_64":
        pytest.skip("LINUX32 is the x86_64 personality tested here")
    p = podman.run(rt, "--rm", "--personality", "LINUX32", IMAGE, "uname", "-m")
    assert (p.returncode, p.stdout) == (0, {"runc": "x86_64\n", "pyrunc": "i686\n"}[rt]), p.stderr


def test_update_exec_options_stats(podman, rt, same):
    """podman update (runtime update), exec -d / --privileged / --preserve-fds, stats."""
    def observe(r):
        cid = detached(podman, r, "--memory", "64m", IMAGE, "sleep", "1000")
        try:
            up = podman(r, "update", "--memory", "128m", "--cpus", "0.5", cid)
            host = [host_cgroup(podman, cid, "memory", "memory.limit_in_bytes"),
                    host_cgroup(podman, cid, "cpu", "cpu.cfs_quota_us")]
            podman.check(r, "exec", "-d", cid, "sh", "-c", "echo detached > /tmp/d")
            podman.wait_for("exec -d", lambda: podman(r, "exec", cid, "cat", "/tmp/d").stdout == "detached\n")
            priv = podman(r, "exec", "--privileged", cid, "grep", "CapEff", "/proc/self/status").stdout
            # fd 3 of podman's is passed on (0-2, 3 and ls's own directory fd).
            argv = ["sh", "-c", 'exec "$@" 3</dev/null', "sh",
                    *podman.argv(r, "exec", "--preserve-fds", "1", cid, "sh", "-c", "ls /proc/self/fd | wc -l")]
            fds = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=podman.env(),
                                 timeout=podman_env.TIMEOUT).stdout
            stats = podman(r, "stats", "--no-stream", "--format", "{{.MemLimit}} {{.PIDs}}", cid).stdout
        finally:
            podman(r, "rm", "-f", "-t", "0", cid)
        return {"update": up.returncode, "host": host, "priv": priv, "fds": fds, "stats": stats}
    obs = same(observe)
    assert obs["update"] == 0 and obs["host"] == ["134217728", "50000"], obs
    assert obs["priv"].startswith("CapEff:") and obs["fds"] == "5\n", obs
    # Podman 4.3's stats shows the limit the container was created with, whatever the runtime.
    assert obs["stats"].split()[0] == "67108864", obs


def test_publish_and_restart_policy(podman, rt, same):
    def observe(r):
        server = detached(podman, r, "-p", "18081:7000", IMAGE, "sh", "-c", "echo served | nc -l -p 7000")
        try:
            got = ""
            deadline = time.monotonic() + 10
            while not got and time.monotonic() < deadline:
                got = subprocess.run(
                    ["nsenter", f"--net=/run/netns/{podman.netns}", "busybox", "nc", "-w", "2", "127.0.0.1", "18081"],
                    stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=10).stdout
                time.sleep(0.1)
        finally:
            podman(r, "rm", "-f", "-t", "0", server)
        again = detached(podman, r, "--restart", "on-failure:2", IMAGE, "sh", "-c", "echo run; exit 1")
        podman.wait_for("two restarts", lambda: inspect(podman, r, again, "{{.RestartCount}} {{.State.Status}}")
                        == "2 exited")
        logs = podman(r, "logs", again).stdout
        podman(r, "rm", "-f", again)
        return {"published": got, "restarted_logs": logs}
    assert same(observe) == {"published": "served\n", "restarted_logs": "run\nrun\nrun\n"}


def test_namespaces_of_another_container(podman, rt, same):
    """--network/--pid/--ipc container:X: the runtime joins X's namespaces by path."""
    def observe(r):
        other = detached(podman, r, IMAGE, "sleep", "1000")
        try:
            pid = inspect(podman, r, other, "{{.State.Pid}}")
            theirs = [os.readlink(f"/proc/{pid}/ns/{n}") for n in ("net", "pid", "ipc")]
            p = podman.run(r, "--rm", "--network", f"container:{other}", "--pid", f"container:{other}", "--ipc",
                           f"container:{other}", IMAGE, "sh", "-c",
                           "for n in net pid ipc; do readlink /proc/self/ns/$n; done; tr '\\0' ' ' < /proc/1/cmdline")
        finally:
            podman(r, "rm", "-f", "-t", "0", other)
        lines = p.stdout.split("\n")
        return {"rc": p.returncode, "joined": lines[:3] == theirs, "their_pid1": lines[3]}
    assert same(observe) == {"rc": 0, "joined": True, "their_pid1": "sleep 1000 "}
