"""The systemd cgroup driver (``--systemd-cgroup``, issue 22) against a real systemd.

This host's PID 1 is not systemd: one machine per module is booted with systemd-nspawn
(nspawn.py: the host's /usr read-only on a tmpfs root, its own network namespace), and both
runtimes run inside it, through ``nsenter``, on the same bundle and the same cgroupsPath:
runc 1.1.5 (/usr/sbin/runc) first, as the control, then pyrunc; each deletes its container
before the other starts, so the unit names are the same.  Each test asserts what runc's
container got (so that it can fail) and that pyrunc's is the same, then that nothing is
left: no state, no unit, no cgroup of the unit in any hierarchy.

Only the v1 (hybrid) systemd path runs here: the host binds memory, cpu and pids to v1, so
a pure-v2 systemd would have no controllers to delegate.  The v2 property mapping is
tested without a kernel (tests/unit/test_systemd_props.py).
"""

import json
import os
import sys
import time
import uuid

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nspawn  # noqa: E402

PYRUNC = os.path.join(os.path.dirname(sys.executable), "pyrunc")
VENV = os.path.dirname(os.path.dirname(sys.executable))
RUNC = "/usr/sbin/runc"
RUNTIMES = {"runc": RUNC, "pyrunc": PYRUNC}
TOKEN = uuid.uuid4().hex[:8]
#: Every unit of this module: <PREFIX>-<name>.scope in system.slice.
PREFIX = f"sdt{TOKEN}"

REASON = nspawn.missing_prerequisites() or ("" if os.access(RUNC, os.X_OK) else f"{RUNC} (the control) is missing")
pytestmark = [pytest.mark.skipif(bool(REASON), reason=REASON),
              # one machine per module: its tests on one worker
              pytest.mark.xdist_group("systemd")]


def _crictl() -> str | None:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "engines"))
    import cri_env

    return cri_env.find_tool("crictl", "CRICTL")


@pytest.fixture(scope="module")
def machine(base_dir):
    crictl = _crictl()
    m = nspawn.Machine(TOKEN, binds=[base_dir], binds_ro=[VENV] + ([os.path.dirname(crictl)] if crictl else []))
    m.start()
    try:
        yield m
    finally:
        left = m.processes()
        problems = m.stop()
        assert not problems, problems
        assert not left or all(not os.path.exists(f"/proc/{p}") for p in left), f"processes left: {left}"


class Runtime:
    """One runtime in the machine, with its own --root there."""

    def __init__(self, m: nspawn.Machine, name: str) -> None:
        self.m, self.name = m, name
        self.root = f"/run/sdt-{name}-{TOKEN}"

    def __call__(self, *args: str, systemd: bool = True, timeout: float = 60):
        argv = [RUNTIMES[self.name], "--root", self.root, *(["--systemd-cgroup"] if systemd else []), *args]
        return self.m.run(argv, timeout=timeout)

    def ok(self, *args: str, **kw) -> str:
        p = self(*args, **kw)
        assert p.returncode == 0, f"{self.name} {' '.join(args)}: {p.returncode} {p.stderr}"
        return p.stdout

    def state(self, cid: str) -> dict:
        return json.loads(self.ok("state", cid))

    def left(self) -> list[str]:
        p = self.m.run(["sh", "-c", f"ls -A {self.root} 2>/dev/null"])
        return p.stdout.split()


@pytest.fixture
def runtimes(machine):
    rts = [Runtime(machine, n) for n in ("runc", "pyrunc")]
    yield rts
    problems = []
    for rt in rts:
        for cid in rt.left():
            problems.append(f"{rt.name} left container {cid}")
            rt("delete", "--force", cid)
    units = units_left(machine)
    if units:
        problems.append(f"units left: {units}")
        for u in units:
            machine.systemctl("stop", u)
    dirs = unit_dirs_left(machine)
    if dirs:
        problems.append(f"cgroups left: {dirs}")
    assert not problems, problems


def units_left(m: nspawn.Machine) -> list[str]:
    out = m.systemctl("list-units", "--all", "--plain", "--no-legend", f"{PREFIX}*").stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def unit_dirs_left(m: nspawn.Machine) -> list[str]:
    out = []
    for top in m.host_cgroups():
        for dirpath, _dirs, _files in os.walk(top):
            if PREFIX in os.path.basename(dirpath):
                out.append(dirpath)
    return out


def bundle(make_bundle, args: list[str], cgroups_path: str, resources: dict | None = None, **linux):
    b = make_bundle(args)
    b.config["linux"]["cgroupsPath"] = cgroups_path
    if resources is not None:
        b.config["linux"]["resources"] = resources
    b.config["linux"].update(linux)
    return b.write()


def read_files(m: nspawn.Machine, paths: list[str]) -> dict[str, str]:
    script = 'for f in "$@"; do printf "%s\\t%s\\n" "$f" "$(cat "$f" 2>&1 | tr "\\n" " ")"; done'
    out = m.run(["sh", "-c", script, "sh", *paths]).stdout
    return dict(line.split("\t", 1) for line in out.splitlines())


def show(m: nspawn.Machine, unit: str, props: list[str]) -> dict[str, str]:
    out = m.systemctl("show", "-p", ",".join(props), unit).stdout
    got: dict[str, str] = {}
    for line in out.splitlines():
        k, _, v = line.partition("=")
        got[k] = (got[k] + " " + v) if k in got else v  # DeviceAllow= repeats
    return got


def one_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def wait_for(pred, timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.05)


V1 = ["memory", "cpu", "cpuacct", "cpuset", "pids", "devices", "freezer", "blkio", "systemd"]
RESOURCES = {"memory": {"limit": 96 << 20}, "cpu": {"shares": 512, "quota": 30000, "period": 100000, "cpus": "0",
                                                    "mems": "0"},
             "pids": {"limit": 64}, "blockIO": {"weight": 300}}


def test_each_resource_in_its_scope(machine, runtimes, make_bundle):
    """A container with each resource kind: its init in the scope under system.slice in
    every hierarchy, the unit's properties and the files as runc leaves them."""
    unit = f"{PREFIX}-res.scope"
    b = bundle(make_bundle, ["sleep", "300"], f"system.slice:{PREFIX}:res", RESOURCES)
    seen = {}
    for rt in runtimes:
        rt.ok("create", "--bundle", b.path, "res")
        try:
            pid = rt.state("res")["pid"]
            cg = machine.run(["cat", f"/proc/{pid}/cgroup"]).stdout
            props = show(machine, unit, ["Slice", "Delegate", "MemoryLimit", "CPUShares", "CPUQuotaPerSecUSec",
                                         "CPUQuotaPeriodUSec", "TasksMax", "BlockIOWeight", "AllowedCPUs",
                                         "AllowedMemoryNodes", "DevicePolicy", "DefaultDependencies",
                                         "Description", "ActiveState"])
            dev = show(machine, unit, ["DeviceAllow"])["DeviceAllow"].split()
            props["DeviceAllow"] = sorted(zip(dev[0::2], dev[1::2], strict=True))
            d = f"/sys/fs/cgroup/%s/system.slice/{unit}/%s"
            files = read_files(machine, [d % ("memory", "memory.limit_in_bytes"), d % ("cpu", "cpu.shares"),
                                         d % ("cpu", "cpu.cfs_quota_us"), d % ("cpu", "cpu.cfs_period_us"),
                                         d % ("pids", "pids.max"), d % ("cpuset", "cpuset.cpus"),
                                         d % ("cpuset", "cpuset.mems"), d % ("devices", "devices.list"),
                                         d % ("blkio", "blkio.bfq.weight")])
        finally:
            rt.ok("delete", "--force", "res")
        seen[rt.name] = (sorted(cg.split()), props, files)
    cg, props, files = seen["runc"]
    assert all(line.endswith(f":/system.slice/{unit}") for line in cg), cg
    assert len(cg) == len(V1) + 1  # every v1 hierarchy and the unified one
    assert props["Slice"] == "system.slice" and props["Delegate"] == "yes"
    assert props["MemoryLimit"] == str(96 << 20) and props["CPUShares"] == "512" and props["TasksMax"] == "64"
    assert props["CPUQuotaPerSecUSec"] == "300ms" and props["CPUQuotaPeriodUSec"] == "100ms"
    assert props["DevicePolicy"] == "strict" and ("/dev/char/1:3", "rwm") in props["DeviceAllow"]
    assert props["Description"] == "libcontainer container res" and props["DefaultDependencies"] == "no"
    assert files[f"/sys/fs/cgroup/memory/system.slice/{unit}/memory.limit_in_bytes"].strip() == str(96 << 20)
    assert files[f"/sys/fs/cgroup/cpu/system.slice/{unit}/cpu.cfs_quota_us"].strip() == "30000"
    assert files[f"/sys/fs/cgroup/pids/system.slice/{unit}/pids.max"].strip() == "64"
    assert "c 1:3 rwm" in files[f"/sys/fs/cgroup/devices/system.slice/{unit}/devices.list"]
    assert seen["pyrunc"] == seen["runc"]


def test_memory_hog_is_oom_killed_at_the_limit(machine, runtimes, make_bundle):
    """The kernel enforces the unit's limit: a hog (a subshell doubling a string) in a
    24 MiB scope is OOM-killed; its shell reports 137 and lives on."""
    limit = 24 << 20
    unit = f"{PREFIX}-hog.scope"
    b = bundle(make_bundle, ["sh", "-c", "(a=x; while :; do a=$a$a; done); echo $? > /tmp/status; sleep 300"],
               f":{PREFIX}:hog", {"memory": {"limit": limit, "swap": limit}})
    b.config["root"]["readonly"] = False  # the status file
    b.write()
    status = os.path.join(b.rootfs, "tmp", "status")
    seen = {}
    for rt in runtimes:
        rt.ok("run", "--detach", "--bundle", b.path, "hog")
        try:
            wait_for(lambda: os.path.exists(status) and open(status).read().strip(), what="the hog to be killed")
            d = f"/sys/fs/cgroup/memory/system.slice/{unit}"
            files = read_files(machine, [f"{d}/memory.oom_control", f"{d}/memory.max_usage_in_bytes",
                                         f"{d}/memory.limit_in_bytes"])
        finally:
            rt.ok("delete", "--force", "hog")
        with open(status) as f:
            code = f.read().strip()
        os.unlink(status)
        oom = dict(kv.split() for kv in _pairs(files[f"{d}/memory.oom_control"]))
        seen[rt.name] = (code, oom["oom_kill"], files[f"{d}/memory.limit_in_bytes"].strip(),
                         int(files[f"{d}/memory.max_usage_in_bytes"]) <= limit)
    assert seen["runc"] == ("137", "1", str(limit), True)  # SIGKILL, by the OOM killer, at the limit
    assert seen["pyrunc"] == seen["runc"]


def _pairs(text: str) -> list[str]:
    words = text.split()
    return [f"{a} {b}" for a, b in zip(words[0::2], words[1::2], strict=True)]


def test_update_changes_the_unit_and_the_files(machine, runtimes, make_bundle):
    unit = f"{PREFIX}-upd.scope"
    b = bundle(make_bundle, ["sleep", "300"], f"system.slice:{PREFIX}:upd",
               {"memory": {"limit": 64 << 20}, "pids": {"limit": 50}, "cpu": {"shares": 256}})
    seen = {}
    for rt in runtimes:
        rt.ok("create", "--bundle", b.path, "upd")
        try:
            rt.ok("update", "--memory", "100M", "--pids-limit", "70", "--cpu-quota", "20000", "--cpu-period",
                  "100000", "--cpu-share", "768", "upd")
            props = show(machine, unit, ["MemoryLimit", "TasksMax", "CPUQuotaPerSecUSec", "CPUQuotaPeriodUSec",
                                         "CPUShares"])
            d = f"/sys/fs/cgroup/%s/system.slice/{unit}/%s"
            files = read_files(machine, [d % ("memory", "memory.limit_in_bytes"), d % ("pids", "pids.max"),
                                         d % ("cpu", "cpu.cfs_quota_us"), d % ("cpu", "cpu.shares")])
        finally:
            rt.ok("delete", "--force", "upd")
        seen[rt.name] = (props, files)
    props, files = seen["runc"]
    assert props == {"MemoryLimit": str(100 << 20), "TasksMax": "70", "CPUQuotaPerSecUSec": "200ms",
                     "CPUQuotaPeriodUSec": "100ms", "CPUShares": "768"}
    assert sorted(v.strip() for v in files.values()) == sorted([str(100 << 20), "70", "20000", "768"])
    assert seen["pyrunc"] == seen["runc"]


def test_pause_resume_ps_stats_exec_kill_all(machine, runtimes, make_bundle):
    unit = f"{PREFIX}-frz.scope"
    # two processes: sh execs the last command
    b = bundle(make_bundle, ["sh", "-c", "sleep 300 & sleep 300"], f"system.slice:{PREFIX}:frz",
               {"memory": {"limit": 64 << 20}})
    freezer = f"/sys/fs/cgroup/freezer/system.slice/{unit}/freezer.state"
    seen = {}
    for rt in runtimes:
        rt.ok("run", "--detach", "--bundle", b.path, "frz")
        try:
            wait_for(lambda rt=rt: len(json.loads(rt.ok("ps", "--format", "json", "frz"))) == 2, what="2 processes")
            rt.ok("pause", "frz")
            paused = (rt.state("frz")["status"], read_files(machine, [freezer])[freezer].strip())
            rt.ok("resume", "frz")
            resumed = (rt.state("frz")["status"], read_files(machine, [freezer])[freezer].strip())
            stats = json.loads(rt.ok("events", "--stats", "frz"))["data"]
            # exec joins the unit's cgroups (every hierarchy, name=systemd's and memory's here)
            rt.ok("exec", "--detach", "frz", "sleep", "300")
            wait_for(lambda rt=rt: len(json.loads(rt.ok("ps", "--format", "json", "frz"))) == 3, what="the exec")
            procs = read_files(machine, [f"/sys/fs/cgroup/{h}/system.slice/{unit}/cgroup.procs"
                                         for h in ("systemd", "memory", "unified")])
            in_scope = sorted(len(v.split()) for v in procs.values())
            rt.ok("kill", "--all", "frz", "KILL")
            wait_for(lambda rt=rt: rt.state("frz")["status"] == "stopped", what="the container to stop")
        finally:
            rt.ok("delete", "--force", "frz")
        seen[rt.name] = (paused, resumed, stats["pids"]["current"], stats["memory"]["usage"]["limit"],
                         stats["memory"]["usage"]["usage"] > 0, in_scope,
                         {k: sorted(v) if isinstance(v, dict) else type(v).__name__ for k, v in stats.items()})
    assert seen["runc"][:-1] == (("paused", "FROZEN"), ("running", "THAWED"), 2, 64 << 20, True, [3, 3, 3])
    assert seen["pyrunc"] == seen["runc"]


def test_delete_leaves_no_unit_and_no_cgroup(machine, runtimes, make_bundle):
    unit = f"{PREFIX}-del.scope"
    b = bundle(make_bundle, ["sleep", "300"], f"system.slice:{PREFIX}:del", {"pids": {"limit": 10}})
    seen = {}
    for rt in runtimes:
        rt.ok("run", "--detach", "--bundle", b.path, "del")
        during = (machine.unit_property(unit, "ActiveState"), sorted(os.path.basename(os.path.dirname(d))
                                                                     for d in unit_dirs_left(machine)))
        rt.ok("delete", "--force", "del")
        after = (machine.systemctl("is-active", unit).stdout.strip(), unit_dirs_left(machine), rt.left())
        seen[rt.name] = (during, after)
    during, after = seen["runc"]
    assert during[0] == "active" and len(during[1]) == len(V1) + 1
    assert after == ("inactive", [], [])
    assert seen["pyrunc"] == seen["runc"]


def test_kubernetes_pod_slice(machine, runtimes, make_bundle):
    """A CRI-shaped path: the scope lies in the nested pod slice, which systemd makes; the
    slices outlive the container (they are the kubelet's), as under runc."""
    cid = f"{TOKEN}0f3a"
    unit = f"cri-containerd-{cid}.scope"
    nested = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice"
    b = bundle(make_bundle, ["sleep", "300"], f"kubepods-burstable-pod1234.slice:cri-containerd:{cid}",
               {"memory": {"limit": 50 << 20}})
    seen = {}
    try:
        for rt in runtimes:
            rt.ok("create", "--bundle", b.path, cid)
            try:
                pid = rt.state(cid)["pid"]
                cg = sorted(machine.run(["cat", f"/proc/{pid}/cgroup"]).stdout.split())
                props = show(machine, unit, ["Slice", "MemoryLimit"])
                slices = show(machine, "kubepods-burstable-pod1234.slice", ["ActiveState", "Slice"])
            finally:
                rt.ok("delete", "--force", cid)
            gone = machine.systemctl("is-active", unit).stdout.strip()
            # the slices' directories left afterwards, in every hierarchy
            left = sorted(p for p in machine.run(["sh", "-c", "ls -d /sys/fs/cgroup/*/kubepods.slice 2>/dev/null"])
                          .stdout.split())
            seen[rt.name] = (cg, props, slices, gone, left)
            _remove_slices(machine)
    finally:
        _remove_slices(machine)
    cg, props, slices, gone, _left = seen["runc"]
    assert all(line.endswith(f":{nested}/{unit}") for line in cg), cg
    assert props == {"Slice": "kubepods-burstable-pod1234.slice", "MemoryLimit": str(50 << 20)}
    assert slices == {"ActiveState": "active", "Slice": "kubepods-burstable.slice"}
    assert gone == "inactive"
    assert seen["pyrunc"] == seen["runc"]


def _remove_slices(m: nspawn.Machine) -> None:
    """The test's own clean-up: the pod slices stop, then the directories systemd does not
    manage (runc and pyrunc make them for cpuset, freezer...) go, deepest first."""
    m.systemctl("stop", "kubepods.slice")
    m.run(["sh", "-c", "for d in $(find /sys/fs/cgroup/*/kubepods.slice -depth -type d 2>/dev/null); "
                       "do rmdir $d; done"])


@pytest.mark.parametrize("path, text", [
    ("/foo/bar", 'expected cgroupsPath to be of format \\"slice:prefix:name\\" for systemd cgroups, got '
                 '\\"/foo/bar\\" instead'),
    ("foo.slice:a", 'expected cgroupsPath to be of format \\"slice:prefix:name\\" for systemd cgroups, got '
                    '\\"foo.slice:a\\" instead'),
    ("foo:a:b", "invalid slice name: foo"),
    ("a--b.slice:a:b", "invalid slice name: a--b.slice"),
])
def test_bad_path_is_one_line(machine, runtimes, make_bundle, path, text):
    b = bundle(make_bundle, ["true"], path)
    for rt in runtimes:
        p = rt("create", "--bundle", b.path, "bad")
        assert p.returncode == 1, (rt.name, p)
        assert text in one_line(p.stderr), (rt.name, p.stderr)
        assert rt.left() == []
    assert units_left(machine) == []


def test_systemd_refusing_is_one_line(machine, runtimes, make_bundle):
    """systemd refuses the unit (an annotation's unknown property): one line with systemd's
    answer and the cgroupsPath; no unit, no cgroup, no state."""
    path = f"system.slice:{PREFIX}:no"
    b = bundle(make_bundle, ["true"], path)
    b.config["annotations"] = {"org.systemd.property.Bogus": "uint64 7"}
    b.write()
    for rt in runtimes:
        p = rt("create", "--bundle", b.path, "no")
        assert p.returncode == 1, (rt.name, p)
        err = p.stderr.splitlines()[-1] if rt.name == "runc" else one_line(p.stderr)  # runc warns first
        assert "Cannot set property Bogus, or unknown property." in err, (rt.name, p.stderr)
        assert rt.left() == []
    assert path in one_line(runtimes[1]("create", "--bundle", b.path, "no").stderr)
    assert units_left(machine) == [] and unit_dirs_left(machine) == []


def test_failed_create_leaves_no_unit(machine, runtimes, make_bundle):
    """The unit exists once the init is placed; a create that fails after that (the
    program cannot be found) stops it again and removes its directories, as runc."""
    b = bundle(make_bundle, ["/nosuch"], f"system.slice:{PREFIX}:fail", {"memory": {"limit": 32 << 20}})
    seen = {}
    for rt in runtimes:
        p = rt("run", "--bundle", b.path, "fail")
        line = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ""
        seen[rt.name] = (p.returncode, "/nosuch" in line, rt.left(), units_left(machine), unit_dirs_left(machine))
        if rt.name == "pyrunc":
            one_line(p.stderr)
    assert seen["runc"] == (1, True, [], [], [])
    assert seen["pyrunc"] == seen["runc"]


BUS = "/run/dbus/system_bus_socket"
PRIVATE = "/run/systemd/private"


def _without(m: nspawn.Machine, sockets: list[str], argv: list[str]):
    """``argv`` in a mount namespace of its own where each of ``sockets`` is /dev/null."""
    script = "for s in $SOCKETS; do mount --bind /dev/null $s || exit 99; done; exec \"$@\""
    return m.run(["env", f"SOCKETS={' '.join(sockets)}", "unshare", "--mount", "--propagation", "private",
                  "sh", "-c", script, "sh", *argv], timeout=60)


@pytest.mark.parametrize("blocked", [[PRIVATE], [BUS]], ids=["no-private-socket", "no-system-bus"])
def test_either_socket_is_enough(machine, runtimes, make_bundle, blocked):
    """The system bus first, then systemd's private socket (go-systemd, as runc uses it):
    either one alone reaches systemd."""
    b = bundle(make_bundle, ["true"], f"system.slice:{PREFIX}:one", {"pids": {"limit": 9}})
    seen = {}
    for rt in runtimes:
        p = _without(machine, blocked, [RUNTIMES[rt.name], "--root", rt.root, "--systemd-cgroup", "create",
                                        "--bundle", b.path, "one"])
        assert p.returncode == 0, (rt.name, p)
        seen[rt.name] = machine.unit_property(f"{PREFIX}-one.scope", "TasksMax")
        _without(machine, blocked, [RUNTIMES[rt.name], "--root", rt.root, "delete", "--force", "one"])
    assert seen == {"runc": "9", "pyrunc": "9"}


def _systemd_peers(m: nspawn.Machine) -> set[str]:
    """The socket inodes of the client ends of every connection to the system bus and to
    systemd's private socket in the machine (``ss``: the server end names the path, its
    peer column the client end's inode)."""
    out = set()
    for line in m.run(["ss", "-xn"]).stdout.splitlines():
        f = line.split()
        if len(f) >= 8 and f[4] in (BUS, PRIVATE):
            out.add(f[7])
    return out


def _socket_inodes(m: nspawn.Machine, pid: int) -> set[str]:
    links = m.run(["sh", "-c", f"for f in /proc/{pid}/fd/*; do readlink $f; done"]).stdout.split()
    return {x[len("socket:["):-1] for x in links if x.startswith("socket:[")}


def test_run_keeps_no_connection_to_systemd(machine, runtimes, make_bundle):
    """The D-Bus connection is closed once the container is made: a foreground ``run``
    lives as long as its container and holds no connection to systemd meanwhile (runc
    1.1.5 keeps go-systemd's for its whole life; that is not copied)."""
    b = bundle(make_bundle, ["sleep", "300"], f"system.slice:{PREFIX}:bus", {"pids": {"limit": 20}})
    held = {}
    for rt in runtimes:
        cmd = (f"{RUNTIMES[rt.name]} --root {rt.root} --systemd-cgroup run --bundle {b.path} bus "
               "</dev/null >/dev/null 2>&1 & echo $!")
        pid = int(machine.run(["sh", "-c", cmd]).stdout)
        try:
            wait_for(lambda rt=rt: "running" in rt("state", "bus").stdout, what="the container to run")
            held[rt.name] = len(_socket_inodes(machine, pid) & _systemd_peers(machine))
        finally:
            rt("delete", "--force", "bus")
            wait_for(lambda pid=pid: machine.run(["kill", "-0", str(pid)]).returncode != 0,
                     what=f"{rt.name} run to end")
    assert held["runc"] > 0, held  # the count sees a connection where there is one
    assert held["pyrunc"] == 0, held


def test_missing_systemd_is_one_line(machine, runtimes, make_bundle):
    """Neither the system bus nor systemd's private socket answers (each is /dev/null in
    a mount namespace of the runtime's): one line naming the cgroupsPath and what failed;
    nothing left."""
    path = f"system.slice:{PREFIX}:gone"
    b = bundle(make_bundle, ["true"], path)
    for rt in runtimes:
        p = _without(machine, [BUS, PRIVATE], [RUNTIMES[rt.name], "--root", rt.root, "--systemd-cgroup", "create",
                                                "--bundle", b.path, "gone"])
        assert p.returncode == 1, (rt.name, p)
        line = p.stderr.splitlines()[-1] if rt.name == "runc" else one_line(p.stderr)  # runc warns first
        assert f"dial unix {PRIVATE}: connect: connection refused" in line, (rt.name, line)
        assert rt.left() == []
        if rt.name == "pyrunc":
            assert path in line and f"dial unix {BUS}: connect: connection refused" in line, line
    assert units_left(machine) == [] and unit_dirs_left(machine) == []


def test_without_systemd_on_the_host(pyrunc, make_bundle):
    """Outside the machine (no systemd as PID 1): runc's text, exit 1, nothing left."""
    if os.path.isdir("/run/systemd/system"):
        pytest.skip("this host runs systemd")
    b = bundle(make_bundle, ["true"], "system.slice:x:y")
    p = pyrunc("--systemd-cgroup", "create", "-b", b.path, "nosd")
    assert p.returncode == 1
    assert "systemd not running on this host, cannot use systemd cgroups manager" in one_line(p.stderr)


def test_hot_path_imports_nothing_new(make_bundle, tmp_path):
    """A container without --systemd-cgroup loads neither the driver nor jeepney."""
    import subprocess

    b = make_bundle(["true"])
    probe = ("import os, sys\n"
             "from pyrunc.runtime.cli.main import main\n"
             "code = main(['--root', sys.argv[1], 'run', '--bundle', sys.argv[2], 'hot'])\n"
             "sys.stderr.write('LOADED ' + ' '.join(sorted(m for m in sys.modules if 'jeepney' in m or 'systemd' in m))"
             " + '\\n')\n"
             "sys.stderr.flush()\n"
             "os._exit(code)\n")
    p = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "state-root"), b.path], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "LOADED \n" in p.stderr, p.stderr


CRI_CONFIG = """version = 2
root = "{d}/root"
state = "{run}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "{run}/containerd.sock"
[ttrpc]
  address = "{run}/containerd.sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  sandbox_image = "{pause}"
  enable_selinux = false
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
{runtimes}
"""
CRI_RUNTIME = """    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{name}]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{name}.options]
        BinaryName = "{binary}"
        Root = "{run}/{name}-root"
        SystemdCgroup = true
"""


def test_cri_pod_with_systemd_cgroup(machine, base_dir, busybox_rootfs):
    """containerd's CRI with ``SystemdCgroup = true`` (a systemd-driver node), run as a
    service of the machine's systemd, handler runc then handler pyrunc: a host-network pod
    in the Kubernetes-shaped pod slice runs a container; the sandbox's and the container's
    scopes lie in that slice with the container's memory limit, and go with the pod."""
    crictl = _crictl()
    if not crictl:
        pytest.skip("crictl not found: set $CRICTL or put cri-tools' crictl on PATH (Debian does not package it)")
    import cri_env
    import ociimage

    d = os.path.join(base_dir, f"sdcri-{TOKEN}")
    run = f"/run/sdcri-{TOKEN}"
    service = f"{PREFIX}-containerd.service"
    os.makedirs(os.path.join(d, "images"))
    pause = cri_env.build_pause_rootfs(os.path.join(d, "images", "pause-rootfs"))
    ociimage.build(pause, os.path.join(d, "images", "pause.tar"), cri_env.PAUSE_REF,
                   {"Entrypoint": ["/pause"], "Cmd": None})
    ociimage.build(busybox_rootfs, os.path.join(d, "images", "busybox.tar"), cri_env.BUSYBOX_REF)
    runtimes = "".join(CRI_RUNTIME.format(name=n, binary=RUNTIMES[n], run=run) for n in ("runc", "pyrunc"))
    with open(os.path.join(d, "config.toml"), "w") as f:
        f.write(CRI_CONFIG.format(d=d, run=run, pause=cri_env.PAUSE_REF, runtimes=runtimes))
    with open(os.path.join(d, "crictl.yaml"), "w") as f:
        f.write(f"runtime-endpoint: unix://{run}/containerd.sock\nimage-endpoint: unix://{run}/containerd.sock\n"
                "timeout: 60\n")
    pod = {"metadata": {"name": "sdpod", "namespace": "default", "uid": f"uid{TOKEN}", "attempt": 0},
           "linux": {"cgroup_parent": "kubepods-burstable-pod1234.slice",
                     "security_context": {"namespace_options": {"network": 2}}}}  # the node's network: no CNI
    ctr = {"metadata": {"name": "sleeper"}, "image": {"image": cri_env.BUSYBOX_REF}, "command": ["sleep", "300"],
           "linux": {"resources": {"memory_limit_in_bytes": 40 << 20}}}
    for name, obj in (("pod.json", pod), ("ctr.json", ctr)):
        with open(os.path.join(d, name), "w") as f:
            json.dump(obj, f)

    def crictl_run(*args: str) -> str:
        p = machine.run([crictl, "--config", os.path.join(d, "crictl.yaml"), *args], timeout=90)
        assert p.returncode == 0, f"crictl {' '.join(args)}: {p.stderr}"
        return p.stdout.strip()

    # The machine's /etc is empty: containerd copies the node's hosts file into each pod.
    machine.run(["sh", "-c", "[ -e /etc/hosts ] || echo '127.0.0.1 localhost' > /etc/hosts; "
                             "[ -e /etc/resolv.conf ] || : > /etc/resolv.conf"])
    p = machine.run(["systemd-run", f"--unit={service}", "--property=KillMode=control-group", "containerd",
                     "--config", os.path.join(d, "config.toml")])
    assert p.returncode == 0, p.stderr
    seen = {}
    try:
        wait_for(lambda: machine.run(["ctr", "-a", f"{run}/containerd.sock", "version"], timeout=10).returncode == 0,
                 timeout=30, what="containerd")
        for image in ("pause.tar", "busybox.tar"):
            p = machine.run(["ctr", "-a", f"{run}/containerd.sock", "-n", "k8s.io", "images", "import",
                             os.path.join(d, "images", image)], timeout=120)
            assert p.returncode == 0, p.stderr
        for handler in ("runc", "pyrunc"):
            sandbox = crictl_run("runp", "--runtime", handler, os.path.join(d, "pod.json"))
            try:
                cid = crictl_run("create", sandbox, os.path.join(d, "ctr.json"), os.path.join(d, "pod.json"))
                crictl_run("start", cid)
                info = json.loads(crictl_run("inspect", cid))
                state = info["status"]["state"]
                cg = sorted(machine.run(["cat", f"/proc/{info['info']['pid']}/cgroup"]).stdout.split())
                scope = show(machine, f"cri-containerd-{cid}.scope", ["Slice", "MemoryLimit", "ActiveState"])
                pause_scope = show(machine, f"cri-containerd-{sandbox}.scope", ["Slice", "ActiveState"])
            finally:
                crictl_run("stopp", sandbox)
                crictl_run("rmp", sandbox)
            left = machine.systemctl("list-units", "--all", "--plain", "--no-legend", "cri-containerd-*").stdout
            nested = f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/cri-containerd-{cid}"
            seen[handler] = (state, all(line.endswith(nested + ".scope") for line in cg), scope, pause_scope,
                             left.strip())
    finally:
        machine.systemctl("stop", service, timeout=60)
        machine.systemctl("reset-failed", service)
        _remove_slices(machine)
        machine.run(["rm", "-rf", run])
        import shutil

        shutil.rmtree(d, ignore_errors=True)
    slice_ = "kubepods-burstable-pod1234.slice"
    assert seen["runc"] == ("CONTAINER_RUNNING", True,
                            {"Slice": slice_, "MemoryLimit": str(40 << 20), "ActiveState": "active"},
                            {"Slice": slice_, "ActiveState": "active"}, "")
    assert seen["pyrunc"] == seen["runc"]
