"""Docker (Debian's docker.io 20.10) runs every scenario under runc, then under pyrunc.

One dockerd of the tests' own serves the whole module: its data root, exec root, socket,
pidfile and daemon.json under a temporary directory, its containerd started by itself
under the exec root, its containers' cgroups under a parent named for this run
(``--cgroup-parent``), and the daemon in a network namespace of its own, so that docker0,
user networks and their iptables rules stay out of the host's tables.  daemon.json
registers ``pyrunc`` (this tree's launcher) beside the default runc.

A scenario is a function ``(docker, runtime) -> observations``: what the container printed
and exited with, what it saw (limits read inside, its mount table, capabilities, ids) and
what the host shows (its cgroup files), normalised so that ids and times do not differ.
Each test runs one scenario under both runtimes and asserts that pyrunc's observations
equal runc's (a divergence shows as a unified diff of the two), after checking runc's
against what the scenario is about, so that a scenario that observes nothing cannot pass.
Where pyrunc differs on purpose, the scenario normalises that one thing and says why.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import pytest

from engines.common import RUNTIMES, diff, normalize, wait_for
from engines.dockerd import IMAGE, PYRUNC, Docker, available, dockerd

pytestmark = [pytest.mark.skipif(not available(), reason="Debian's docker.io is not installed (make deps installs it)"),
              pytest.mark.xdist_group("engines")]  # one dockerd, on the engines' worker (test_cri.py)


def _read(path: str) -> str:
    with open(path) as f:
        return f.read().strip()


@pytest.fixture(scope="module")
def docker(busybox_rootfs):
    """One daemon for the module (its start and the image import take seconds)."""
    with dockerd(busybox_rootfs) as dk:
        yield dk


@pytest.fixture(autouse=True)
def no_containers_left(request, docker):
    """Every scenario removes its containers, networks and volumes; their cgroups go with
    them."""
    yield
    ids = docker.ok("ps", "-aq").split()
    docker.remove(*ids)
    nets = [n for n in docker.ok("network", "ls", "-q", "--filter", "type=custom").split()]
    for n in nets:
        docker("network", "rm", n)
    vols = docker.ok("volume", "ls", "-q").split()
    if vols:
        docker("volume", "rm", "-f", *vols)
    cgs = [os.path.join(r, d) for h in os.listdir("/sys/fs/cgroup")
           for r, ds, _ in os.walk(f"/sys/fs/cgroup/{h}{docker.cgroup_parent}") for d in ds]
    assert not (ids or nets or vols or cgs), f"left by the scenario: containers {ids}, networks {nets}, " \
                                             f"volumes {vols}, cgroups {cgs}"


# --- the scenarios --------------------------------------------------------------------

Scenario = Callable[[Docker, str], dict]
SCENARIOS: dict[str, tuple[Scenario, Callable[[dict], bool]]] = {}


def scenario(check: Callable[[dict], bool]):
    """Register a scenario with ``check``: what runc's observations must show (the
    scenario's point, so that one that observes nothing fails)."""
    def register(fn: Scenario) -> Scenario:
        SCENARIOS[fn.__name__] = (fn, check)
        return fn
    return register


def _out(p: subprocess.CompletedProcess, rt: str, *more: str) -> dict:
    """Exit code, stdout and stderr of a docker command, normalised."""
    # The shim names the runtime by the path daemon.json gives (runc: by its name).
    repl = {m: "<name>" for m in more} | {PYRUNC: rt, rt: "<runtime>"}
    # The client sometimes adds this line after a failed run (a race of its own).
    err = "".join(ln for ln in p.stderr.splitlines(True) if "error waiting for container: context canceled" not in ln)
    if rt == "pyrunc":
        # Deliberate: pyrunc names the JSON path of a resource it could not set, before
        # runc's own text ("linux.resources.cpu.shares: the minimum allowed cpu-shares is 2").
        err = re.sub(r"linux\.resources\.[\w.\[\]]+: ", "", err)
    return {"rc": p.returncode, "out": normalize(p.stdout, repl), "err": normalize(err, repl)}


def _run(docker: Docker, rt: str, *args: str, input: str | None = None, timeout: float = 60) -> dict:
    return _out(docker("run", "--rm", "--runtime", rt, *args, input=input, timeout=timeout), rt)


def _sh(docker: Docker, rt: str, script: str, *opts: str) -> dict:
    return _run(docker, rt, *opts, IMAGE, "sh", "-c", script)


def _mountinfo(text: str) -> list[str]:
    """mountinfo lines without what changes from one mount to the next (ids, device
    numbers, overlay's layer paths)."""
    import re

    out = []
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        f = left.split()
        if len(f) < 6:
            continue
        fstype, source, sup = (right.split() + ["", "", ""])[:3]
        if fstype == "overlay":
            sup = re.sub(r"(lowerdir|upperdir|workdir)=[^,]*", r"\1=<layer>", sup)
        out.append(" ".join([f[3], f[4], f[5], fstype, source, sup]))
    return out


@scenario(lambda o: o["codes"] == [0, 3, 126, 127] and "executable file not found" in o["127"]["err"]
          and o["126_dir"]["rc"] == 126 and o["127_path"]["rc"] == 127 and o["mount_codes"] == [125, 125])
def run_exit_codes(docker, rt):
    """Exit codes 0 and 3 from the process; 126 and 127 from create, with their texts."""
    seen = {"0": _sh(docker, rt, "echo out; echo err >&2"),
            "3": _sh(docker, rt, "exit 3"),
            "126": _run(docker, rt, IMAGE, "/etc/passwd"),
            "127": _run(docker, rt, IMAGE, "no-such-program"),
            "126_dir": _run(docker, rt, IMAGE, "/etc"),
            "127_path": _run(docker, rt, IMAGE, "/no/such/program")}
    seen["codes"] = [seen[k]["rc"] for k in ("0", "3", "126", "127")]
    # Docker derives the exit code from the runtime's words ("permission denied": 126, "not a
    # directory": 127...), so these count even where the texts differ (pyrunc names the
    # mount by its JSON path): a file bound onto a directory, a directory onto a file.
    afile = os.path.join(docker.tmp, "a-file")
    with open(afile, "w") as f:
        f.write("x\n")
    seen["mount_codes"] = [_run(docker, rt, "-v", f"{afile}:/root", IMAGE, "true")["rc"],
                           _run(docker, rt, "-v", f"{docker.tmp}:/etc/passwd", IMAGE, "true")["rc"]]
    return seen


@scenario(lambda o: o["i"]["out"] == "from stdin\n" and o["i"]["rc"] == 2 and o["it"][0] == 5
          and "/dev/pts/0" in o["it"][1])
def run_interactive(docker, rt):
    """``run -i`` feeds stdin; ``run -it`` gives a terminal (the client's own is a pty)."""
    seen = {"i": _run(docker, rt, "-i", IMAGE, "sh", "-c", "cat; exit 2", input="from stdin\n")}
    seen["it"] = docker.pty("run", "--rm", "-it", "--runtime", rt, IMAGE, "sh", "-c",
                            "tty; stty size; test -t 0 && echo stdin-tty; exit 5")
    return seen


@scenario(lambda o: o["exec"] == {"rc": 4, "out": "exec-out\n", "err": ""} and "/dev/pts/" in o["exec_t"][1]
          and o["user"]["out"] == "uid=1000(user) gid=1000(user) groups=1000(user)\n")
def detach_and_exec(docker, rt):
    """``run -d`` then ``exec`` with and without a terminal, as a user, in a directory,
    with stdin and an environment."""
    cid = docker.detached(rt, IMAGE, "sleep", "1000")
    try:
        return {"running": docker.inspect(cid, "{{.State.Status}}"),
                "exec": _out(docker("exec", cid, "sh", "-c", "echo exec-out; exit 4"), rt),
                "exec_t": docker.pty("exec", "-t", cid, "sh", "-c", "tty; exit 6"),
                "exec_i": _out(docker("exec", "-i", cid, "cat", input="piped\n"), rt),
                "user": _out(docker("exec", "-u", "1000", cid, "id"), rt),
                "cwd_env": _out(docker("exec", "-w", "/tmp", "-e", "X=1", cid, "sh", "-c", "pwd; echo $X"), rt),
                "missing": _out(docker("exec", cid, "no-such-program"), rt),
                "pid1": _out(docker("exec", cid, "cat", "/proc/1/cmdline"), rt)}
    finally:
        docker.remove(cid)


@scenario(lambda o: o["term"]["code"] == "7" and "got TERM" in o["term"]["logs"] and o["kill"]["code"] == "137"
          and o["kill"]["waited"])
def stop_term_then_kill(docker, rt):
    """``stop``: SIGTERM, which a trap answers; a PID 1 without a handler ignores it, so
    SIGKILL follows after the timeout (137)."""
    seen = {}
    cid = docker.detached(rt, IMAGE, "sh", "-c", 'trap "echo got TERM; exit 7" TERM; echo ready; '
                                                 "while :; do sleep 0.1; done")
    try:
        wait_for("the trap", lambda: "ready" in docker.ok("logs", cid), 20)
        docker.ok("stop", "-t", "10", cid)
        seen["term"] = {"code": docker.inspect(cid, "{{.State.ExitCode}}"), "logs": docker.ok("logs", cid)}
    finally:
        docker.remove(cid)
    cid = docker.detached(rt, IMAGE, "sleep", "1000")
    try:
        t0 = time.monotonic()
        docker.ok("stop", "-t", "1", cid)
        seen["kill"] = {"code": docker.inspect(cid, "{{.State.ExitCode}}"), "waited": time.monotonic() - t0 >= 1,
                        "oom": docker.inspect(cid, "{{.State.OOMKilled}}")}
    finally:
        docker.remove(cid)
    return seen


@scenario(lambda o: o["usr1"] and o["code"] == "137" and o["status"] == "exited")
def kill_signals(docker, rt):
    """``kill -s USR1`` reaches the process's trap; ``kill`` (SIGKILL) ends it: 137."""
    cid = docker.detached(rt, IMAGE, "sh", "-c", 'trap "echo got USR1" USR1; echo ready; '
                                                 "while :; do sleep 0.1; done")
    try:
        wait_for("the trap", lambda: "ready" in docker.ok("logs", cid), 20)
        docker.ok("kill", "-s", "USR1", cid)
        usr1 = bool(wait_for("USR1 in the logs", lambda: "got USR1" in docker.ok("logs", cid), 20))
        docker.ok("kill", cid)
        wait_for("the container to stop", lambda: docker.inspect(cid, "{{.State.Status}}") == "exited", 20)
        return {"usr1": usr1, "code": docker.inspect(cid, "{{.State.ExitCode}}"),
                "status": docker.inspect(cid, "{{.State.Status}}"),
                "kill_stopped": _out(docker("kill", cid), rt, cid)}
    finally:
        docker.remove(cid)


@scenario(lambda o: o["starts"] == 2 and o["running"] == "true" and o["new_pid"])
def restart(docker, rt):
    """``restart`` stops and starts the same container: a new init, the old logs kept."""
    cid = docker.detached(rt, IMAGE, "sh", "-c", "echo start; exec sleep 1000")
    try:
        wait_for("the first start", lambda: "start" in docker.ok("logs", cid), 20)
        pid = docker.inspect(cid, "{{.State.Pid}}")
        docker.ok("restart", "-t", "0", cid)
        wait_for("the second start", lambda: docker.ok("logs", cid).count("start") == 2, 20)
        return {"starts": docker.ok("logs", cid).count("start"), "running": docker.inspect(cid, "{{.State.Running}}"),
                "new_pid": docker.inspect(cid, "{{.State.Pid}}") != pid,
                "exec": _out(docker("exec", cid, "echo", "after restart"), rt)}
    finally:
        docker.remove(cid)


@scenario(lambda o: o["paused"] == ["paused", "FROZEN"] and o["resumed"] == ["running", "THAWED"]
          and o["exec_paused"]["rc"] != 0)
def pause_unpause(docker, rt):
    """``pause`` freezes the container's cgroup; ``exec`` is refused meanwhile; ``unpause``."""
    cid = docker.detached(rt, IMAGE, "sleep", "1000")
    try:
        freezer = os.path.join(docker.cgroup("freezer", cid), "freezer.state")
        docker.ok("pause", cid)
        seen = {"paused": [docker.inspect(cid, "{{.State.Status}}"), _read(freezer)],
                "exec_paused": _out(docker("exec", cid, "true"), rt, cid)}
        docker.ok("unpause", cid)
        seen["resumed"] = [docker.inspect(cid, "{{.State.Status}}"), _read(freezer)]
        seen["exec"] = _out(docker("exec", cid, "echo", "thawed"), rt)
        return seen
    finally:
        docker.remove(cid)


@scenario(lambda o: o["stopped"] == "exited 137" and o["removed"]["rc"] == 0 and o["exec_oom"]["rc"] == 137
          and o["survivor"] == "running")
def paused_and_oom_exec(docker, rt):
    """``stop`` and ``rm -f`` of a paused container (the runtime thaws what it kills), and
    an ``exec`` OOM-killed while the container's init lives on."""
    cid = docker.detached(rt, "--memory", "32m", "--memory-swap", "32m", IMAGE, "sh", "-c",
                          "sleep 1000 & sleep 1001 & exec sleep 1002")
    try:
        seen = {"exec_oom": _out(docker("exec", cid, "dd", "if=/dev/zero", "of=/dev/null", "bs=128M", "count=1"), rt,
                                 cid),
                "survivor": docker.inspect(cid, "{{.State.Status}}")}
        docker.ok("pause", cid)
        docker.ok("stop", "-t", "1", cid)
        seen["stopped"] = docker.inspect(cid, "{{.State.Status}} {{.State.ExitCode}}")
        docker.ok("start", cid)
        docker.ok("pause", cid)
        seen["removed"] = _out(docker("rm", "-f", cid), rt, cid)
        return seen
    finally:
        docker.remove(cid)


@scenario(lambda o: o["top_header"][:2] == ["UID", "PID"] and sorted(o["top_cmds"]) == ["sleep 1000", "sleep 1001"]
          and o["stats"][0] == "2" and o["stats"][1].endswith("/ 64MiB"))
def top_and_stats(docker, rt):
    """``top`` (the runtime's ``ps``, then the host's ps) and ``stats --no-stream``."""
    cid = docker.detached(rt, "--memory", "64m", IMAGE, "sh", "-c", "sleep 1001 & exec sleep 1000")
    try:
        wait_for("two processes", lambda: len(docker.ok("top", cid).splitlines()) == 3, 20)
        lines = docker.ok("top", cid).splitlines()
        stats = docker.ok("stats", "--no-stream", "--format", "{{.PIDs}}|{{.MemUsage}}", cid).strip().split("|")
        # The usage before the slash moves; the limit after it is the container's.
        return {"top_header": lines[0].split(), "top_cmds": [ln.split(None, 7)[-1] for ln in lines[1:]],
                "stats": [stats[0], "/" + stats[1].split("/", 1)[1]]}
    finally:
        docker.remove(cid)


@scenario(lambda o: o["after"]["inside"] == ["100663296", "201326592", "50000", "100000", "512", "30"]
          and o["after"]["inside"] == o["after"]["host"] and "minimum allowed cpu-shares is 2" in o["shares_1"]["err"]
          and "unable to set memory limit to 10485760" in o["below_usage"]["err"])
def update(docker, rt):
    """``update`` (the runtime's ``update``) of a running container, read inside and on the
    host."""
    files = ["memory/memory.limit_in_bytes", "memory/memory.memsw.limit_in_bytes", "cpu/cpu.cfs_quota_us",
             "cpu/cpu.cfs_period_us", "cpu/cpu.shares", "pids/pids.max"]
    cid = docker.detached(rt, "--memory", "64m", "--shm-size", "64m", IMAGE, "sleep", "1000")
    try:
        def read() -> dict:
            inside = docker.ok("exec", cid, "cat", *[f"/sys/fs/cgroup/{f}" for f in files]).split()
            host = [_read(os.path.join(docker.cgroup(f.split("/")[0], cid), f.split("/")[1])) for f in files]
            return {"inside": inside, "host": host}

        seen = {"before": read()}
        seen["update"] = _out(docker("update", "--memory", "96m", "--memory-swap", "192m", "--cpus", "0.5",
                                     "--cpu-shares", "512", "--pids-limit", "30", cid), rt, cid)
        seen["after"] = read()
        seen["refused"] = _out(docker("update", "--memory", "1m", cid), rt, cid)
        # Clamped by the kernel, refused by the runtime (runc reads cpu.shares back).
        seen["shares_1"] = _out(docker("update", "--cpu-shares", "1", cid), rt, cid)
        seen["shares_max"] = _out(docker("update", "--cpu-shares", "300000", cid), rt, cid)
        # Below the current usage (30 MiB of /dev/shm is charged to the container).
        docker.ok("exec", cid, "sh", "-c", "head -c 30m /dev/zero > /dev/shm/fill")
        below = _out(docker("update", "--memory", "10m", "--memory-swap", "10m", cid), rt, cid)
        below["err"] = re.sub(r"usage: \d+", "usage: N", below["err"])
        seen["below_usage"] = below
        return seen
    finally:
        docker.remove(cid)


@scenario(lambda o: o["logs"] == {"rc": 0, "out": "to stdout\n", "err": "to stderr\n"} and o["wait"] == "9")
def logs_and_wait(docker, rt):
    """``logs`` keeps stdout and stderr apart; ``wait`` prints the exit code."""
    cid = docker.detached(rt, IMAGE, "sh", "-c", "echo to stdout; echo to stderr >&2; sleep 0.3; exit 9")
    try:
        code = docker.ok("wait", cid, timeout=30).strip()
        return {"wait": code, "logs": _out(docker("logs", cid), rt)}
    finally:
        docker.remove(cid)


LIMIT_FILES = ["memory/memory.limit_in_bytes", "memory/memory.memsw.limit_in_bytes",
               "memory/memory.soft_limit_in_bytes", "pids/pids.max", "cpu/cpu.cfs_quota_us", "cpu/cpu.cfs_period_us",
               "cpu/cpu.shares", "cpuset/cpuset.cpus", "memory/memory.oom_control"]


@scenario(lambda o: o["limited"]["inside"][:2] == ["67108864", "134217728"]
          and o["limited"]["inside"][3:7] == ["20", "150000", "100000", "256"]
          and o["limited"]["inside"] == o["limited"]["host"] and o["default"]["inside"][6] == "1024")
def cgroup_limits(docker, rt):
    """``--memory``, ``--memory-reservation``, ``--pids-limit``, ``--cpus``, ``--cpu-shares``,
    ``--cpuset-cpus`` as read inside (the container's own cgroup at /sys/fs/cgroup/<ctrl>)
    and on the host; without them, the defaults (cpu.shares 1024, not 2)."""
    seen = {}
    for name, opts in (("limited", ["--memory", "64m", "--memory-reservation", "32m", "--pids-limit", "20",
                                    "--cpus", "1.5", "--cpu-shares", "256", "--cpuset-cpus", "0"]),
                       ("default", [])):
        cid = docker.detached(rt, *opts, IMAGE, "sleep", "1000")
        try:
            inside = docker.ok("exec", cid, "sh", "-c", " ".join(
                f"echo $(cat /sys/fs/cgroup/{f} | tr '\\n' ' ');" for f in LIMIT_FILES)).splitlines()
            host = [" ".join(open(os.path.join(docker.cgroup(f.split("/")[0], cid), f.split("/")[1])).read().split())
                    for f in LIMIT_FILES]
            seen[name] = {"inside": [x.strip() for x in inside], "host": host}
        finally:
            docker.remove(cid)
    return seen


@scenario(lambda o: o["rc"] == 137 and o["oom_killed"] == "true")
def oom_kill(docker, rt):
    """A process past ``--memory`` (no swap) is OOM-killed: 137, OOMKilled true."""
    cid = docker.detached(rt, "--memory", "32m", "--memory-swap", "32m", IMAGE, "dd", "if=/dev/zero", "of=/dev/null",
                          "bs=128M", "count=1")
    try:
        rc = int(docker.ok("wait", cid, timeout=60).strip())
        return {"rc": rc, "oom_killed": docker.inspect(cid, "{{.State.OOMKilled}}")}
    finally:
        docker.remove(cid)


def _links(text: str) -> list[str]:
    import re

    return sorted(re.sub(r"@if\d+", "", ln.split(":")[1].strip()) for ln in text.splitlines() if ":" in ln)


@scenario(lambda o: o["none"] == ["lo"] and o["bridge"] == ["eth0", "lo"] and "docker0" in o["host"])
def networks(docker, rt):
    """``--network none|host|bridge``: the interfaces the container sees."""
    seen = {}
    for net in ("none", "host", "bridge"):
        p = docker("run", "--rm", "--runtime", rt, "--network", net, IMAGE, "ip", "-o", "link")
        assert p.returncode == 0, p.stderr
        seen[net] = _links(p.stdout)
    seen["host_hostname"] = _sh(docker, rt, "hostname", "--network", "host")["out"] == os.uname().nodename + "\n"
    return seen


@scenario(lambda o: o["by_name"]["out"] == "hello-http\n" and o["published"] == "hello-http\n")
def user_network_and_ports(docker, rt):
    """A user network (containers reach each other by name through the embedded DNS) and
    ``-p`` (the published port answers in the daemon's network namespace)."""
    net = f"pyrnet-{rt}"
    docker.ok("network", "create", net)
    srv = None
    try:
        srv = docker.detached(rt, "--network", net, "--name", f"srv-{rt}", "-p", "18080:80", IMAGE, "sh", "-c",
                              "mkdir -p /www && echo hello-http > /www/index.html && exec httpd -f -p 80 -h /www")

        def answers() -> str:
            # Python, not the host's busybox wget (which crashes when it runs outside a container).
            p = docker.in_netns(sys.executable, "-c", "import urllib.request as u; print(u.urlopen("
                                "'http://127.0.0.1:18080/', timeout=2).read().decode(), end='')")
            return p.stdout if p.returncode == 0 else ""

        published = wait_for("the published port", answers, 30, 0.2)
        # nc, not busybox's wget: that crashes in a static busybox (glibc's NSS, for the
        # "http" service name).
        by_name = _out(docker("run", "--rm", "--runtime", rt, "--network", net, IMAGE, "sh", "-c",
                              f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 srv-{rt} 80 | tail -1"), rt)
        return {"by_name": by_name, "published": published}
    finally:
        if srv:
            docker.remove(srv)
        docker("network", "rm", net)


@scenario(lambda o: o["bind"]["rc"] == 0 and o["host_file"] == "from-container\n" and o["ro"]["rc"] != 0
          and "Read-only file system" in o["ro"]["err"] and o["named"]["out"] == "kept\n"
          and o["read_only"]["rc"] == 1 and "scratch-ok" in o["read_only"]["out"]
          and "Read-only file system" in o["tmpfs_ro"]["err"] and o["tmpfs_ro"]["out"].startswith("drwxr-xr-x"))
def volumes(docker, rt):
    """Bind and named volumes, ``:ro``, ``--read-only`` with a ``--tmpfs``, and how they show
    in the mount table."""
    src = tempfile.mkdtemp(prefix=f"vol-{rt}-", dir=docker.tmp)
    seen = {"bind": _sh(docker, rt, "echo from-container > /data/f; "
                        "grep ' /data ' /proc/self/mountinfo | cut -d' ' -f5-6", "-v", f"{src}:/data")}
    seen["host_file"] = open(os.path.join(src, "f")).read()
    seen["ro"] = _sh(docker, rt, "cat /data/f; echo x > /data/g", "-v", f"{src}:/data:ro")
    vol = f"pyrvol-{rt}"
    seen["named_w"] = _sh(docker, rt, "echo kept > /v/f", "-v", f"{vol}:/v")
    seen["named"] = _sh(docker, rt, "cat /v/f", "-v", f"{vol}:/v")
    docker("volume", "rm", vol)
    seen["read_only"] = _sh(docker, rt, "echo ok > /scratch/x && echo scratch-ok; touch /nope",
                            "--read-only", "--tmpfs", "/scratch:size=1m")
    # Sorted: Docker orders the --tmpfs entries of one depth as its map iterates (randomly).
    seen["tmpfs"] = _sh(docker, rt, "grep -E ' /(scratch|tmp2) ' /proc/self/mountinfo | cut -d' ' -f5- | sort; "
                        "ls -ld /scratch /tmp2 | cut -c1-10", "--tmpfs", "/scratch", "--tmpfs", "/tmp2:mode=0700")
    # A read-only tmpfs over an existing directory, with a bind mounted inside it: made
    # read-only after the bind (and after taking the directory's mode).
    seen["tmpfs_ro"] = _sh(docker, rt, "ls -ld /root | cut -c1-10; grep -E ' /root(/sub)? ' /proc/self/mountinfo | "
                           "cut -d' ' -f5-6,10-; touch /root/x", "--tmpfs", "/root:ro", "-v", f"{src}:/root/sub")
    return seen


@scenario(lambda o: o["user"]["out"].startswith("uid=1000(user) gid=1000(user) groups=1000(user)")
          and "5(tty)" in o["groups"]["out"] and "1234" in o["groups"]["out"])
def users_and_groups(docker, rt):
    """``--user`` uid:gid and by name, ``--group-add`` by name and number."""
    return {"user": _sh(docker, rt, "id; grep -E '^(Uid|Gid|Groups)' /proc/self/status", "--user", "1000:1000"),
            "named": _sh(docker, rt, "id", "--user", "nobody"),
            "groups": _sh(docker, rt, "id; grep Groups /proc/self/status", "--user", "user", "--group-add", "tty",
                          "--group-add", "1234"),
            "unknown": _sh(docker, rt, "id", "--user", "no-such-user")}


_CAPS = "grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status"


@scenario(lambda o: "CapEff:\t0000000000000000" in o["drop_all"]["out"]
          and "CapEff:\t0000000000001000" in o["net_admin_only"]["out"]
          and o["default"]["out"] != o["drop_all"]["out"])
def capabilities(docker, rt):
    """Docker's default set, ``--cap-drop ALL``, ``--cap-add``, ``--privileged`` (which on a
    host whose bounding set lacks a capability fails under runc: pyrunc must fail alike)."""
    return {"default": _sh(docker, rt, _CAPS),
            "drop_all": _sh(docker, rt, _CAPS, "--cap-drop", "ALL"),
            "net_admin_only": _sh(docker, rt, _CAPS, "--cap-drop", "ALL", "--cap-add", "NET_ADMIN"),
            "add": _sh(docker, rt, _CAPS + "; ip link add dummy0 type dummy && echo added", "--cap-add", "NET_ADMIN"),
            "denied": _sh(docker, rt, "ip link add dummy0 type dummy"),
            "privileged": _sh(docker, rt, _CAPS, "--privileged"),
            "ungrantable": _sh(docker, rt, _CAPS, "--cap-add", "SYS_RESOURCE")}


@scenario(lambda o: o["device"]["rc"] == 0 and "opened rw" in o["device"]["out"] and o["readonly_dev"]["rc"] != 0
          and "c 10:229 r" in o["host_rules"] and "c 10:200 rwm" in o["host_rules"])
def devices(docker, rt):
    """``--device`` (with permissions; /dev/fuse, which Docker's default rules leave out),
    the devices cgroup's rules on the host."""
    seen = {"device": _sh(docker, rt, "ls -l /dev/xfuse | cut -c1-10; stat -c '%t:%T %u:%g' /dev/xfuse; "
                          ": > /dev/xfuse && echo opened rw", "--device", "/dev/fuse:/dev/xfuse")}
    seen["readonly_dev"] = _sh(docker, rt, "ls -l /dev/xfuse | cut -c1-10; : > /dev/xfuse",
                               "--device", "/dev/fuse:/dev/xfuse:r")
    cid = docker.detached(rt, "--device", "/dev/fuse:/dev/xfuse:r", IMAGE, "sleep", "1000")
    try:
        # In the kernel's order, which is the order written (runc: its emulator's, sorted).
        seen["host_rules"] = _read(os.path.join(docker.cgroup("devices", cid), "devices.list")).splitlines()
    finally:
        docker.remove(cid)
    seen["no_device"] = _sh(docker, rt, "ls /dev/fuse")
    return seen


@scenario(lambda o: o["init"]["out"].startswith("/sbin/docker-init -- sh -c"))
def init_process(docker, rt):
    """``--init``: docker-init is PID 1 and the command its child."""
    if not os.path.exists("/usr/bin/docker-init") and not os.path.exists("/usr/libexec/docker/docker-init"):
        pytest.skip("docker-init (tini) is not installed beside dockerd")
    # Names, not pids: runc's init is a Go program whose threads use up the first pids of
    # the new namespace (the command's first child is 7 under runc, 2 under pyrunc).
    return {"init": _sh(docker, rt, "cat /proc/1/cmdline | tr '\\0' ' ' | sed 's/ *$//'; echo; "
                        "ps -o ppid,comm > /tmp/ps; cut -c7- /tmp/ps", "--init")}


@scenario(lambda o: "Seccomp:\t2" in o["default"]["out"] and "Seccomp:\t0" in o["unconfined"]["out"]
          and o["default_unshare"]["rc"] != 0)
def seccomp(docker, rt):
    """Docker's default seccomp profile (unshare(2) refused without CAP_SYS_ADMIN) and
    ``seccomp=unconfined``."""
    return {"default": _sh(docker, rt, "grep -E '^(Seccomp|NoNewPrivs)' /proc/self/status"),
            "unconfined": _sh(docker, rt, "grep -E '^(Seccomp|NoNewPrivs)' /proc/self/status",
                              "--security-opt", "seccomp=unconfined"),
            "default_unshare": _sh(docker, rt, "unshare -U true"),
            "nnp": _sh(docker, rt, "grep NoNewPrivs /proc/self/status", "--security-opt", "no-new-privileges")}


@scenario(lambda o: o["sysctl"]["out"] == "1\n1\n" and o["ulimit"]["out"] == "1024\n2048\n"
          and "size=32768k" in o["shm"]["out"] and o["oom_score_adj"]["out"] == "500\n")
def process_knobs(docker, rt):
    """``--sysctl``, ``--ulimit``, ``--shm-size``, ``--oom-score-adj``."""
    return {"sysctl": _sh(docker, rt, "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shm_rmid_forced",
                          "--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "kernel.shm_rmid_forced=1"),
            "bad_sysctl": _sh(docker, rt, "true", "--sysctl", "kernel.hostname=x"),
            "ulimit": _sh(docker, rt, "ulimit -n; ulimit -Hn", "--ulimit", "nofile=1024:2048"),
            "shm": _sh(docker, rt, "grep ' /dev/shm ' /proc/self/mountinfo | cut -d' ' -f5-", "--shm-size", "32m"),
            "oom_score_adj": _sh(docker, rt, "cat /proc/self/oom_score_adj", "--oom-score-adj", "500"),
            # Below the runtime's own needs CAP_SYS_RESOURCE, which this host's runtimes lack:
            # both fail create (runc's text is an artefact of its nsexec, "can't get final
            # child's PID from pipe: EOF"; pyrunc names the write), so the exit code only.
            "negative_oom_score_adj": _sh(docker, rt, "true", "--oom-score-adj", "-500")["rc"]}


@scenario(lambda o: all(ln.endswith(":/") for ln in o["private"]["out"].split())
          and not all(ln.endswith(":/") for ln in o["host"]["out"].split()))
def cgroup_namespaces(docker, rt):
    """``--cgroupns private|host``: /proc/self/cgroup, and the cgroup mounts of each."""
    seen = {}
    for mode in ("private", "host"):
        p = docker("run", "--rm", "--runtime", rt, "--cgroupns", mode, "--memory", "64m", IMAGE, "sh", "-c",
                   "cat /proc/self/cgroup; echo --; grep cgroup /proc/self/mountinfo; echo --; "
                   "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; "
                   "ls -l /sys/fs/cgroup | sed 1d | awk '{print $1, $9, $10, $11}'")  # no times: a minute may turn
        assert p.returncode == 0, p.stderr
        cg, mi, rest = p.stdout.split("--\n")
        seen[mode] = {"out": normalize(cg.replace(docker.cgroup_parent, "<parent>")),
                      "mounts": _mountinfo(normalize(mi.replace(docker.cgroup_parent, "<parent>"))),
                      "rest": rest}
    return seen


@scenario(lambda o: any(" /sys/fs/cgroup/memory " in ln for ln in o["mounts"])
          and any(ln.startswith("/null /proc/keys ") for ln in o["mounts"]))
def container_view(docker, rt):
    """What a default container sees: its whole mount table (masked and read-only paths
    included), hostname, /etc files Docker provides, environment, working directory."""
    p = docker("run", "--rm", "--runtime", rt, "--hostname", "pyr-view", IMAGE, "sh", "-c",
               "cat /proc/self/mountinfo; echo --; hostname; cat /etc/hostname; env | sort; pwd; umask; "
               "ls -l /dev | sed 1d | awk '{print $1, $NF}'; ls /proc/self/fd")
    assert p.returncode == 0, p.stderr
    mi, rest = p.stdout.split("--\n")
    return {"mounts": _mountinfo(normalize(mi)), "rest": normalize(rest)}


def _pgrep(cmdline: str) -> list[int]:
    """Host pids whose command line is ``cmdline``."""
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if f.read().replace(b"\0", b" ").strip() == cmdline.encode():
                    out.append(int(pid))
        except OSError:
            pass
    return out


def _ns(*names: str) -> str:
    return "; ".join(f"readlink /proc/self/ns/{n}" for n in names)


@scenario(lambda o: o["shared"]["pid_host"]["rc"] == 0 and o["shared"]["pid_container"] == "same"
          and o["shared"]["net_container"] == "same" and o["shared"]["host_ns"] == ["pid", "ipc", "uts"]
          and o["shared"]["left_after_stop"] == 0)
def shared_namespaces(docker, rt):
    """``--pid/--ipc/--uts host`` (the host's namespaces), ``--pid/--network container:X``
    (another container's), the runtime joining them by path."""
    host = {n: os.readlink(f"/proc/self/ns/{n}") for n in ("pid", "ipc", "uts")}
    p = docker("run", "--rm", "--runtime", rt, "--pid", "host", "--ipc", "host", "--uts", "host", IMAGE, "sh", "-c",
               _ns("pid", "ipc", "uts"))
    seen = {"pid_host": _out(p, rt), "host_ns": [n for n, v in zip(host, p.stdout.split(), strict=False)
                                                  if host[n] == v]}
    # With the host's pid namespace the init's exit does not end its children: the shim
    # has the runtime kill all of the cgroup's (kill --all).
    cid = docker.detached(rt, "--pid", "host", IMAGE, "sh", "-c", "sleep 4321 & exec sleep 1001")
    try:
        wait_for("the child", lambda: _pgrep("sleep 4321"), 20)
        docker.ok("stop", "-t", "1", cid)
        seen["left_after_stop"] = len(_pgrep("sleep 4321"))
    finally:
        docker.remove(cid)
    cid = docker.detached(rt, IMAGE, "sleep", "1000")
    try:
        mine = docker.ok("exec", cid, "sh", "-c", _ns("pid", "net")).split()
        pid = docker.ok("run", "--rm", "--runtime", rt, "--pid", f"container:{cid}", IMAGE, "sh", "-c",
                        _ns("pid") + "; ps -o comm | grep -c sleep").split()
        net = docker.ok("run", "--rm", "--runtime", rt, "--network", f"container:{cid}", IMAGE, "sh", "-c",
                        _ns("net")).split()
        seen["pid_container"] = "same" if pid[0] == mine[0] else f"{pid} != {mine}"
        seen["sleeps_seen"] = pid[1]
        seen["net_container"] = "same" if net[0] == mine[1] else f"{net} != {mine}"
    finally:
        docker.remove(cid)
    return {"shared": seen}


@scenario(lambda o: o["workdir"]["out"] == "/no/such/dir\n" and o["entrypoint"]["out"] == "ep a b\n"
          and o["env"]["out"] == "FOO=bar\nHOME=/root\n" and o["swappiness"]["out"] == "10\n")
def process_basics(docker, rt):
    """``--workdir`` that the image lacks (made by the runtime), ``--entrypoint``, ``--env``,
    ``--memory-swappiness``, ``exec -u root`` and ``exec --privileged`` beside a ``--user``
    container."""
    seen = {"workdir": _sh(docker, rt, "pwd", "--workdir", "/no/such/dir"),
            "entrypoint": _run(docker, rt, "--entrypoint", "echo", IMAGE, "ep", "a", "b"),
            "env": _sh(docker, rt, "env | grep -E '^(FOO|HOME)=' | sort", "-e", "FOO=bar"),
            "swappiness": _sh(docker, rt, "cat /sys/fs/cgroup/memory/memory.swappiness",
                              "--memory", "64m", "--memory-swappiness", "10")}
    cid = docker.detached(rt, "--user", "1000", IMAGE, "sleep", "1000")
    try:
        seen["exec_default"] = _out(docker("exec", cid, "id", "-u"), rt)
        seen["exec_root"] = _out(docker("exec", "-u", "root", cid, "id", "-u"), rt)
        seen["exec_privileged"] = _out(docker("exec", "--privileged", cid, "grep", "CapEff", "/proc/self/status"),
                                       rt)
    finally:
        docker.remove(cid)
    return seen


@scenario(lambda o: o["restarts"] == "2" and o["code"] == "3" and o["stop_signal"] == "got USR2")
def restart_policy_and_stop_signal(docker, rt):
    """``--restart on-failure:2`` (the daemon creates and deletes the container's init
    again, twice) and ``--stop-signal``."""
    cid = docker.detached(rt, "--restart", "on-failure:2", IMAGE, "sh", "-c", "echo run; exit 3")
    try:
        wait_for("two restarts", lambda: docker.inspect(cid, "{{.RestartCount}} {{.State.Status}}") == "2 exited",
                 60, 0.2)
        seen = {"restarts": docker.inspect(cid, "{{.RestartCount}}"),
                "code": docker.inspect(cid, "{{.State.ExitCode}}"), "runs": docker.ok("logs", cid).count("run")}
    finally:
        docker.remove(cid)
    cid = docker.detached(rt, "--stop-signal", "USR2", IMAGE, "sh", "-c",
                          'trap "echo got USR2; exit 0" USR2; echo ready; while :; do sleep 0.1; done')
    try:
        wait_for("the trap", lambda: "ready" in docker.ok("logs", cid), 20)
        docker.ok("stop", "-t", "10", cid)
        seen["stop_signal"] = docker.ok("logs", cid).split("\n")[1]
    finally:
        docker.remove(cid)
    return seen


@scenario(lambda o: o["knobs"]["out"].startswith("oom_kill_disable 1\n") and " 1048576\n" in o["knobs"]["out"]
          and "c 10:* rwm" in o["knobs"]["out"])
def io_and_device_knobs(docker, rt):
    """``--oom-kill-disable``, ``--device-read-bps``/``--device-write-iops``,
    ``--device-cgroup-rule``, ``--kernel-memory`` (deprecated: ignored with a warning)."""
    dev = os.stat(os.path.realpath(_root_disk()))
    return {"knobs": _sh(docker, rt, "head -1 /sys/fs/cgroup/memory/memory.oom_control; "
                         "cat /sys/fs/cgroup/blkio/blkio.throttle.read_bps_device "
                         "/sys/fs/cgroup/blkio/blkio.throttle.write_iops_device; "
                         "sort /sys/fs/cgroup/devices/devices.list",
                         "--memory", "64m", "--oom-kill-disable", "--kernel-memory", "50m",
                         "--device-read-bps", f"{_root_disk()}:1mb", "--device-write-iops", f"{_root_disk()}:100",
                         "--device-cgroup-rule", "c 10:* rmw"),
            "dev": f"{os.major(dev.st_rdev)}:{os.minor(dev.st_rdev)}"}


def _root_disk() -> str:
    """The block device under / (throttling needs a real one)."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if left.split()[4] == "/" and right.split()[1].startswith("/dev/"):
                return right.split()[1]
    pytest.skip("the root filesystem is not on a block device")


@scenario(lambda o: "CapEff:\t0000003ffeffffff" in o["all_but"]["out"] and "mounted" in o["all_but"]["out"]
          and o["systempaths"]["out"].startswith("0\n")
          and "Permission denied" in o["profile"]["err"] and "Operation not permitted" in o["profile"]["err"])
def security_options(docker, rt):
    """``--cap-add ALL --cap-drop`` the one the host lacks (privileged but for it),
    ``systempaths=unconfined`` (nothing masked), a seccomp profile of one's own (errnoRet)."""
    profile = os.path.join(docker.tmp, f"seccomp-{rt}.json")
    with open(profile, "w") as f:
        json.dump({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
            {"names": ["chmod", "fchmodat"], "action": "SCMP_ACT_ERRNO"}]}, f)
    return {"all_but": _sh(docker, rt, _CAPS + "; mount -t tmpfs t /tmp && echo mounted",
                           "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE"),
            "systempaths": _sh(docker, rt, "grep -c -E ' /proc/(kcore|keys|timer_list|acpi|sys) ' "
                               "/proc/self/mountinfo; ls /proc/sys >/dev/null && echo proc-sys",
                               "--security-opt", "systempaths=unconfined"),
            "profile": _sh(docker, rt, "mkdir /x; chmod 600 /etc/passwd; echo rc=$?",
                           "--security-opt", f"seccomp={profile}")}


@scenario(lambda o: o["names"]["out"] == "10.1.2.3\tfoo\nnameserver 10.9.9.9\nh1\n" and o["t"][0] == 3
          and "/dev/pts/0" in o["t"][1])
def names_and_terminal(docker, rt):
    """``--add-host``, ``--dns``, ``--hostname``; ``-t`` without ``-i``."""
    return {"names": _sh(docker, rt, "grep foo /etc/hosts; grep nameserver /etc/resolv.conf; hostname",
                         "--add-host", "foo:10.1.2.3", "--dns", "10.9.9.9", "--hostname", "h1"),
            "t": docker.pty("run", "--rm", "-t", "--runtime", rt, IMAGE, "sh", "-c",
                            "tty; test -t 0 && echo stdin-tty; exit 3")}


@scenario(lambda o: o["states"] == ["unhealthy", "healthy"] and o["checks_ok"])
def health_checks(docker, rt):
    """``--health-cmd``: the daemon execs the check in the container (the runtime's
    ``exec``) every interval; unhealthy until the file exists, healthy after."""
    cid = docker.detached(rt, "--health-cmd", "test -f /tmp/ok", "--health-interval", "300ms",
                          "--health-retries", "1", IMAGE, "sh", "-c", "echo up; exec sleep 1000")
    try:
        wait_for("unhealthy", lambda: docker.inspect(cid, "{{.State.Health.Status}}") == "unhealthy", 20, 0.1)
        docker.ok("exec", cid, "touch", "/tmp/ok")
        wait_for("healthy", lambda: docker.inspect(cid, "{{.State.Health.Status}}") == "healthy", 20, 0.1)
        log = json.loads(docker.inspect(cid, "{{json .State.Health.Log}}"))
        return {"states": ["unhealthy", "healthy"], "checks_ok": log[-1]["ExitCode"] == 0 and len(log) >= 2}
    finally:
        docker.remove(cid)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_same_as_runc(docker, name):
    fn, check = SCENARIOS[name]
    seen = {rt: fn(docker, rt) for rt in RUNTIMES}
    assert check(seen["runc"]), f"runc's observations miss the scenario's point: {seen['runc']}"
    assert seen["pyrunc"] == seen["runc"], "pyrunc differs from runc:\n" + diff(seen["runc"], seen["pyrunc"])
