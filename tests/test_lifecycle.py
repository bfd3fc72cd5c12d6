"""create/start/state/kill/delete/run/list as runtime.md describes them, with runc's texts."""

import json
import os
import signal
import subprocess
import time

import pytest
from conftest import wait_status


def test_run_foreground_exit_status_and_pid_namespace(pyrunc, make_bundle):
    b = make_bundle(["sh", "-c", "echo pid=$$; hostname; exit 7"])
    p = pyrunc("run", "-b", b.path, "fg1")
    assert p.returncode == 7, p.stderr
    assert "pid=1\n" in p.stdout
    assert "runc\n" in p.stdout  # hostname from config
    assert not os.listdir(pyrunc.root)  # run deletes the container


def test_run_killed_by_signal_exits_128_plus_signal(pyrunc, make_bundle):
    import subprocess

    # pid 1 of a namespace ignores signals it has no handler for, from inside: kill from outside.
    b = make_bundle(["sh", "-c", "echo ready; exec sleep 1000"])
    proc = subprocess.Popen(pyrunc.cmd("run", "-b", b.path, "sig"), stdout=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    assert proc.stdout.readline() == "ready\n"
    assert pyrunc("kill", "sig", "KILL").returncode == 0
    proc.communicate(timeout=20)
    assert proc.returncode == 128 + 9


def test_run_forwards_signals(pyrunc, make_bundle):
    import subprocess

    b = make_bundle(["sh", "-c", "trap 'echo got-term; exit 42' TERM; echo ready; while true; do sleep 0.1; done"])
    proc = subprocess.Popen(pyrunc.cmd("run", "-b", b.path, "fwd"), stdout=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    assert proc.stdout.readline() == "ready\n"
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 42
    assert "got-term" in out


def test_create_start_state_kill_delete(pyrunc, make_bundle, tmp_path):
    b = make_bundle(["sleep", "1000"])
    b.config["annotations"] = {"org.example": "yes"}
    b.write()
    pidfile = tmp_path / "init.pid"
    p = pyrunc("create", "--bundle", b.path, "--pid-file", str(pidfile), "c1")
    assert p.returncode == 0, p.stderr
    st = pyrunc.state("c1")
    assert st["status"] == "created"
    assert st["ociVersion"] == "1.3.0"
    assert st["bundle"] == b.path and st["rootfs"] == b.rootfs
    assert st["annotations"] == {"org.example": "yes"}
    assert list(st) == ["ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "annotations", "owner"]
    assert int(pidfile.read_text()) == st["pid"]
    # The init waits: its command line is still pyrunc's, not sleep.
    assert b"sleep" not in open(f"/proc/{st['pid']}/cmdline", "rb").read()
    assert pyrunc("start", "c1").returncode == 0
    st = pyrunc.state("c1")
    assert st["status"] == "running"
    assert open(f"/proc/{st['pid']}/cmdline", "rb").read().startswith(b"sleep")
    p = pyrunc("start", "c1")
    assert p.returncode == 1 and "cannot start an already running container" in p.stderr
    p = pyrunc("delete", "c1")
    assert p.returncode == 1 and "cannot delete container c1 that is not stopped: running" in p.stderr
    assert pyrunc("kill", "c1", "KILL").returncode == 0
    deadline = time.time() + 10
    while pyrunc.state("c1")["status"] != "stopped":
        assert time.time() < deadline
        time.sleep(0.05)
    assert pyrunc.state("c1")["pid"] == 0
    p = pyrunc("kill", "c1")
    assert p.returncode == 1 and "container not running" in p.stderr
    p = pyrunc("start", "c1")
    assert p.returncode == 1 and "cannot start a container that has stopped" in p.stderr
    assert pyrunc("delete", "c1").returncode == 0
    p = pyrunc("state", "c1")
    assert p.returncode == 1 and "container does not exist" in p.stderr


def test_delete_created_container_kills_it(pyrunc, make_bundle):
    b = make_bundle(["sleep", "1000"])
    pyrunc("create", "-b", b.path, "c2", check=True)
    pid = pyrunc.state("c2")["pid"]
    assert pyrunc("delete", "c2").returncode == 0
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split(") ")[1][0] in "ZX"


def test_delete_force_running_and_missing(pyrunc, make_bundle):
    b = make_bundle(["sleep", "1000"])
    pyrunc("run", "-d", "-b", b.path, "c3", check=True)
    assert pyrunc.state("c3")["status"] == "running"
    assert pyrunc("delete", "--force", "c3").returncode == 0
    assert pyrunc("delete", "--force", "c3").returncode == 0  # containerd deletes twice
    p = pyrunc("delete", "c3")
    assert p.returncode == 1 and "container does not exist" in p.stderr


@pytest.mark.parametrize("sig", ["KILL", "SIGKILL", "kill", "9"])
def test_kill_signal_forms(pyrunc, make_bundle, sig):
    b = make_bundle(["sleep", "1000"])
    pyrunc("run", "-d", "-b", b.path, "k", check=True)
    assert pyrunc("kill", "k", sig).returncode == 0
    deadline = time.time() + 10
    while pyrunc.state("k")["status"] != "stopped":
        assert time.time() < deadline
        time.sleep(0.05)
    pyrunc("delete", "k", check=True)


def test_kill_unknown_signal(pyrunc, make_bundle):
    b = make_bundle(["sleep", "1000"])
    pyrunc("create", "-b", b.path, "k2", check=True)
    p = pyrunc("kill", "k2", "FOO")
    assert p.returncode == 1 and 'unknown signal \\"FOO\\"' in p.stderr
    pyrunc("delete", "--force", "k2", check=True)


def test_kill_all_signals_every_process(pyrunc, make_bundle):
    b = make_bundle(["sh", "-c", "sleep 1000 & sleep 1000 & wait"])
    pyrunc("run", "-d", "-b", b.path, "ka", check=True)
    time.sleep(0.3)
    assert pyrunc("kill", "--all", "ka", "KILL").returncode == 0
    deadline = time.time() + 10
    while pyrunc.state("ka")["status"] != "stopped":
        assert time.time() < deadline
        time.sleep(0.05)
    pyrunc("delete", "ka", check=True)


def test_kill_all_and_delete_reach_leftovers_without_pid_namespace(pyrunc, make_bundle):
    b = make_bundle(["sh", "-c", "sleep 1000 & exit 0"])
    b.config["linux"]["namespaces"] = [n for n in b.config["linux"]["namespaces"] if n["type"] != "pid"]
    b.write()
    pyrunc("run", "-d", "-b", b.path, "left", check=True)
    wait_status(pyrunc, "left", "stopped")
    rel = b.config["linux"]["cgroupsPath"]
    procs = open(f"/sys/fs/cgroup/pids{rel}/cgroup.procs").read().split()
    assert len(procs) == 1  # the orphaned sleep
    assert pyrunc("kill", "--all", "left", "KILL").returncode == 0
    t = time.time()
    assert pyrunc("delete", "left").returncode == 0
    assert time.time() - t < 4
    # Dead: gone, or a zombie waiting for whoever inherited it to reap it.
    stat_path = f"/proc/{procs[0]}/stat"
    assert not os.path.exists(stat_path) or open(stat_path).read().rsplit(")", 1)[1].split()[0] in "ZX"


def test_destroy_spares_other_members_of_a_shared_cgroup(pyrunc, make_bundle):
    from conftest import CGROUP_PARENT

    shared = f"/sys/fs/cgroup/pids{CGROUP_PARENT}/shared"
    os.makedirs(shared, exist_ok=True)
    bystander = subprocess.Popen(["sleep", "1000"])
    try:
        with open(f"{shared}/cgroup.procs", "w") as f:
            f.write(str(bystander.pid))
        b = make_bundle(["true"])
        b.config["linux"]["cgroupsPath"] = f"{CGROUP_PARENT}/shared"
        b.write()
        assert pyrunc("run", "-b", b.path, "sh1").returncode == 0
        assert bystander.poll() is None, "the container's exit killed a process it does not own"
    finally:
        bystander.kill()
        bystander.wait()
        for ctrl in os.listdir("/sys/fs/cgroup"):
            try:
                os.rmdir(f"/sys/fs/cgroup/{ctrl}{CGROUP_PARENT}/shared")
            except OSError:
                pass


def test_list_formats(pyrunc, make_bundle):
    import json

    assert pyrunc("list").stdout.split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    assert pyrunc("list", "--format", "json").stdout.strip() == "null"
    b = make_bundle(["sleep", "1000"])
    pyrunc("create", "-b", b.path, "l1", check=True)
    lines = pyrunc("list").stdout.splitlines()
    assert lines[0].startswith("ID          PID         STATUS      BUNDLE")
    assert lines[1].split()[0] == "l1" and lines[1].split()[2] == "created" and lines[1].split()[-1] == "root"
    js = json.loads(pyrunc("list", "-f", "json").stdout)
    assert js[0]["id"] == "l1" and js[0]["owner"] == "root"
    assert pyrunc("list", "-q").stdout == "l1\n"
    pyrunc("delete", "l1", check=True)


def test_duplicate_id(pyrunc, make_bundle):
    b = make_bundle(["sleep", "1000"])
    pyrunc("create", "-b", b.path, "dup", check=True)
    p = pyrunc("create", "-b", b.path, "dup")
    assert p.returncode == 1 and "container with given ID already exists" in p.stderr
    assert pyrunc.state("dup")["status"] == "created"  # the first one is untouched
    pyrunc("delete", "dup", check=True)


def test_created_container_stdio_is_creates(pyrunc, make_bundle, tmp_path):
    import subprocess

    b = make_bundle(["sh", "-c", "echo out; echo err >&2"])
    out, err = tmp_path / "out", tmp_path / "err"
    with open(out, "w") as o, open(err, "w") as e:
        subprocess.run(pyrunc.cmd("create", "-b", b.path, "io"), stdout=o, stderr=e, stdin=subprocess.DEVNULL,
                       check=True)
    pyrunc("start", "io", check=True)
    deadline = time.time() + 10
    while pyrunc.state("io")["status"] != "stopped":
        assert time.time() < deadline
        time.sleep(0.05)
    assert out.read_text() == "out\n" and err.read_text() == "err\n"
    pyrunc("delete", "io", check=True)


def test_run_keep(pyrunc, make_bundle):
    b = make_bundle(["true"])
    assert pyrunc("run", "--keep", "-b", b.path, "kp").returncode == 0
    assert pyrunc.state("kp")["status"] == "stopped"
    pyrunc("delete", "kp", check=True)


def test_spec_writes_runc_default(tmp_path, pyrunc):
    import json

    assert pyrunc("spec", "--bundle", str(tmp_path)).returncode == 0
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["ociVersion"] == "1.3.0"
    assert "ambient" not in cfg["process"]["capabilities"]
    assert cfg["process"]["terminal"] is True and cfg["process"]["args"] == ["sh"]
    # A cgroup namespace only on a v2-only host, as runc's template (test_runc_parity compares).
    from pyrunc.runtime.linux.cgroups import unified_mode

    assert ({"type": "cgroup"} in cfg["linux"]["namespaces"]) == unified_mode()
    p = pyrunc("spec", "--bundle", str(tmp_path))
    assert p.returncode == 1 and "File config.json exists. Remove it first" in p.stderr


def test_features(pyrunc):
    import json

    p = pyrunc("features")
    f = json.loads(p.stdout)
    assert f["ociVersionMin"] == "1.0.0" and f["ociVersionMax"] == "1.3.0"
    assert f["hooks"] == ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]
    assert {"rbind", "ro", "rslave", "tmpcopyup", "nosymfollow"} <= set(f["mountOptions"])
    assert "time" in f["linux"]["namespaces"] and "CAP_SYS_ADMIN" in f["linux"]["capabilities"]
    assert f["linux"]["cgroup"]["v1"] and f["linux"]["seccomp"]["enabled"]
    assert {"idmap", "ridmap"} <= set(f["mountOptions"])


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


def test_checkpoint_is_a_one_line_error(pyrunc, make_bundle):
    # runc's first checks and texts, then criu's absence: one line each, exit 1.
    p = pyrunc("checkpoint", "x")
    assert p.returncode == 1 and len(p.stderr.splitlines()) == 1 and "container does not exist" in p.stderr
    b = make_bundle(["sleep", "100"])
    pyrunc("create", "-b", b.path, "ck", check=True)
    try:
        p = pyrunc("checkpoint", "ck")
        assert p.returncode == 1 and len(p.stderr.splitlines()) == 1 and "criu" in p.stderr
        p = pyrunc("restore", "-b", b.path, "ck2")
        assert p.returncode == 1 and len(p.stderr.splitlines()) == 1 and "criu" in p.stderr
    finally:
        pyrunc("delete", "--force", "ck")
