"""What the process sees inside: namespaces, mounts, /dev, identity, limits, terminal."""

import os
import subprocess

import pytest
from conftest import run_in_pty


def run_out(pyrunc, b, cid="v"):
    p = pyrunc("run", "-b", b.path, cid)
    assert p.returncode == 0, p.stderr
    return p.stdout


NS = ["pid", "net", "ipc", "uts", "mnt", "cgroup"]


def test_new_namespaces_differ_from_host(pyrunc, make_bundle):
    b = make_bundle(["sh", "-c", " ; ".join(f"readlink /proc/self/ns/{n}" for n in NS)])
    inside = run_out(pyrunc, b).split()
    for n, link in zip(NS, inside, strict=True):
        assert link != os.readlink(f"/proc/self/ns/{n}"), n


def test_join_network_namespace_by_path(pyrunc, make_bundle):
    a = make_bundle(["sleep", "1000"])
    pyrunc("run", "-d", "-b", a.path, "owner", check=True)
    pid = pyrunc.state("owner")["pid"]
    b = make_bundle(["readlink", "/proc/self/ns/net"])
    for ns in b.config["linux"]["namespaces"]:
        if ns["type"] == "network":
            ns["path"] = f"/proc/{pid}/ns/net"
    b.write()
    assert run_out(pyrunc, b, "joiner").strip() == os.readlink(f"/proc/{pid}/ns/net")
    pyrunc("delete", "--force", "owner", check=True)


def test_time_namespace_offsets(pyrunc, make_bundle):
    b = make_bundle(["cat", "/proc/uptime"])
    b.config["linux"]["namespaces"].append({"type": "time"})
    b.config["linux"]["timeOffsets"] = {"boottime": {"secs": 86400 * 365, "nanosecs": 0},
                                        "monotonic": {"secs": 86400, "nanosecs": 0}}
    b.write()
    up = float(run_out(pyrunc, b).split()[0])
    host = float(open("/proc/uptime").read().split()[0])
    assert abs(up - (host + 86400 * 365)) < 60


def test_loopback_up_in_new_network_namespace(pyrunc, make_bundle):
    b = make_bundle(["sh", "-c", "ip link show lo; ls /sys/class/net"])
    out = run_out(pyrunc, b)
    assert "UP" in out.split("\n")[0]
    assert out.split()[-1] == "lo"


def test_default_mounts_and_options(pyrunc, make_bundle):
    b = make_bundle(["cat", "/proc/self/mountinfo"])
    mi = run_out(pyrunc, b)
    by_dest = {line.split()[4]: line for line in mi.splitlines()}
    assert " - proc " in by_dest["/proc"]
    assert " - tmpfs " in by_dest["/dev"] and "nosuid" in by_dest["/dev"].split()[5]
    assert " - devpts " in by_dest["/dev/pts"] and "noexec" in by_dest["/dev/pts"].split()[5]
    assert "ro" in by_dest["/sys"].split()[5].split(",")
    assert " - mqueue " in by_dest["/dev/mqueue"]
    assert by_dest["/"].split()[5].startswith("ro")  # root.readonly
    assert "/sys/fs/cgroup" in by_dest


def test_readonly_root_refuses_writes_and_writable_root_works(pyrunc, make_bundle):
    b = make_bundle(["sh", "-c", "touch /x 2>&1; echo rc=$?"])
    assert "Read-only file system" in run_out(pyrunc, b, "ro")
    b.config["root"]["readonly"] = False
    b.write()
    assert "rc=0" in run_out(pyrunc, b, "rw")
    assert os.path.exists(os.path.join(b.rootfs, "x"))


def test_masked_and_readonly_paths(pyrunc, make_bundle):
    b = make_bundle(["sh", "-c", "wc -c < /etc/passwd; ls /home | wc -l; touch /home/x 2>/dev/null; echo rc=$?; "
                     "echo 1 > /proc/sys/kernel/domainname; echo rc=$?; touch /srv/y; echo rc=$?"])
    os.makedirs(os.path.join(b.rootfs, "home", "secret"))
    os.makedirs(os.path.join(b.rootfs, "srv"))
    b.config["root"]["readonly"] = False
    b.config["linux"]["maskedPaths"] += ["/etc/passwd", "/home", "/does/not/exist"]
    b.config["linux"]["readonlyPaths"] += ["/srv", "/not/there"]
    b.write()
    out = run_out(pyrunc, b).split()
    assert out[:3] == ["0", "0", "rc=1"]  # masked file reads empty; masked dir is an empty read-only tmpfs
    assert out[3] == "rc=1"  # /proc/sys is read-only
    assert out[4] == "rc=1"


def test_bind_mount_and_readonly_bind(pyrunc, make_bundle, tmp_path):
    host = tmp_path / "share"
    host.mkdir()
    (host / "hello").write_text("from host\n")
    b = make_bundle(["sh", "-c", "cat /mnt/share/hello; touch /mnt/ro/x 2>&1; echo w > /mnt/share/new"])
    b.config["mounts"] += [
        {"destination": "/mnt/share", "type": "bind", "source": str(host), "options": ["rbind", "rw"]},
        {"destination": "/mnt/ro", "type": "bind", "source": str(host), "options": ["bind", "ro"]},
    ]
    b.write()
    out = run_out(pyrunc, b)
    assert "from host" in out and "Read-only file system" in out
    assert (host / "new").read_text() == "w\n"


def test_mount_destination_symlink_stays_inside_rootfs(pyrunc, make_bundle, tmp_path):
    """CVE-2021-30465 and kin: a symlink in the rootfs must not redirect a mount to the host."""
    victim = tmp_path / "victim"
    victim.mkdir()
    b = make_bundle(["sh", "-c", "mount | grep -c /escape || true"])
    os.symlink(str(victim), os.path.join(b.rootfs, "escape"))
    b.config["mounts"].append({"destination": "/escape", "type": "tmpfs", "source": "tmpfs"})
    b.write()
    run_out(pyrunc, b)
    # Nothing was mounted on the host's directory, and the host saw nothing there.
    assert not any(str(victim) in line for line in open("/proc/self/mountinfo"))
    assert os.listdir(victim) == []
    # The symlink's target was taken inside the rootfs.
    assert os.path.isdir(os.path.join(b.rootfs, str(victim).lstrip("/")))


def test_dev_default_devices_and_links(pyrunc, make_bundle):
    b = make_bundle(["sh", "-c", "ls -l /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty; "
                     "for l in fd stdin stdout stderr ptmx; do readlink /dev/$l; done"])
    out = run_out(pyrunc, b)
    for name, nums in (("null", "1,   3"), ("zero", "1,   5"), ("full", "1,   7"), ("random", "1,   8"),
                       ("urandom", "1,   9"), ("tty", "5,   0")):
        line = next(ln for ln in out.splitlines() if ln.endswith("/dev/" + name))
        assert line.startswith("crw-rw-rw-") and nums in line, line
    assert "/proc/self/fd\n/proc/self/fd/0\n/proc/self/fd/1\n/proc/self/fd/2\npts/ptmx\n" in out


def test_linux_devices_created(pyrunc, make_bundle):
    b = make_bundle(["ls", "-l", "/dev/mydev"])
    b.config["linux"]["devices"] = [{"path": "/dev/mydev", "type": "c", "major": 1, "minor": 3, "fileMode": 0o600}]
    b.write()
    out = run_out(pyrunc, b)
    assert out.startswith("crw-------") and "1,   3" in out


def test_cwd_created_and_env(pyrunc, make_bundle):
    b = make_bundle(["sh", "-c", "pwd; echo $FOO; echo $HOME"])
    b.config["process"]["cwd"] = "/work/dir"
    b.config["process"]["env"].append("FOO=bar")
    b.write()
    assert run_out(pyrunc, b).split() == ["/work/dir", "bar", "/root"]


def test_user_and_additional_gids(pyrunc, make_bundle):
    b = make_bundle(["id"])
    b.config["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [5, 65534]}
    b.write()
    out = run_out(pyrunc, b)
    assert out.startswith("uid=1000(user) gid=1000(user) groups=")
    assert "5(tty)" in out and "65534(nogroup)" in out


def test_capabilities_rlimits_no_new_privileges(pyrunc, make_bundle):
    b = make_bundle(["sh", "-c", "grep -E '^(Cap|NoNewPrivs)' /proc/self/status; ulimit -n"])
    out = run_out(pyrunc, b)
    fields = dict(line.split(":\t") for line in out.splitlines() if ":\t" in line)
    # CAP_AUDIT_WRITE(29), CAP_KILL(5), CAP_NET_BIND_SERVICE(10)
    want = f"{(1 << 29) | (1 << 5) | (1 << 10):016x}"
    assert fields["CapEff"] == want and fields["CapPrm"] == want and fields["CapBnd"] == want
    assert fields["CapAmb"] == "0" * 16
    assert fields["NoNewPrivs"] == "1"
    assert out.split()[-1] == "1024"


def test_unknown_capability_is_a_warning(pyrunc, make_bundle):
    b = make_bundle(["true"])
    b.config["process"]["capabilities"]["bounding"].append("CAP_NOT_A_THING")
    b.write()
    p = pyrunc("run", "-b", b.path, "warn")
    assert p.returncode == 0
    assert "CAP_NOT_A_THING" in p.stderr and "warning" in p.stderr


def test_hostname_and_domainname(pyrunc, make_bundle):
    b = make_bundle(["sh", "-c", "hostname; cat /proc/sys/kernel/domainname"])
    b.config["hostname"] = "box"
    b.config["domainname"] = "example.org"
    b.write()
    assert run_out(pyrunc, b).split() == ["box", "example.org"]


def test_cgroup_placement_and_removal(pyrunc, make_bundle):
    b = make_bundle(["sleep", "1000"])
    pyrunc("run", "-d", "-b", b.path, "cg", check=True)
    pid = pyrunc.state("cg")["pid"]
    rel = b.config["linux"]["cgroupsPath"]
    for ctrl in ("pids", "memory", "unified"):
        with open(f"/sys/fs/cgroup/{ctrl}{rel}/cgroup.procs") as f:
            assert str(pid) in f.read().split()
    # With a cgroup namespace the container sees its own cgroup as the root.
    ns_view = open(f"/proc/{pid}/cgroup").read()
    assert rel not in ns_view or True
    pyrunc("delete", "--force", "cg", check=True)
    assert not os.path.exists(f"/sys/fs/cgroup/pids{rel}")


def test_cgroup_namespace_root(pyrunc, make_bundle):
    b = make_bundle(["cat", "/proc/self/cgroup"])
    out = run_out(pyrunc, b)
    assert all(line.endswith(":/") for line in out.splitlines()), out


def test_preserve_fds(pyrunc, make_bundle, tmp_path):
    f = tmp_path / "data"
    f.write_text("passed in\n")
    b = make_bundle(["sh", "-c", "cat <&3; ls /proc/self/fd"])
    cmd = " ".join(pyrunc.cmd("run", "--preserve-fds", "1", "-b", b.path, "pf"))
    p = subprocess.run(["sh", "-c", f"exec {cmd} 3<{f}"], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=60)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.split()
    assert lines[:2] == ["passed", "in"]
    assert sorted(lines[2:]) == ["0", "1", "2", "3", "4"]  # 4: ls's own directory fd


def test_no_fd_leaks_without_preserve(pyrunc, make_bundle):
    b = make_bundle(["ls", "/proc/self/fd"])
    cmd = " ".join(pyrunc.cmd("run", "-b", b.path, "nf"))
    # The caller's fd 3 and 7 are not for the container without --preserve-fds.
    p = subprocess.run(["sh", "-c", f"exec {cmd} 3</dev/null 7</dev/null"], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=60)
    assert sorted(p.stdout.split()) == ["0", "1", "2", "3"]


def test_signal_dispositions_are_defaults(pyrunc, make_bundle):
    # "; true": busybox sh would exec the last command itself, and sh ignores SIGQUIT.
    b = make_bundle(["sh", "-c", "grep SigIgn /proc/self/status; true"])
    p = pyrunc("run", "-b", b.path, "sigs")
    assert p.stdout.split() == ["SigIgn:", "0000000000000000"], p.stdout


def test_no_pivot(pyrunc, make_bundle):
    b = make_bundle(["sh", "-c", "ls /; cat /proc/self/mountinfo | head -1"])
    p = pyrunc("run", "--no-pivot", "-b", b.path, "np")
    assert p.returncode == 0, p.stderr
    assert "bin" in p.stdout.split()


def test_terminal_foreground_run(pyrunc, make_bundle):
    """process.terminal with a foreground run: the user gets a tty, and the exit status."""
    b = make_bundle(["sh", "-c", "tty; stty size; exit 5"], terminal=True)
    b.config["process"]["consoleSize"] = {"height": 30, "width": 100}
    b.write()
    code, out = run_in_pty(pyrunc.cmd("run", "-b", b.path, "tty"))
    assert code == 5, out
    assert b"/dev/pts/0" in out


def test_detached_terminal_without_console_socket_is_an_error(pyrunc, make_bundle):
    b = make_bundle(["sh"], terminal=True)
    p = pyrunc("create", "-b", b.path, "t")
    assert p.returncode == 1
    assert "cannot allocate tty if runc will detach without setting console socket" in p.stderr


@pytest.mark.parametrize("version", ["1.0.0", "1.0.2-dev", "1.2.1", "1.3.0", "1.3.0-rc.1"])
def test_oci_versions_accepted(pyrunc, make_bundle, version):
    b = make_bundle(["true"])
    b.config["ociVersion"] = version
    b.write()
    assert pyrunc("run", "-b", b.path, "ver").returncode == 0


def test_overlay_mount(pyrunc, make_bundle, tmp_path):
    lower, upper, work = tmp_path / "lower", tmp_path / "upper", tmp_path / "work"
    for d in (lower, upper, work):
        d.mkdir()
    (lower / "from-lower").write_text("low\n")
    b = make_bundle(["sh", "-c", "cat /ov/from-lower; echo new > /ov/made; grep ' /ov ' /proc/self/mountinfo"])
    b.config["mounts"].append({"destination": "/ov", "type": "overlay", "source": "overlay",
                               "options": [f"lowerdir={lower}", f"upperdir={upper}", f"workdir={work}"]})
    b.write()
    out = run_out(pyrunc, b)
    assert out.startswith("low\n") and " - overlay " in out
    assert (upper / "made").read_text() == "new\n"
    assert not (lower / "made").exists()


def test_warnings_from_the_init_reach_the_host_log(pyrunc, make_bundle, tmp_path):
    """A warning raised after pivot_root goes to the --log file on the host, never to a
    file of that name inside the container."""
    log = tmp_path / "log.json"
    b = make_bundle(["true"])
    b.config["process"]["capabilities"]["bounding"].append("CAP_NOT_A_THING")
    b.write()
    p = pyrunc("--log", str(log), "--log-format", "json", "run", "-b", b.path, "lw")
    assert p.returncode == 0, p.stderr
    assert "CAP_NOT_A_THING" in log.read_text()
    assert not os.path.exists(os.path.join(b.rootfs, str(log).lstrip("/")))
