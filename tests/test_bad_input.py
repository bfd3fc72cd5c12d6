"""Bad input: one clear line naming what is wrong (and its JSON path), exit 1, nothing left
behind (the autouse leak check), never a traceback."""

import json
import os
import subprocess

import pytest


def assert_one_line_error(p, *needles):
    assert p.returncode == 1, (p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert "Traceback" not in p.stderr
    for n in needles:
        assert n in lines[0], lines[0]


@pytest.mark.parametrize("mutate,needles", [
    (lambda c: c["process"].update(args="sh"), ["process.args", "expected an array"]),
    (lambda c: c["process"].update(args=[]), ["process.args"]),
    (lambda c: c["process"].update(args=["sh", 3]), ["process.args[1]", "expected a string"]),
    (lambda c: c["process"]["user"].update(uid="root"), ["process.user.uid", "expected an integer"]),
    (lambda c: c["process"].update(cwd="relative"), ["process.cwd", "absolute"]),
    (lambda c: c["process"].update(terminal="yes"), ["process.terminal", "expected a boolean"]),
    (lambda c: c["process"]["rlimits"].append({"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}),
     ["process.rlimits[1].type", "RLIMIT_BOGUS"]),
    (lambda c: c["linux"]["namespaces"].append({"type": "bogus"}), ["linux.namespaces[6].type", "bogus"]),
    (lambda c: c["linux"]["namespaces"].append({"type": "pid"}), ["linux.namespaces[6].type", "duplicate"]),
    (lambda c: c["linux"].update(namespaces=[{"type": "pid"}]), ["linux.namespaces", "mount namespace"]),
    (lambda c: c["mounts"].append({"destination": "/x", "options": ["rbind"]}), ["mounts[7].source"]),
    (lambda c: c["mounts"].append({"destination": 5}), ["mounts[7].destination", "expected a string"]),
    (lambda c: c["mounts"].append({"destination": "/x", "type": "nosuchfs", "source": "x"}),
     ["mounts[7]", "/x"]),
    (lambda c: c.update(ociVersion="2.0.0"), ["ociVersion", "unsupported"]),
    (lambda c: c.update(ociVersion="1.4.0"), ["ociVersion", "unsupported"]),
    (lambda c: c.update(ociVersion="banana"), ["ociVersion", "not a valid"]),
    (lambda c: c.pop("ociVersion"), ["ociVersion", "required"]),
    (lambda c: c["root"].update(path="nope"), ["invalid rootfs", "nope"]),
    (lambda c: c.pop("root"), ["root", "required"]),
    (lambda c: c["linux"].update(rootfsPropagation="sideways"), ["linux.rootfsPropagation"]),
    (lambda c: c["linux"].update(devices=[{"path": "/dev/x", "type": "q", "major": 1, "minor": 1}]),
     ["linux.devices[0].type"]),
    (lambda c: c["linux"].update(timeOffsets={"monotonic": {"secs": 1}}), ["linux.timeOffsets", "time namespace"]),
    (lambda c: c.update(hooks={"prestartt": []}), ["hooks.prestartt", "unknown hook"]),
    (lambda c: c.update(hooks={"poststop": [{"path": "rel"}]}), ["hooks.poststop[0].path", "absolute"]),
    (lambda c: c["process"].update(args=["/no/such/binary"]), ["/no/such/binary", "no such file"]),
    (lambda c: c["process"].update(args=["nosuchcmd"]), ['exec: \\"nosuchcmd\\": executable file not found']),
])
def test_bad_config(pyrunc, make_bundle, mutate, needles):
    b = make_bundle(["true"])
    mutate(b.config)
    b.write()
    p = pyrunc("create", "-b", b.path, "bad")
    assert_one_line_error(p, "pyrunc create failed:", *needles)
    assert pyrunc("list", "-q").stdout == ""


def test_malformed_json(pyrunc, make_bundle):
    b = make_bundle(["true"])
    with open(os.path.join(b.path, "config.json"), "w") as f:
        f.write('{"ociVersion": "1.0.0",\n "process": {bad')
    assert_one_line_error(pyrunc("create", "-b", b.path, "bad"), "config.json", "invalid JSON", "line 2")


def test_missing_config_and_bundle(pyrunc, tmp_path):
    assert_one_line_error(pyrunc("create", "-b", str(tmp_path), "x"),
                          "JSON specification file config.json not found")
    assert_one_line_error(pyrunc("create", "-b", str(tmp_path / "nope"), "x"), "chdir", "no such file")


@pytest.mark.parametrize("cid", ["a/b", "..", ".", "x\ny"])
def test_bad_ids(pyrunc, make_bundle, cid):
    b = make_bundle(["true"])
    assert_one_line_error(pyrunc("create", "-b", b.path, cid), "invalid container ID format")


def test_missing_id_argument(pyrunc):
    assert_one_line_error(pyrunc("create"), '\\"create\\" requires exactly 1 argument(s)')
    assert_one_line_error(pyrunc("kill"), '\\"kill\\" requires a minimum of 1 argument(s)')


def test_unknown_flag_and_command(pyrunc):
    assert_one_line_error(pyrunc("create", "--bogus", "x"), "flag provided but not defined: -bogus")
    p = pyrunc("frobnicate")  # runc (urfave/cli) exits 3 for an unknown command
    assert p.returncode == 3 and p.stderr.count("\n") == 1 and "No help topic for 'frobnicate'" in p.stderr


@pytest.mark.parametrize("cmd", [["state"], ["start"], ["kill"], ["delete"]])
def test_missing_container(pyrunc, cmd):
    assert_one_line_error(pyrunc(*cmd, "ghost"), "container does not exist")


def test_corrupt_state_file(pyrunc, make_bundle):
    b = make_bundle(["sleep", "1000"])
    pyrunc("create", "-b", b.path, "cs", check=True)
    state = os.path.join(pyrunc.root, "cs", "state")
    good = open(state).read()
    with open(state, "w") as f:
        f.write("garbage\n")
    assert_one_line_error(pyrunc("state", "cs"), "state of cs", "not a pyrunc state file")
    with open(state, "w") as f:
        f.write(good)
    pyrunc("delete", "--force", "cs", check=True)


@pytest.mark.parametrize("content", [b"", b"\0" * 512])
def test_state_emptied_by_a_machine_crash(pyrunc, make_bundle, content):
    """The state is written tmp + rename without fsync (store.write_atomic): after a crash
    of the machine a disk-backed root may hold an empty (or zero-filled) state whose
    processes are all gone.  It reads as a create that never finished: stopped, and
    delete removes it."""
    import signal
    import time

    b = make_bundle(["sleep", "1000"])
    pyrunc("create", "-b", b.path, "crashed", check=True)
    pid = json.loads(pyrunc("state", "crashed", check=True).stdout)["pid"]
    os.kill(pid, signal.SIGKILL)  # what the machine's crash did to every process
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.01)
    path = os.path.join(pyrunc.root, "crashed", "state")
    with open(path) as f:
        made = [ln.split("=", 1)[1] for ln in f.read().splitlines() if ln.startswith("cgroup_made=")]
    with open(path, "wb") as f:
        f.write(content)
    st = json.loads(pyrunc("state", "crashed", check=True).stdout)
    assert st["status"] == "stopped" and st["pid"] == 0
    pyrunc("delete", "crashed", check=True)
    assert not os.path.exists(os.path.join(pyrunc.root, "crashed"))
    # A reboot takes the cgroups too (cgroupfs lives in memory); here they are still there.
    for d in sorted(made, key=len, reverse=True):
        os.rmdir(d)


def test_log_file_json(pyrunc, tmp_path):
    log = tmp_path / "log.json"
    p = pyrunc("--log", str(log), "--log-format", "json", "state", "ghost")
    assert p.returncode == 1
    assert p.stderr == "container does not exist\n"  # the bare message, as runc
    rec = json.loads(log.read_text().strip())
    assert rec["level"] == "error" and rec["msg"] == "container does not exist" and rec["time"].endswith("Z")


def test_log_text_format_on_stderr(pyrunc):
    p = pyrunc("state", "ghost")
    assert p.stderr.startswith('time="') and 'level=error msg="container does not exist"' in p.stderr


def test_failed_create_leaves_no_cgroup_or_mount(pyrunc, make_bundle):
    """A mount the kernel refuses, after namespaces and cgroups exist: everything is undone."""
    b = make_bundle(["true"])
    b.config["mounts"].append({"destination": "/bad", "type": "bind", "source": "/does/not/exist"})
    b.write()
    p = pyrunc("create", "-b", b.path, "undo")
    assert_one_line_error(p, "mounts[7]", "/does/not/exist")
    rel = b.config["linux"]["cgroupsPath"]
    assert not os.path.exists(f"/sys/fs/cgroup/pids{rel}")


def test_root_that_is_a_file(pyrunc, tmp_path):
    f = tmp_path / "file"
    f.write_text("")
    p = subprocess.run(pyrunc.cmd("list", root=False)[:1] + ["--root", str(f), "list"], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 1 and "internal error" not in p.stderr and len(p.stderr.splitlines()) == 1
