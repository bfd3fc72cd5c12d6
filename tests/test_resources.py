"""linux.resources on the real cgroup v1 hierarchies of this host (hybrid: v1 controllers
plus the unified tree), pause/resume, update and ps.  The v2 file conversions are pure
functions and are tested as such (this host's unified tree has no v2 limit controllers)."""

import json
import os
import subprocess
import time

import pytest
from pyrunc.runtime.linux.cgroups import convert, files, v1, v2
from pyrunc.spec import resources as cr


def wait_status(pyrunc, cid, status, timeout=10):
    deadline = time.time() + timeout
    while pyrunc.state(cid)["status"] != status:
        assert time.time() < deadline, f"{cid} never became {status}"
        time.sleep(0.05)


def cg(b, ctrl):
    return f"/sys/fs/cgroup/{ctrl}{b.config['linux']['cgroupsPath']}"


COUNTER = ["sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.02; done"]


def counter_value(b) -> int:
    """What the COUNTER container last wrote (0 before it starts)."""
    try:
        return int(open(os.path.join(b.rootfs, "tmp", "count")).read() or 0)
    except (OSError, ValueError):
        return 0


def wait_until(cond, what: str, timeout: float = 10) -> None:
    deadline = time.time() + timeout
    while not cond():
        assert time.time() < deadline, what
        time.sleep(0.05)


def test_memory_limit_oom_kills(pyrunc, make_bundle):
    # dd's 200 MiB buffer is touched page by page: far past the 32 MiB limit.
    b = make_bundle(["sh", "-c", "dd if=/dev/zero of=/dev/null bs=200M count=1 2>/dev/null; echo survived"])
    b.config["linux"]["resources"]["memory"] = {"limit": 32 * 1024 * 1024, "swap": 32 * 1024 * 1024}
    b.write()
    p = pyrunc("run", "-b", b.path, "oom")
    assert p.returncode == 0 and "survived" in p.stdout  # sh survives ...
    b.config["process"]["args"] = ["dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1"]
    b.write()
    p = pyrunc("run", "-b", b.path, "oom")
    assert p.returncode == 128 + 9, p.stderr  # ... dd itself is OOM-killed


def test_memory_files_written(pyrunc, make_bundle):
    b = make_bundle(["sleep", "1000"])
    b.config["linux"]["resources"]["memory"] = {"limit": 64 << 20, "reservation": 32 << 20, "swappiness": 10,
                                                "kernel": 1 << 30}
    b.write()
    p = pyrunc("run", "-d", "-b", b.path, "mem")
    assert p.returncode == 0, p.stderr
    assert "Kernel memory settings are ignored and will be removed" in p.stderr  # runc 1.5's warning
    d = cg(b, "memory")
    assert int(open(f"{d}/memory.limit_in_bytes").read()) == 64 << 20
    assert int(open(f"{d}/memory.soft_limit_in_bytes").read()) == 32 << 20
    assert int(open(f"{d}/memory.swappiness").read()) == 10
    pyrunc("delete", "--force", "mem", check=True)


def test_pids_limit_makes_fork_fail(pyrunc, make_bundle):
    b = make_bundle(["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 2 & done 2>&1; wait"])
    b.config["linux"]["resources"]["pids"] = {"limit": 5}
    b.write()
    p = pyrunc("run", "-b", b.path, "pids")
    assert "can't fork" in p.stdout + p.stderr


def test_cpu_quota_throttles(pyrunc, make_bundle):
    b = make_bundle(["sh", "-c", "while true; do :; done"])
    b.config["linux"]["resources"]["cpu"] = {"quota": 10000, "period": 100000, "shares": 512}
    b.write()
    pyrunc("run", "-d", "-b", b.path, "cpu", check=True)
    d = cg(b, "cpu")
    assert open(f"{d}/cpu.cfs_quota_us").read().strip() == "10000"
    assert open(f"{d}/cpu.shares").read().strip() == "512"
    time.sleep(0.6)
    stat = dict(line.split() for line in open(f"{d}/cpu.stat"))
    assert int(stat["nr_periods"]) > 0 and int(stat["nr_throttled"]) > 0, stat
    pyrunc("delete", "--force", "cpu", check=True)


def test_cpuset_seen_by_the_container(pyrunc, make_bundle):
    b = make_bundle(["grep", "Cpus_allowed_list", "/proc/self/status"])
    b.config["linux"]["resources"]["cpu"] = {"cpus": "0", "mems": "0"}
    b.write()
    p = pyrunc("run", "-b", b.path, "cpuset")
    assert p.stdout.split() == ["Cpus_allowed_list:", "0"], p.stderr


def test_devices_controller_denies_unlisted_device(pyrunc, make_bundle):
    b = make_bundle(["sh", "-c", "head -c 1 /dev/mydev > /dev/null && echo opened || echo denied; "
                     "head -c 1 /dev/zero | wc -c"])
    b.config["linux"]["devices"] = [{"path": "/dev/mydev", "type": "c", "major": 1, "minor": 8}]
    b.config["linux"]["resources"]["devices"] = [{"allow": False, "access": "rwm"},
                                                 {"allow": False, "type": "c", "major": 1, "minor": 8,
                                                  "access": "rwm"}]
    # /dev/random (1:8) is in runc's default allow list: deny it by making the rule the last word.
    b.write()
    p = pyrunc("run", "-b", b.path, "dev")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split()[-1] == "1"  # /dev/zero stays usable (default allow list)


def test_devices_rules_written(pyrunc, make_bundle):
    b = make_bundle(["sleep", "1000"])
    b.config["linux"]["resources"]["devices"] = [{"allow": False, "access": "rwm"},
                                                 {"allow": True, "type": "c", "major": 10, "minor": 229,
                                                  "access": "rw"}]
    b.write()
    pyrunc("run", "-d", "-b", b.path, "devw", check=True)
    rules = open(f"{cg(b, 'devices')}/devices.list").read().split("\n")
    assert "c 10:229 rw" in rules and "c 1:3 rwm" in rules and "a *:* rwm" not in rules
    pyrunc("delete", "--force", "devw", check=True)


def test_pause_and_resume(pyrunc, make_bundle):
    b = make_bundle(COUNTER)
    b.config["root"]["readonly"] = False
    b.write()
    pyrunc("run", "-d", "-b", b.path, "pz", check=True)
    wait_until(lambda: counter_value(b) >= 3, "the container never started counting")
    assert pyrunc("pause", "pz").returncode == 0
    assert pyrunc.state("pz")["status"] == "paused"
    assert "paused" in pyrunc("list").stdout
    a = counter_value(b)
    time.sleep(0.4)
    assert counter_value(b) == a, "a paused container kept counting"
    p = pyrunc("pause", "pz")
    assert p.returncode == 1 and "container not running" in p.stderr
    assert pyrunc("resume", "pz").returncode == 0
    wait_until(lambda: counter_value(b) > a, "a resumed container did not go on counting")
    p = pyrunc("resume", "pz")
    assert p.returncode == 1 and "container not paused" in p.stderr
    pyrunc("pause", "pz", check=True)
    assert pyrunc("delete", "--force", "pz").returncode == 0  # a paused container is thawed and killed


def test_update_from_stdin_and_flags(pyrunc, make_bundle):
    b = make_bundle(["sleep", "1000"])
    pyrunc("run", "-d", "-b", b.path, "up", check=True)
    p = pyrunc("update", "--resources", "-", "up",
               input=json.dumps({"memory": {"limit": 100 << 20}, "pids": {"limit": 50}}))
    assert p.returncode == 0, p.stderr
    assert int(open(f"{cg(b, 'memory')}/memory.limit_in_bytes").read()) == 100 << 20
    assert open(f"{cg(b, 'pids')}/pids.max").read().strip() == "50"
    # A pids limit of 0 means "unset" (runc 1.1 leaves pids.max alone), -1 means no limit.
    assert pyrunc("update", "--memory", "200m", "--pids-limit", "0", "--cpu-quota", "20000", "up").returncode == 0
    assert int(open(f"{cg(b, 'memory')}/memory.limit_in_bytes").read()) == 200 << 20
    assert open(f"{cg(b, 'pids')}/pids.max").read().strip() == "50"
    assert pyrunc("update", "--pids-limit", "-1", "up").returncode == 0
    assert open(f"{cg(b, 'pids')}/pids.max").read().strip() == "max"
    assert open(f"{cg(b, 'cpu')}/cpu.cfs_quota_us").read().strip() == "20000"
    p = pyrunc("update", "--resources", "-", "up", input=json.dumps({"unified": {"memory.max": "1"}}))
    assert p.returncode == 1 and "cannot use unified on cgroup v1" in p.stderr
    pyrunc("delete", "--force", "up", check=True)


def test_ps_json_and_table(pyrunc, make_bundle):
    b = make_bundle(["sh", "-c", "sleep 1000 & sleep 1001"])
    pyrunc("run", "-d", "-b", b.path, "ps", check=True)
    time.sleep(0.3)
    p = pyrunc("ps", "--format", "json", "ps")
    assert p.stderr == ""
    pids = json.loads(p.stdout)
    # sh forks one sleep and execs the other: two processes.
    assert len(pids) == 2 and pyrunc.state("ps")["pid"] in pids
    table = pyrunc("ps", "ps").stdout.splitlines()
    assert table[0].split()[1] == "PID" and len(table) == 3 and any("sleep 1001" in ln for ln in table)
    pyrunc("delete", "--force", "ps", check=True)


@pytest.mark.parametrize("res,needle", [
    ({"unified": {"memory.max": "1"}}, "linux.resources.unified: cannot use unified on cgroup v1"),
    ({"cpu": {"cpus": "99"}}, "linux.resources.cpu.cpus"),
    ({"cpu": {"cpus": "zero"}}, "linux.resources.cpu.cpus"),
    ({"memory": {"useHierarchy": False}}, "linux.resources.memory.useHierarchy"),
    ({"memory": {"swappiness": 300}}, "linux.resources.memory.swappiness"),
    ({"cpu": {"quota": 100, "period": 100000}}, "linux.resources.cpu.quota"),  # below the kernel's 1 ms
])
def test_bad_resources(pyrunc, make_bundle, res, needle):
    b = make_bundle(["true"])
    b.config["linux"]["resources"].update(res)
    b.write()
    p = pyrunc("create", "-b", b.path, "badres")
    assert p.returncode == 1 and needle in p.stderr, p.stderr
    assert len(p.stderr.splitlines()) == 1


def test_cgroups_path_with_dotdot(pyrunc, make_bundle):
    b = make_bundle(["true"])
    b.config["linux"]["cgroupsPath"] = "/pyrunc-x/../../escape"
    b.write()
    p = pyrunc("create", "-b", b.path, "dd")
    assert p.returncode == 1 and "linux.cgroupsPath" in p.stderr


def test_v2_conversions_as_functions():
    assert convert.shares_to_weight(2) == 1 and convert.shares_to_weight(262144) == 10000
    assert convert.shares_to_weight(1024) == 39
    assert convert.blkio_weight_to_io_weight(10) == 1 and convert.blkio_weight_to_io_weight(1000) == 10000
    w = {f: v for _, f, v, _ in v2.limit_writes(cr.parse({"memory": {"limit": 100, "swap": 300, "reservation": 50},
                                                          "cpu": {"shares": 1024, "quota": 5000, "period": 10000,
                                                                  "cpus": "0-1"},
                                                          "pids": {"limit": -1}, "blockIO": {"weight": 500},
                                                          "unified": {"memory.high": "90"}}))}
    assert w == {"memory.max": "100", "memory.low": "50", "memory.swap.max": "200", "cpu.weight": "39",
                 "cpu.max": "5000 10000", "cpuset.cpus": "0-1", "pids.max": "max", "io.weight": "default 4950",
                 "memory.high": "90"}


def test_v2_writes_to_a_fake_tree_for_what_this_host_lacks(tmp_path):
    """Named as the errata asks: the v2 limit files cannot be exercised for real here."""
    d = tmp_path / "fake-v2"
    d.mkdir()
    for f in ("memory.max", "cpu.max", "pids.max"):
        (d / f).write_text("")
    for _ctrl, fname, value, _ in v2.limit_writes(cr.parse({"memory": {"limit": 1 << 20}, "cpu": {"quota": 1000},
                                                            "pids": {"limit": 7}})):
        files._write(str(d / fname), value)
    assert (d / "memory.max").read_text() == str(1 << 20)
    assert (d / "cpu.max").read_text() == "1000 100000"
    assert (d / "pids.max").read_text() == "7"


def test_events_stats_and_oom(pyrunc, make_bundle):
    b = make_bundle(["sh", "-c", "sleep 0.5; dd if=/dev/zero of=/dev/null bs=100M count=1; sleep 1000"])
    b.config["linux"]["resources"]["memory"] = {"limit": 32 << 20, "swap": 32 << 20}
    b.config["linux"]["resources"]["pids"] = {"limit": 20}
    b.write()
    pyrunc("run", "-d", "-b", b.path, "ev", check=True)
    p = pyrunc("events", "--stats", "ev")
    ev = json.loads(p.stdout)
    assert ev["type"] == "stats" and ev["id"] == "ev"
    assert ev["data"]["memory"]["usage"]["limit"] == 32 << 20
    assert ev["data"]["pids"]["limit"] == 20 and ev["data"]["pids"]["current"] >= 1
    assert ev["data"]["cpu"]["usage"]["total"] > 0
    stream = subprocess.Popen(pyrunc.cmd("events", "--interval", "200ms", "ev"), stdout=subprocess.PIPE, text=True)
    kinds = []
    deadline = time.time() + 10
    while "oom" not in kinds and time.time() < deadline:
        kinds.append(json.loads(stream.stdout.readline())["type"])
    pyrunc("delete", "--force", "ev", check=True)
    stream.wait(timeout=10)
    assert "stats" in kinds and "oom" in kinds


def under_device_filter(name: str, rules: list[dict], script: str) -> str:
    """Run ``script`` in a test cgroup of this host's unified tree with the v2 device
    filter built from ``rules`` attached to it; returns its stdout."""
    from conftest import CGROUP_PARENT
    from pyrunc.runtime.linux import devicefilter

    base = "/sys/fs/cgroup/unified"
    if not os.path.isdir(base):
        pytest.skip("no cgroup2 hierarchy on this host")
    node = f"{base}{CGROUP_PARENT}/{name}"
    os.makedirs(node)
    try:
        prog = devicefilter.load(devicefilter.build(rules))
        try:
            devicefilter.attach(node, prog)
        finally:
            os.close(prog)

        def join():
            with open(f"{node}/cgroup.procs", "w") as f:
                f.write("0")

        p = subprocess.run(["sh", "-c", script], capture_output=True, text=True, preexec_fn=join, timeout=30)
        return p.stdout
    finally:
        os.rmdir(node)
        try:
            os.rmdir(f"{base}{CGROUP_PARENT}")
        except OSError:
            pass


def test_v2_device_program_verified_and_enforced_on_the_unified_tree():
    """The pure-v2 device filter: checked by the kernel's verifier at load, and (since this
    hybrid host has a cgroup2 tree every process also belongs to) attached to a test
    cgroup there, where it decides what a process may open."""
    from pyrunc.runtime.linux import devicefilter

    rules = [{"allow": False, "access": "rwm"}, {"allow": True, "type": "c", "major": 1, "minor": 3,
                                                 "access": "rw"}]
    out = under_device_filter("bpf-devices", rules, "cat /dev/null && echo null-ok; "
                              "head -c 1 /dev/zero > /dev/null 2>&1 && echo zero-ok || echo zero-denied")
    assert out.split() == ["null-ok", "zero-denied"], out
    # With the defaults appended, /dev/zero is allowed again (runc's allow list).
    with_defaults = v2.device_rules_with_defaults(cr.parse({"devices": rules}).devices)
    assert len(devicefilter.build(with_defaults)) > len(devicefilter.build(rules))


def test_v2_freeze_path_on_the_unified_tree(pyrunc, make_bundle):
    """The v2 freezer (cgroup.freeze), for real on this host's unified tree: the CLI uses
    the v1 freezer here (runc's hybrid rule), so the manager's v2 path is driven directly."""
    b = make_bundle(COUNTER)
    b.config["root"]["readonly"] = False
    b.write()
    pyrunc("run", "-d", "-b", b.path, "v2f", check=True)
    unified = cg(b, "unified")
    wait_until(lambda: counter_value(b) >= 3, "the container never started counting")
    v2.Fs2Manager([unified]).freeze()
    wait_until(lambda: "frozen 1" in open(f"{unified}/cgroup.events").read(), "cgroup.events never said frozen")
    a = counter_value(b)
    time.sleep(0.3)
    assert counter_value(b) == a
    assert pyrunc.state("v2f")["status"] == "paused"  # status reads cgroup.freeze too
    v2.Fs2Manager([unified]).thaw()
    wait_until(lambda: counter_value(b) > a, "a thawed container did not go on counting")
    pyrunc("delete", "--force", "v2f", check=True)


def test_v2_device_program_deny_refuses_any_overlapping_access():
    """v1's semantics: a deny rule refuses a request asking for any of its access bits."""
    rules = [{"allow": False, "access": "rwm"},
             {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
             {"allow": False, "type": "c", "major": 1, "minor": 3, "access": "w"}]
    out = under_device_filter("bpf-deny", rules, "cat /dev/null && echo r-ok || echo r-denied; "
                              "(: <> /dev/null) 2>/dev/null && echo rw-ok || echo rw-denied; "
                              "(: > /dev/null) 2>/dev/null && echo w-ok || echo w-denied")
    assert out.split() == ["r-ok", "rw-denied", "w-denied"], out


def test_update_zero_means_unchanged_and_memory_minus_one(pyrunc, make_bundle):
    b = make_bundle(["sleep", "1000"])
    b.config["linux"]["resources"]["memory"] = {"limit": 100 << 20, "swap": 200 << 20}
    b.config["linux"]["resources"]["cpu"] = {"shares": 512, "quota": 20000, "period": 100000}
    b.write()
    pyrunc("run", "-d", "-b", b.path, "uz", check=True)
    p = pyrunc("update", "-r", "-", "uz", input=json.dumps({"cpu": {"shares": 0, "quota": 0, "period": 0},
                                                            "memory": {"limit": 0}}))
    assert p.returncode == 0, p.stderr
    assert open(f"{cg(b, 'cpu')}/cpu.shares").read().strip() == "512"
    assert open(f"{cg(b, 'cpu')}/cpu.cfs_quota_us").read().strip() == "20000"
    assert int(open(f"{cg(b, 'memory')}/memory.limit_in_bytes").read()) == 100 << 20
    assert pyrunc("update", "--memory", "-1", "uz").returncode == 0  # memsw follows, as runc
    assert int(open(f"{cg(b, 'memory')}/memory.limit_in_bytes").read()) > 1 << 40
    assert pyrunc("update", "--cpu-period", "10000", "--cpu-quota", "5000", "uz").returncode == 0
    assert open(f"{cg(b, 'cpu')}/cpu.cfs_period_us").read().strip() == "10000"
    pyrunc("delete", "--force", "uz", check=True)


def test_kill_sigkill_reaches_a_paused_container(pyrunc, make_bundle):
    b = make_bundle(["sleep", "1000"])
    pyrunc("run", "-d", "-b", b.path, "pk", check=True)
    pyrunc("pause", "pk", check=True)
    assert pyrunc("kill", "pk", "KILL").returncode == 0
    wait_until(lambda: pyrunc.state("pk")["status"] == "stopped", "a paused container survived SIGKILL")
    pyrunc("delete", "pk", check=True)


def test_ps_passes_options_to_ps(pyrunc, make_bundle):
    b = make_bundle(["sleep", "1000"])
    pyrunc("run", "-d", "-b", b.path, "pso", check=True)
    pid = pyrunc.state("pso")["pid"]
    p = pyrunc("ps", "pso", "-o", "pid,comm")  # runc passes a "--" on to ps(1), which refuses it
    assert p.returncode == 0, p.stderr
    lines = p.stdout.split("\n")
    assert lines[0].split() == ["PID", "COMMAND"] and lines[1].split() == [str(pid), "sleep"]
    pyrunc("delete", "--force", "pso", check=True)


#: What Docker 20.10 sends for a container without limits: zeros (and empty cpusets)
#: for "unset".
DOCKER_UNSET = {"memory": {"limit": 0, "reservation": 0, "swap": 0, "kernel": 0, "kernelTCP": 0},
                "cpu": {"shares": 0, "quota": 0, "period": 0, "realtimeRuntime": 0, "realtimePeriod": 0,
                        "cpus": "", "mems": ""},
                "pids": {"limit": 0}, "blockIO": {"weight": 0, "leafWeight": 0,
                                                  "weightDevice": [{"major": 254, "minor": 0, "weight": 0}]},
                "network": {"classID": 0}}


def test_zeros_docker_sends_are_unset():
    """runc 1.1's cgroup Set functions skip these zeros at create as at update (none is
    written: blkio.weight is absent without BFQ, cpu.shares 0 would become 2)."""
    assert v1.limit_writes(cr.parse(DOCKER_UNSET)) == []
    assert v2.limit_writes(cr.parse(DOCKER_UNSET)) == []
    assert v1.limit_writes(cr.parse({"memory": {"swappiness": 2**64 - 1}})) == []
    # Non-zero values next to them are written, and -1 is not "unset".
    writes = v1.limit_writes(cr.parse({"cpu": {"shares": 512, "quota": 0}, "pids": {"limit": -1}}))
    assert [(w[1], w[2]) for w in writes] == [("cpu.shares", "512"), ("pids.max", "max")]


def test_create_with_dockers_unset_resources(pyrunc, make_bundle):
    b = make_bundle(["cat", "/sys/fs/cgroup/cpu/cpu.shares", "/sys/fs/cgroup/pids/pids.max"])
    b.config["linux"]["resources"] = dict(DOCKER_UNSET, devices=[{"allow": False, "access": "rwm"}])
    b.write()
    p = pyrunc("run", "-b", b.path, "unset")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["1024", "max"]


DOCKER_DEVICES = [{"allow": False, "access": "rwm"},
                  {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
                  {"allow": True, "type": "c", "major": 5, "minor": 1, "access": "rwm"},
                  {"allow": False, "type": "c", "major": 10, "minor": 229, "access": "rwm"},
                  {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "r"}]


@pytest.mark.parametrize("devices", [None, [], DOCKER_DEVICES, [{"allow": True, "access": "rwm"},
                                                                  {"allow": False, "type": "b", "access": "w"}]],
                         ids=["absent", "empty", "docker", "allow-all-but"])
def test_device_rules_as_runc(pyrunc, make_bundle, tmp_path, devices):
    """devices.list as runc 1.1 leaves it, order included: the default list even when the
    config has no rules (a container never keeps its parent's "a *:* rwm")."""
    b = make_bundle(["sleep", "1000"])
    b.config["linux"]["resources"].pop("devices", None)
    if devices is not None:
        b.config["linux"]["resources"]["devices"] = devices
    b.write()
    seen = {}
    for name, argv in (("runc", ["/usr/sbin/runc", "--root", str(tmp_path / "runc")]), ("pyrunc", pyrunc.cmd())):
        # Not pipes: a detached container keeps run's stdio.
        assert subprocess.run([*argv, "run", "-d", "-b", b.path, "dl"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=60, stdin=subprocess.DEVNULL).returncode == 0
        seen[name] = open(f"{cg(b, 'devices')}/devices.list").read()
        subprocess.run([*argv, "delete", "-f", "dl"], capture_output=True, timeout=60)
    assert ("c 1:3 rwm" in seen["runc"]) == (devices != [{"allow": True, "access": "rwm"},
                                                           {"allow": False, "type": "b", "access": "w"}])
    assert seen["pyrunc"] == seen["runc"]


@pytest.mark.skipif(not os.path.isdir("/sys/fs/cgroup/blkio"), reason="no v1 blkio hierarchy on this host")
def test_blkio_weight_falls_back_to_bfq(pyrunc, make_bundle):
    """runc 1.1.5 (fs/blkio.go): a kernel without CFQ has no blkio.weight; the weight goes
    to BFQ's blkio.bfq.weight instead, at create and at update."""
    b = make_bundle(["sleep", "1000"])
    b.config["linux"]["resources"]["blockIO"] = {"weight": 300}
    b.write()
    p = pyrunc("run", "-d", "-b", b.path, "bfq")
    assert p.returncode == 0, p.stderr
    d = cg(b, "blkio")
    if os.path.exists(f"{d}/blkio.weight"):
        pyrunc("delete", "--force", "bfq", check=True)
        pytest.skip("this kernel has CFQ's blkio.weight: no fallback to see")
    if not os.path.exists(f"{d}/blkio.bfq.weight"):
        pyrunc("delete", "--force", "bfq", check=True)
        pytest.skip("this kernel has neither blkio.weight nor BFQ")
    assert open(f"{d}/blkio.bfq.weight").read().split()[-1] == "300"
    assert pyrunc("update", "--blkio-weight", "700", "bfq").returncode == 0
    assert open(f"{d}/blkio.bfq.weight").read().split()[-1] == "700"
    pyrunc("delete", "--force", "bfq", check=True)
