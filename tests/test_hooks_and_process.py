"""Hooks at the moments runtime.md fixes, and the remaining process attributes."""

import json
import os
import stat
import time

HOOK = """#!/bin/sh
# Records the state it was given, where it ran (mount namespace) and its argv.
out={out}
{{ cat; echo; readlink /proc/self/ns/mnt; echo "$@"; echo "$HOOK_ENV"; }} > "$out/{name}.$$"
mv "$out/{name}.$$" "$out/{name}"
"""


def make_hook(tmp_path, name, body=None):
    path = tmp_path / f"hook-{name}"
    path.write_text(body or HOOK.format(out=tmp_path, name=name))
    path.chmod(0o755)
    return str(path)


def read_hook(tmp_path, name):
    lines = (tmp_path / name).read_text().splitlines()
    return json.loads(lines[0]), lines[1], lines[2], lines[3]


def test_all_six_hooks(pyrunc, make_bundle, tmp_path):
    b = make_bundle(["sleep", "1000"])
    b.config["root"]["readonly"] = False
    hooks = {}
    for kind in ("prestart", "createRuntime", "createContainer", "poststart", "poststop"):
        hooks[kind] = [{"path": make_hook(tmp_path, kind), "args": [kind, "a1", "a2"], "env": ["HOOK_ENV=" + kind]}]
    # startContainer runs inside the container after pivot_root: its program lives in the rootfs.
    os.makedirs(os.path.join(b.rootfs, "hooks"))
    with open(os.path.join(b.rootfs, "hooks", "start"), "w") as f:
        f.write("#!/bin/sh\n{ cat; echo; readlink /proc/self/ns/mnt; } > /startContainer.tmp\n"
                "mv /startContainer.tmp /startContainer.state\n")
    os.chmod(os.path.join(b.rootfs, "hooks", "start"), 0o755)
    hooks["startContainer"] = [{"path": "/hooks/start"}]
    b.config["hooks"] = hooks
    b.config["annotations"] = {"k": "v"}
    b.write()
    pyrunc("create", "-b", b.path, "h", check=True)
    pid = pyrunc.state("h")["pid"]
    host_mnt = os.readlink("/proc/self/ns/mnt")
    ctr_mnt = os.readlink(f"/proc/{pid}/ns/mnt")
    for kind in ("prestart", "createRuntime"):
        st, mnt, argv, env = read_hook(tmp_path, kind)
        # "creating": create has not finished (runtime.md "Lifecycle"; runc 1.1.5 and 1.5.1)
        assert st["status"] == "creating" and st["pid"] == pid and st["id"] == "h" and st["bundle"] == b.path
        assert st["annotations"] == {"k": "v"}
        assert mnt == host_mnt, kind  # the runtime's namespace
        assert argv == "a1 a2" and env == kind
    st, mnt, _, _ = read_hook(tmp_path, "createContainer")
    assert mnt == ctr_mnt and st["pid"] == pid  # the container's namespace, host pid in the state
    assert st["status"] == "creating"
    assert not (tmp_path / "poststart").exists()
    pyrunc("start", "h", check=True)
    st, mnt, _, _ = read_hook(tmp_path, "poststart")
    assert st["status"] == "running" and mnt == host_mnt
    deadline = time.time() + 10
    while not os.path.exists(os.path.join(b.rootfs, "startContainer.state")):
        assert time.time() < deadline
        time.sleep(0.02)
    time.sleep(0.1)
    sc = open(os.path.join(b.rootfs, "startContainer.state")).read().splitlines()
    assert json.loads(sc[0])["status"] == "created" and sc[1] == ctr_mnt
    assert not (tmp_path / "poststop").exists()
    pyrunc("delete", "--force", "h", check=True)
    st, mnt, _, _ = read_hook(tmp_path, "poststop")
    assert st["status"] == "stopped" and "pid" not in st and mnt == host_mnt


def test_failing_create_runtime_hook_fails_create(pyrunc, make_bundle, tmp_path):
    b = make_bundle(["true"])
    b.config["hooks"] = {"createRuntime": [{"path": make_hook(tmp_path, "bad", "#!/bin/sh\necho nope >&2\nexit 3\n")}]}
    b.write()
    p = pyrunc("create", "-b", b.path, "hf")
    assert p.returncode == 1
    # runc's words (tests/test_runc_parity.py compares them with runc's for every kind).
    assert ("unable to start container process: error during container init: error running hook #0: "
            "error running hook: exit status 3, stdout: , stderr: nope\\n") in p.stderr, p.stderr


def test_hook_timeout(pyrunc, make_bundle, tmp_path):
    b = make_bundle(["true"])
    b.config["hooks"] = {"createContainer": [{"path": make_hook(tmp_path, "slow", "#!/bin/sh\nsleep 30\n"),
                                              "timeout": 1}]}
    b.write()
    t = time.time()
    p = pyrunc("create", "-b", b.path, "ht")
    assert p.returncode == 1 and "error running hook #0: hook ran past specified timeout of 1.0s" in p.stderr
    assert time.time() - t < 20


def test_hook_timeout_counts_while_stdin_is_unread(pyrunc, make_bundle, tmp_path):
    hook = tmp_path / "stuck"
    hook.write_text("#!/bin/sh\nexec sleep 30\n")  # exec: the runtime's kill takes the sleep itself
    hook.chmod(0o755)
    b = make_bundle(["true"])
    b.config["annotations"] = {f"k{i}": "x" * 1000 for i in range(200)}  # more than a pipe holds
    b.config["hooks"] = {"createRuntime": [{"path": str(hook), "timeout": 1}]}
    b.write()
    t = time.time()
    p = pyrunc("create", "-b", b.path, "stuck")
    assert p.returncode == 1 and "hook ran past specified timeout" in p.stderr
    assert time.time() - t < 10


def test_failing_poststart_stops_container(pyrunc, make_bundle, tmp_path):
    b = make_bundle(["sleep", "1000"])
    b.config["hooks"] = {"poststart": [{"path": make_hook(tmp_path, "ps", "#!/bin/sh\nexit 1\n")}]}
    b.write()
    pyrunc("create", "-b", b.path, "pf", check=True)
    p = pyrunc("start", "pf")
    assert p.returncode == 1 and "error running hook #0: error running hook: exit status 1" in p.stderr
    assert pyrunc.state("pf")["status"] == "stopped"
    pyrunc("delete", "pf", check=True)


def test_run_detached_failing_start_leaves_nothing(pyrunc, make_bundle, tmp_path):
    hook = tmp_path / "fail"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    b = make_bundle(["sleep", "1000"])
    b.config["hooks"] = {"poststart": [{"path": str(hook)}]}
    b.write()
    assert pyrunc("run", "-d", "-b", b.path, "rdf").returncode == 1
    assert pyrunc("list", "-q").stdout == ""


def test_failing_poststop_is_a_warning(pyrunc, make_bundle, tmp_path):
    b = make_bundle(["true"])
    b.config["hooks"] = {"poststop": [{"path": make_hook(tmp_path, "pst", "#!/bin/sh\nexit 1\n")}]}
    b.write()
    p = pyrunc("run", "-b", b.path, "pst")
    # runtime.md (Lifecycle): a warning (runc logs it at error level), in runc's words.
    assert p.returncode == 0 and "level=warning" in p.stderr and \
        "error running hook #0: error running hook: exit status 1" in p.stderr, p.stderr


def test_hook_path_missing_or_not_executable(pyrunc, make_bundle, tmp_path):
    b = make_bundle(["true"])
    b.config["hooks"] = {"prestart": [{"path": "/no/such/hook"}]}
    b.write()
    p = pyrunc("create", "-b", b.path, "hm")
    assert p.returncode == 1 and "hooks.prestart[0].path" in p.stderr and "does not exist" in p.stderr
    f = tmp_path / "noexec"
    f.write_text("#!/bin/sh\n")
    b.config["hooks"] = {"poststop": [{"path": str(f)}]}
    b.write()
    p = pyrunc("create", "-b", b.path, "hm")
    assert p.returncode == 1 and "not an executable" in p.stderr


def test_sysctl_applied_and_checked(pyrunc, make_bundle):
    b = make_bundle(["sh", "-c", "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni"])
    # /proc/sys stays in readonlyPaths: sysctls are written before it turns read-only.
    b.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shmmni": "1234"}
    b.write()
    p = pyrunc("run", "-b", b.path, "sc")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["1", "1234"]
    b.config["linux"]["sysctl"] = {"kernel.pid_max": "1000"}
    b.write()
    p = pyrunc("run", "-b", b.path, "sc")
    assert p.returncode == 1 and "linux.sysctl.kernel.pid_max" in p.stderr
    b.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    b.config["linux"]["namespaces"] = [n for n in b.config["linux"]["namespaces"] if n["type"] != "network"]
    b.write()
    p = pyrunc("run", "-b", b.path, "sc")
    assert p.returncode == 1 and "network namespace" in p.stderr


def test_oom_score_adj_umask(pyrunc, make_bundle):
    b = make_bundle(["sh", "-c", "cat /proc/self/oom_score_adj; umask"])
    b.config["process"]["oomScoreAdj"] = 123
    b.config["process"]["user"]["umask"] = 0o077
    b.write()
    p = pyrunc("run", "-b", b.path, "oom")
    assert p.stdout.split() == ["123", "0077"], p.stderr


def test_session_keyring(pyrunc, make_bundle):
    b = make_bundle(["cat", "/proc/self/stat"])
    b.config["process"]["args"] = ["sh", "-c", "grep -c _ses /proc/keys || true"]
    b.config["linux"]["maskedPaths"].remove("/proc/keys")
    b.write()
    p = pyrunc("run", "-b", b.path, "kr")
    new = int(p.stdout.split()[0])
    p = pyrunc("run", "--no-new-keyring", "-b", b.path, "kr")
    assert p.returncode == 0
    assert new >= 1


def test_mount_propagation_reaches_container(pyrunc, make_bundle, tmp_path):
    """rootfsPropagation's default (rslave): a mount the host makes later under a shared
    bind source still shows up in the container."""
    import subprocess

    src = tmp_path / "shared"
    src.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(src)], check=True)
    try:
        subprocess.run(["mount", "--make-shared", str(src)], check=True)
        b = make_bundle(["sh", "-c", "while [ ! -e /mnt/sub/flag ]; do sleep 0.05; done; echo seen"])
        b.config["mounts"].append({"destination": "/mnt", "type": "bind", "source": str(src),
                                   "options": ["rbind", "rslave"]})
        b.write()
        (src / "sub").mkdir()
        pyrunc("run", "-d", "-b", b.path, "prop", check=True)
        late = tmp_path / "late"
        late.mkdir()
        (late / "flag").write_text("x")
        subprocess.run(["mount", "--bind", str(late), str(src / "sub")], check=True)
        deadline = time.time() + 10
        while pyrunc.state("prop")["status"] != "stopped":
            assert time.time() < deadline, "the container never saw the host's new mount"
            time.sleep(0.05)
        pyrunc("delete", "prop", check=True)
        subprocess.run(["umount", str(src / "sub")], check=True)
    finally:
        subprocess.run(["umount", "-R", str(src)], check=False)


def test_tmpcopyup_and_propagation_options(pyrunc, make_bundle):
    b = make_bundle(["sh", "-c", "cat /etc/passwd | head -1; grep ' /etc ' /proc/self/mountinfo"])
    b.config["mounts"].append({"destination": "/etc", "type": "tmpfs", "source": "tmpfs",
                               "options": ["tmpcopyup", "private", "nosuid"]})
    b.write()
    p = pyrunc("run", "-b", b.path, "tcu")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("root:x:0:0")
    line = p.stdout.splitlines()[1]
    assert "shared:" not in line and "master:" not in line and "nosuid" in line


def test_mount_label_without_selinux(pyrunc, make_bundle):
    b = make_bundle(["true"])
    b.config["linux"]["mountLabel"] = "system_u:object_r:container_file_t:s0"
    b.write()
    p = pyrunc("create", "-b", b.path, "ml")
    if os.path.isdir("/sys/fs/selinux"):
        return
    assert p.returncode == 1 and "linux.mountLabel" in p.stderr


def test_state_file_is_not_json_and_atomic(pyrunc, make_bundle):
    b = make_bundle(["sleep", "1000"])
    pyrunc("create", "-b", b.path, "sf", check=True)
    d = os.path.join(pyrunc.root, "sf")
    assert sorted(os.listdir(d)) == ["exec.fifo", "state"]
    assert stat.S_IMODE(os.stat(os.path.join(d, "state")).st_mode) == 0o600
    pyrunc("delete", "sf", check=True)


import pytest  # noqa: E402


@pytest.mark.parametrize("prop,want", [("rprivate", None), ("rshared", "shared:"), ("rslave", None),
                                       ("runbindable", "unbindable"), ("", None)])
def test_rootfs_propagation_values(pyrunc, make_bundle, prop, want):
    b = make_bundle(["sh", "-c", "awk '$5 == \"/\"' /proc/self/mountinfo"])
    if prop:
        b.config["linux"]["rootfsPropagation"] = prop
    b.write()
    p = pyrunc("run", "-b", b.path, "rp")
    assert p.returncode == 0, p.stderr
    line = p.stdout.strip().splitlines()[-1]
    optional = line.split(" - ")[0].split()[6:]
    if want:
        assert any(o.startswith(want) for o in optional), line
    else:
        assert not any(o.startswith("shared:") for o in optional), line
