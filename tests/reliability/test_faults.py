"""Every setup step of create fails, for real where a real cause exists and through
PYRUNC_FAULT where none does: one line on stderr, one JSON line in the log, exit 1, and
nothing left on the host (the autouse leak check: state, mounts, processes, cgroups)."""

import json
import os
import subprocess

import pytest
from common import ENV, run
from conftest import default_config

NAMESPACES = ["pid", "network", "ipc", "uts", "mount", "cgroup", "user"]
N_MOUNTS = len(default_config()["mounts"])
STEPS = (["state-dir", "lock", "cgroup-create", "cgroup-limits", "state-write", "cgroup-self-join", "cgroup-join"]
         + [f"namespace-{t}" for t in NAMESPACES]
         + ["id-maps", "init-fork", "init-pid"] + [f"mounts[{i}]" for i in range(N_MOUNTS)]
         + ["devices", "readonly-paths", "masked-paths", "sysctl", "pivot_root", "hostname", "rootfs-readonly",
            "seccomp", "exec", "device-rules"])


def full_bundle(make_bundle):
    """A config that goes through every step: all namespaces (a user namespace too),
    limits and device rules, sysctl, hostname, seccomp, a read-only root."""
    b = make_bundle(["true"])
    lx = b.config["linux"]
    types = {n["type"] for n in lx["namespaces"]}
    lx["namespaces"] += [{"type": t} for t in NAMESPACES if t not in types]
    lx["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    lx["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    lx["resources"] = {"pids": {"limit": 100}, "devices": [{"allow": False, "access": "rwm"}]}
    lx["sysctl"] = {"net.ipv4.ip_forward": "1"}
    lx["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
                     "syscalls": [{"names": ["reboot"], "action": "SCMP_ACT_ERRNO"}]}
    b.config["hostname"] = "faults"
    b.config["root"]["readonly"] = True
    return b.write()


def test_the_full_config_runs(pyrunc, make_bundle):
    b = full_bundle(make_bundle)
    p = pyrunc("run", "-b", b.path, "baseline")
    assert p.returncode == 0, p.stderr


def _one_clean_failure(p, log: str, needle: str) -> None:
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    assert p.stderr.count("\n") == 1 and needle in p.stderr, p.stderr
    assert "Traceback" not in p.stderr
    with open(log) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    errors = [x for x in lines if x.get("level") == "error"]
    assert errors and needle in errors[-1]["msg"], lines


@pytest.mark.parametrize("step", STEPS)
def test_injected_fault_leaves_nothing(pyrunc, make_bundle, tmp_path, step):
    b = full_bundle(make_bundle)
    log = str(tmp_path / "log.json")
    p = run(pyrunc.root, "--log", log, "--log-format", "json", "create", "-b", b.path, "f",
            env=dict(ENV, PYRUNC_FAULT=step))
    _one_clean_failure(p, log, f"fault injected at {step}")


def test_fault_switch_is_free_when_unset():
    """Unset, the switch is one string comparison: no import beyond the module itself."""
    out = subprocess.run([os.path.join(os.path.dirname(os.sys.executable), "python"), "-c",
                          "import sys, pyrunc.runtime.fault as f; f.point('exec'); print(f.active(), "
                          "sorted(m for m in sys.modules if m.startswith('pyrunc')))"],
                         capture_output=True, text=True, env={k: v for k, v in ENV.items() if k != "PYRUNC_FAULT"})
    assert out.stdout.startswith("False ['pyrunc', 'pyrunc.runtime', 'pyrunc.runtime.fault']"), out


# --- real causes ---------------------------------------------------------------------

def _create_fails(pyrunc, b, tmp_path, needle: str, cid: str = "real") -> None:
    log = str(tmp_path / "log.json")
    p = run(pyrunc.root, "--log", log, "--log-format", "json", "create", "-b", b.path, cid)
    _one_clean_failure(p, log, needle)


def test_missing_mount_source(pyrunc, make_bundle, tmp_path):
    b = full_bundle(make_bundle)
    b.config["mounts"].append({"destination": "/data", "type": "bind", "source": str(tmp_path / "absent"),
                               "options": ["rbind"]})
    b.write()
    _create_fails(pyrunc, b, tmp_path, f"mounts[{N_MOUNTS}]")


@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "createContainer"])
def test_hook_that_exits_1(pyrunc, make_bundle, tmp_path, kind):
    b = full_bundle(make_bundle)
    b.config["hooks"] = {kind: [{"path": "/bin/false"}]}
    b.write()
    _create_fails(pyrunc, b, tmp_path, "error during container init: error running hook #0: error running hook: "
                  "exit status 1")


def test_start_container_hook_that_exits_1(pyrunc, make_bundle, tmp_path):
    b = full_bundle(make_bundle)
    b.config["hooks"] = {"startContainer": [{"path": "/bin/false"}]}
    b.write()
    pyrunc("create", "-b", b.path, "sc", check=True)
    p = pyrunc("start", "sc")
    assert p.returncode in (0, 1) and "Traceback" not in p.stderr
    # runtime.md: a failing startContainer hook stops the container (the user's program
    # never runs; the hook's error goes to the container's stderr, as with runc).
    assert pyrunc.state("sc")["status"] == "stopped"
    pyrunc("delete", "--force", "sc", check=True)


def test_limit_the_kernel_refuses(pyrunc, make_bundle, tmp_path):
    b = full_bundle(make_bundle)
    b.config["linux"]["resources"]["cpu"] = {"cpus": "1000-1001"}  # no such CPUs
    b.write()
    _create_fails(pyrunc, b, tmp_path, "cpuset.cpus")


def test_missing_binary(pyrunc, make_bundle, tmp_path):
    b = full_bundle(make_bundle)
    b.config["process"]["args"] = ["/no/such/binary"]
    b.write()
    _create_fails(pyrunc, b, tmp_path, "/no/such/binary")


def test_state_directory_on_a_full_tmpfs(pyrunc, make_bundle, tmp_path):
    b = full_bundle(make_bundle)
    root = tmp_path / "fullroot"
    root.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "pyrunc-full", str(root)], check=True)
    try:
        fd = os.open(root / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        log = str(tmp_path / "log.json")
        p = run(str(root), "--log", log, "--log-format", "json", "create", "-b", b.path, "full")
        _one_clean_failure(p, log, "no space left on device")
        assert sorted(os.listdir(root)) == ["filler"]
    finally:
        subprocess.run(["umount", str(root)], check=True)


def test_exec_whose_process_cannot_join_leaves_nothing(pyrunc, make_bundle):
    """exec's middle child joins the v1 cgroups itself: when it cannot, exec is one line,
    exit 255 (runc exec's for a process that did not start), and no process of it is left
    in the container (only the init)."""
    b = make_bundle(["sleep", "1000"])
    assert pyrunc("run", "-d", "-b", b.path, "ej").returncode == 0
    init = json.loads(pyrunc("state", "ej", check=True).stdout)["pid"]
    p = run(pyrunc.root, "exec", "ej", "true", env=dict(ENV, PYRUNC_FAULT="cgroup-self-join"))
    assert p.returncode == 255, (p.returncode, p.stderr)
    assert p.stderr.count("\n") == 1 and \
        "join the container's cgroup: fault injected at cgroup-self-join" in p.stderr, p.stderr
    ps = pyrunc("ps", "--format", "json", "ej", check=True)
    assert json.loads(ps.stdout) == [init]
    pyrunc("delete", "--force", "ej", check=True)
