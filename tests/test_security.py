"""runc's CVEs as tests: hostile images, hostile configs and hostile container processes.

Each test builds the attack that broke a runtime and asserts on what the host looks like
afterwards.  Hostile symlinks point at the container's own namespaced procfs files (its
hostname) or at a scratch directory of the test, never at host-global knobs, so a failing
runtime harms nothing.
"""

import os
import shutil
import subprocess
import tempfile
import threading
import time

import pytest
from conftest import run_in_pty

USERNS = {"uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
          "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]}


def _userns(b) -> None:
    b.config["linux"]["namespaces"].append({"type": "user"})
    b.config["linux"].update(USERNS)


def _without_dev_tmpfs(b) -> None:
    b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/dev"]


@pytest.fixture
def host_dir(base_dir):
    """A scratch directory on the host that hostile symlinks aim at: it must stay empty."""
    d = tempfile.mkdtemp(prefix="target-", dir=base_dir)
    os.chmod(d, 0o777)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _untouched(d: str) -> None:
    assert os.listdir(d) == [], f"the runtime wrote outside the rootfs: {os.listdir(d)}"
    with open("/proc/self/mountinfo") as f:
        assert not [line for line in f if f" {d} " in line or f" {d}/" in line]


# --- CVE-2025-31133: the image's /dev/null is not the null device ---------------------

@pytest.mark.parametrize("userns", [False, True], ids=["root", "userns"])
@pytest.mark.parametrize("kind", ["symlink-to-procfs", "regular-file"])
def test_swapped_dev_null_is_never_used(pyrunc, make_bundle, kind, userns):
    """Without a /dev tmpfs the image's /dev is used as it is.  Its /dev/null, a symlink to
    the container's own hostname sysctl or a plain file, must be replaced by the real
    device (mknod, or a bind of the host's in a user namespace), and the masked /proc
    files must get the null device, not the image's file."""
    b = make_bundle(["sh", "-c", "echo pwned > /dev/null; cat /proc/sys/kernel/hostname; "
                                 "stat -L -c '%F %t:%T' /dev/null; head -c 5 /proc/timer_list | wc -c"])
    _without_dev_tmpfs(b)
    b.config["hostname"] = "walls"
    b.config["root"]["readonly"] = False
    dev = os.path.join(b.rootfs, "dev")
    os.makedirs(dev, exist_ok=True)
    if userns:
        _userns(b)
        os.chown(dev, 100000, 100000)  # an image prepared for the mapping
    null = os.path.join(dev, "null")
    if kind == "symlink-to-procfs":
        os.symlink("/proc/sys/kernel/hostname", null)
    else:
        with open(null, "w") as f:
            f.write("image\n")
    b.write()
    p = pyrunc("run", "-b", b.path, "null")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [
        "walls",  # the hostname was not overwritten through /dev/null
        "character special file 1:3",
        "0",  # /proc/timer_list is masked by the null device: empty
    ]


# --- CVE-2026-41579: the image's /dev is a symlink out of the rootfs ------------------

@pytest.mark.parametrize("absolute", [True, False], ids=["absolute", "relative"])
@pytest.mark.parametrize("dev_tmpfs", [True, False], ids=["dev-tmpfs", "image-dev"])
def test_dev_symlink_out_of_rootfs(pyrunc, make_bundle, host_dir, absolute, dev_tmpfs):
    b = make_bundle(["sh", "-c", "ls /dev/null /dev/console 2>&1; ls -l /dev/null"])
    if not dev_tmpfs:
        _without_dev_tmpfs(b)
    dev = os.path.join(b.rootfs, "dev")
    shutil.rmtree(dev, ignore_errors=True)
    os.symlink(host_dir if absolute else "../" * 20 + host_dir.lstrip("/"), dev)
    b.write()
    p = pyrunc("run", "-b", b.path, "devlink")
    assert p.returncode == 0, p.stderr
    assert "crw-rw-rw-" in p.stdout
    _untouched(host_dir)


def test_dev_symlink_out_of_rootfs_with_terminal(pyrunc, make_bundle, host_dir):
    """The console is made under /dev too: with the pty it stays inside the rootfs."""
    b = make_bundle(["sh", "-c", "tty; ls -l /dev/console"], terminal=True)
    shutil.rmtree(os.path.join(b.rootfs, "dev"), ignore_errors=True)
    os.symlink(host_dir, os.path.join(b.rootfs, "dev"))
    b.write()
    rc, out = run_in_pty(pyrunc.cmd("run", "-b", b.path, "devtty"))
    assert rc == 0, out
    assert b"/pts/0" in out
    _untouched(host_dir)


# --- CVE-2025-52565: /dev/console and /dev/pts/ptmx swapped in the image --------------

def test_console_symlink_in_image_is_replaced(pyrunc, make_bundle):
    """An image /dev/console that is a symlink to the container's hostname sysctl: the
    console is bound onto a fresh file, and the sysctl stays a sysctl."""
    b = make_bundle(["sh", "-c", "cat /proc/sys/kernel/hostname; ls -l /dev/console"], terminal=True)
    _without_dev_tmpfs(b)
    b.config["hostname"] = "walls"
    os.makedirs(os.path.join(b.rootfs, "dev"), exist_ok=True)
    os.symlink("/proc/sys/kernel/hostname", os.path.join(b.rootfs, "dev", "console"))
    b.write()
    rc, out = run_in_pty(pyrunc.cmd("run", "-b", b.path, "console"))
    assert rc == 0, out
    text = out.decode(errors="replace")
    assert "walls" in text and "crw" in text  # the console is the pty, a character device


def test_fake_ptmx_is_refused(pyrunc, make_bundle):
    """An image whose /dev/pts/ptmx is a regular file, with no devpts mounted over it:
    the runtime refuses it as a pty multiplexer instead of using whatever it is."""
    b = make_bundle(["true"], terminal=True)
    _without_dev_tmpfs(b)
    b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/dev/pts"]
    b.write()
    os.makedirs(os.path.join(b.rootfs, "dev", "pts"), exist_ok=True)
    with open(os.path.join(b.rootfs, "dev", "pts", "ptmx"), "w") as f:
        f.write("not a multiplexer\n")
    rc, out = run_in_pty(pyrunc.cmd("run", "-b", b.path, "ptmx"))
    assert rc == 1
    assert b"/dev/pts/ptmx is not a devpts" in out


# --- CVE-2021-30465: mount destinations and cwd that are symlinks out of the rootfs ----

@pytest.mark.parametrize("absolute", [True, False], ids=["absolute", "relative"])
def test_mount_destination_symlink_stays_inside(pyrunc, make_bundle, host_dir, absolute):
    b = make_bundle(["true"])
    link = os.path.join(b.rootfs, "mnt", "escape")
    os.makedirs(os.path.dirname(link), exist_ok=True)
    target = host_dir if absolute else "../" * 20 + host_dir.lstrip("/")
    os.symlink(target, link)
    src = os.path.join(b.path, "volume")
    os.makedirs(src)
    with open(os.path.join(src, "marker"), "w") as f:
        f.write("volume\n")
    b.config["mounts"].append({"destination": "/mnt/escape", "type": "bind", "source": src,
                               "options": ["rbind"]})
    # The symlink is followed as if the rootfs were /: the bind lands at <rootfs><host_dir>.
    b.config["process"]["args"] = ["cat", f"{host_dir}/marker"]
    b.write()
    p = pyrunc("run", "-b", b.path, "mnt")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "volume\n"
    _untouched(host_dir)


def test_mount_destination_swapped_during_create_stays_inside(pyrunc, make_bundle, host_dir):
    """A racer flips the mount destination between a directory and a symlink to the host
    while containers are created: whatever it wins, nothing is made or mounted outside."""
    b = make_bundle(["true"])
    src = os.path.join(b.path, "volume")
    os.makedirs(src)
    b.config["mounts"].append({"destination": "/race/sub/dir", "type": "bind", "source": src,
                               "options": ["rbind"]})
    b.write()
    race = os.path.join(b.rootfs, "race")
    stop = threading.Event()

    def flip() -> None:
        while not stop.is_set():
            try:
                os.symlink(host_dir, race)
            except OSError:
                pass
            time.sleep(0.001)
            try:
                os.unlink(race)
            except OSError:
                shutil.rmtree(race, ignore_errors=True)
            try:
                os.mkdir(race)
            except OSError:
                pass
            time.sleep(0.001)
            shutil.rmtree(race, ignore_errors=True)

    t = threading.Thread(target=flip)
    t.start()
    try:
        for i in range(15):
            pyrunc("run", "-b", b.path, f"race{i}")
    finally:
        stop.set()
        t.join()
    _untouched(host_dir)


def test_cwd_symlink_out_of_rootfs_stays_inside(pyrunc, make_bundle, host_dir):
    with open(os.path.join(host_dir, "..", "cwd-marker-outside"), "w"):
        pass
    b = make_bundle(["sh", "-c", "pwd -P; ls"])
    os.symlink(os.path.dirname(host_dir), os.path.join(b.rootfs, "work"))
    b.config["process"]["cwd"] = "/work"
    b.write()
    p = pyrunc("run", "-b", b.path, "cwd")
    os.unlink(os.path.join(host_dir, "..", "cwd-marker-outside"))
    assert p.returncode == 0, p.stderr
    assert "cwd-marker-outside" not in p.stdout
    assert p.stdout.splitlines()[0] == os.path.dirname(host_dir)  # the same path, inside the rootfs


# --- CVE-2024-21626: no host fd in the container, no cwd through one ------------------

def test_no_host_fd_reaches_the_container(pyrunc, make_bundle, tmp_path):
    b = make_bundle(["sleep", "1000"])
    log = str(tmp_path / "log.json")
    pyrunc("--log", log, "--log-format", "json", "run", "-d", "-b", b.path, "fds", check=True)
    pid = pyrunc.state("fds")["pid"]
    assert sorted(os.listdir(f"/proc/{pid}/fd")) == ["0", "1", "2"]
    e = pyrunc("--log", log, "exec", "fds", "ls", "/proc/self/fd")
    assert e.returncode == 0, e.stderr
    assert e.stdout.split() == ["0", "1", "2", "3"]  # 3: ls's own directory
    pyrunc("delete", "--force", "fds", check=True)


@pytest.mark.parametrize("fd", range(3, 10))
def test_cwd_through_a_leaked_fd_is_refused(pyrunc, make_bundle, tmp_path, fd):
    """Whatever the runtime still holds at chdir time (sync socket, exec FIFO, log,
    procfs handle), a cwd of /proc/self/fd/N never leaves the process outside the root."""
    b = make_bundle(["sh", "-c", "cd ../../..; ls"])
    b.config["process"]["cwd"] = f"/proc/self/fd/{fd}"
    b.write()
    p = pyrunc("--log", str(tmp_path / "log"), "run", "-b", b.path, f"cwd{fd}")
    assert p.returncode != 0, p.stdout
    # runc's texts: the chdir's, or verifyCwd's "current working directory is outside ..."
    assert p.stderr.count("\n") == 1 and ("cwd" in p.stderr or "working directory" in p.stderr), p.stderr


def test_exec_cwd_through_a_leaked_fd_is_refused(pyrunc, make_bundle):
    b = make_bundle(["sleep", "1000"])
    b.config["process"]["oomScoreAdj"] = 10  # the exec then holds a procfs handle too
    b.write()
    pyrunc("run", "-d", "-b", b.path, "ecwd", check=True)
    for fd in range(3, 10):
        e = pyrunc("exec", "--cwd", f"/proc/self/fd/{fd}", "ecwd", "ls", "../../..")
        assert e.returncode != 0, (fd, e.stdout)
    pyrunc("delete", "--force", "ecwd", check=True)


# --- CVE-2025-52881 / CVE-2019-19921: writes into /proc that a mount could redirect ---

def test_sysctl_write_is_not_redirected_by_a_mount(pyrunc, make_bundle, tmp_path):
    """A createContainer hook (in the container's mount namespace, before the sysctls are
    written) binds a host file over /proc/sys/kernel/domainname: the sysctl still reaches
    the kernel, and the host file keeps its content."""
    b = make_bundle(["sleep", "1000"])
    decoy = tmp_path / "decoy"
    decoy.write_text("decoy\n")
    b.config["linux"]["sysctl"] = {"kernel.domainname": "walls.example"}
    b.config["hooks"] = {"createContainer": [{
        "path": "/bin/sh",
        "args": ["sh", "-c", f"mount --bind {decoy} {b.rootfs}/proc/sys/kernel/domainname"]}]}
    b.write()
    pyrunc("run", "-d", "-b", b.path, "sysctl", check=True)
    pid = pyrunc.state("sysctl")["pid"]
    seen = subprocess.run(["nsenter", "-t", str(pid), "-u", "cat", "/proc/sys/kernel/domainname"],
                          capture_output=True, text=True, check=True).stdout
    pyrunc("delete", "--force", "sysctl", check=True)
    assert decoy.read_text() == "decoy\n"
    assert seen == "walls.example\n"


@pytest.mark.parametrize("dest,is_file", [("/proc/sys", False), ("/proc/sys/kernel/domainname", True),
                                          ("/proc/self/attr", False), ("/proc/kcore", True),
                                          ("/proc/sys/kernel/hostname", True)])
def test_mounts_inside_proc_are_refused(pyrunc, make_bundle, tmp_path, dest, is_file):
    b = make_bundle(["true"])
    src = tmp_path / "src"
    if is_file:
        src.write_text("x")
    else:
        src.mkdir()
    b.config["mounts"].append({"destination": dest, "type": "bind", "source": str(src), "options": ["bind"]})
    b.write()
    p = pyrunc("run", "-b", b.path, "procmnt")
    assert p.returncode == 1
    assert p.stderr.count("\n") == 1 and "cannot be mounted because it is inside /proc" in p.stderr
    assert "mounts[" in p.stderr


def test_mount_into_proc_through_an_image_symlink_is_refused(pyrunc, make_bundle):
    b = make_bundle(["true"])
    os.symlink("/proc/sys", os.path.join(b.rootfs, "knobs"))
    b.config["mounts"].append({"destination": "/knobs/kernel", "type": "tmpfs", "source": "tmpfs"})
    b.write()
    p = pyrunc("run", "-b", b.path, "knobs")
    assert p.returncode == 1
    assert "inside /proc" in p.stderr


def test_proc_mount_of_another_type_is_refused(pyrunc, make_bundle):
    b = make_bundle(["true"])
    for m in b.config["mounts"]:
        if m["destination"] == "/proc":
            m["type"] = m["source"] = "tmpfs"
    b.write()
    p = pyrunc("run", "-b", b.path, "tmpproc")
    assert p.returncode == 1
    assert "mounts[0]" in p.stderr and "cannot be mounted because it is not of type proc" in p.stderr


def test_oom_score_adj_in_a_user_namespace(pyrunc, make_bundle):
    """Written before the user namespace: in it, the runtime's non-dumpable child could
    not write its own /proc files."""
    b = make_bundle(["cat", "/proc/self/oom_score_adj"])
    _userns(b)
    b.config["process"]["oomScoreAdj"] = 321
    b.write()
    p = pyrunc("run", "-b", b.path, "oomuser")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "321"


# --- masked and readonly paths hold; the container sees nothing of the host -----------

def test_masks_cannot_be_undone_with_default_capabilities(pyrunc, make_bundle):
    b = make_bundle(["sh", "-c", "umount /proc/timer_list 2>/dev/null && echo unmasked; "
                                 "umount -l /proc/sys 2>/dev/null && echo unro; "
                                 "mount -o remount,rw /proc/sys 2>/dev/null && echo remounted; "
                                 "echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo wrote; "
                                 "head -c 1 /proc/timer_list | wc -c; echo done"])
    p = pyrunc("run", "-b", b.path, "masks")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["0", "done"]


def test_container_sees_no_host_process_or_state(pyrunc, make_bundle):
    b = make_bundle(["sh", "-c", f"echo /proc/[0-9]*; kill -0 {os.getpid()} 2>/dev/null && echo signalled; "
                                 f"test -e {pyrunc.root} && echo state-visible; echo end"])
    p = pyrunc("run", "-b", b.path, "blind")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["/proc/1", "end"]  # only the container's own shell


def test_user_sysctl_inside_a_user_namespace(pyrunc, make_bundle):
    b = make_bundle(["cat", "/proc/sys/user/max_user_namespaces"])
    _userns(b)
    b.config["linux"]["sysctl"] = {"user.max_user_namespaces": "7"}
    b.write()
    before = open("/proc/sys/user/max_user_namespaces").read()
    p = pyrunc("run", "-b", b.path, "usersysctl")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "7\n"
    assert open("/proc/sys/user/max_user_namespaces").read() == before
    b.config["linux"]["namespaces"] = [n for n in b.config["linux"]["namespaces"] if n["type"] != "user"]
    del b.config["linux"]["uidMappings"], b.config["linux"]["gidMappings"]
    b.write()
    p = pyrunc("run", "-b", b.path, "usersysctl2")
    assert p.returncode == 1
    assert "linux.sysctl.user.max_user_namespaces" in p.stderr and "user namespace" in p.stderr


def test_waiting_init_is_not_dumpable(pyrunc, make_bundle, tmp_path):
    """CVE-2019-5736: until execve the init is the host's interpreter; a process sharing
    its pid namespace must not be able to open /proc/PID/exe (or its fds)."""
    # The watcher is pid 1 of the shared pid namespace: it must outlive the victim's
    # create, so it records what it saw in a file and keeps running.
    watcher = make_bundle(["sh", "-c",
                           "while true; do for p in /proc/[0-9]*; do "
                           "grep -q py''runc $p/cmdline 2>/dev/null || continue; "
                           "if cat $p/exe > /dev/null 2>&1; then r=opened; else r=denied; fi; "
                           "readlink $p/fd/0 > /dev/null 2>&1 && f=fds-open || f=fds-denied; "
                           "echo $r $f > /tmp/seen.tmp; mv /tmp/seen.tmp /tmp/seen; exec sleep 1000; "
                           "done; sleep 0.02; done"])
    watcher.config["root"]["readonly"] = False
    watcher.write()
    pyrunc("run", "-d", "-b", watcher.path, "watch", check=True)
    wpid = pyrunc.state("watch")["pid"]
    victim = make_bundle(["true"])
    for ns in victim.config["linux"]["namespaces"]:
        if ns["type"] == "pid":
            ns["path"] = f"/proc/{wpid}/ns/pid"
    victim.write()
    pyrunc("create", "-b", victim.path, "victim", check=True)
    seen = os.path.join(watcher.rootfs, "tmp", "seen")
    deadline = time.time() + 10
    while not os.path.exists(seen):
        assert time.time() < deadline, "the watcher never saw the waiting init"
        time.sleep(0.05)
    assert open(seen).read().split() == ["denied", "fds-denied"]
    pyrunc("delete", "--force", "victim", check=True)
    pyrunc("delete", "--force", "watch", check=True)


def test_exec_process_is_not_dumpable_before_execve(pyrunc, make_bundle):
    """CVE-2019-5736 for exec: the process exec forks into the container's pid namespace
    is the host's interpreter until execve; the container must not open its exe."""
    b = make_bundle(["sh", "-c",
                     "while true; do for p in /proc/[0-9]*; do "
                     "grep -q py''runc $p/cmdline 2>/dev/null || continue; "
                     # Opened, and still the interpreter after the open: a real breach.
                     "if (exec 3< $p/exe && grep -q py''runc $p/cmdline) 2>/dev/null; "
                     "then r=opened; else r=denied; fi; "
                     "echo $r >> /tmp/seen; done; done"])
    b.config["root"]["readonly"] = False
    b.write()
    pyrunc("run", "-d", "-b", b.path, "xwatch", check=True)
    seen = os.path.join(b.rootfs, "tmp", "seen")
    deadline = time.time() + 20
    while not os.path.exists(seen) and time.time() < deadline:
        pyrunc("exec", "xwatch", "true")
    pyrunc("delete", "--force", "xwatch", check=True)
    assert os.path.exists(seen), "the watcher never caught an exec process before execve"
    assert set(open(seen).read().split()) == {"denied"}


@pytest.mark.parametrize("maps,needle", [
    ([{"containerID": 0, "hostID": 100000, "size": 10}, {"containerID": 5, "hostID": 200000, "size": 10}],
     "linux.uidMappings[1]: containerID range overlaps linux.uidMappings[0]"),
    ([{"containerID": 0, "hostID": 100000, "size": 10}, {"containerID": 100, "hostID": 100005, "size": 10}],
     "linux.uidMappings[1]: hostID range overlaps linux.uidMappings[0]"),
    ([{"containerID": 0, "hostID": 4294967290, "size": 100}],
     "linux.uidMappings[0]: the range runs past the largest 32-bit id"),
])
def test_impossible_mappings_are_refused(pyrunc, make_bundle, maps, needle):
    b = make_bundle(["true"])
    _userns(b)
    b.config["linux"]["uidMappings"] = maps
    b.write()
    p = pyrunc("run", "-b", b.path, "maps")
    assert p.returncode == 1
    assert p.stderr.count("\n") == 1 and needle in p.stderr, p.stderr


def test_mapping_the_kernel_refuses_names_the_field(pyrunc, make_bundle):
    """Host id 4294967295 is (gid_t)-1, which the kernel never maps: its refusal names
    the field."""
    b = make_bundle(["true"])
    _userns(b)
    b.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 4294967295, "size": 1}]
    b.write()
    p = pyrunc("run", "-b", b.path, "kmaps")
    assert p.returncode == 1
    assert p.stderr.count("\n") == 1 and "linux.gidMappings" in p.stderr, p.stderr


def test_sysfs_in_a_user_namespace_without_its_own_netns_is_bound(pyrunc, make_bundle):
    """A user namespace that joined another container's network namespace may not mount
    a sysfs (EPERM): the host's /sys is bound read-only instead, as runc does."""
    first = make_bundle(["sleep", "1000"])
    pyrunc("run", "-d", "-b", first.path, "netowner", check=True)
    pid = pyrunc.state("netowner")["pid"]
    b = make_bundle(["sh", "-c", "grep ' /sys ' /proc/self/mountinfo; ls /sys/kernel >/dev/null && echo listed"])
    _userns(b)
    for ns in b.config["linux"]["namespaces"]:
        if ns["type"] == "network":
            ns["path"] = f"/proc/{pid}/ns/net"
    b.write()
    p = pyrunc("run", "-b", b.path, "sysbind")
    pyrunc("delete", "--force", "netowner", check=True)
    assert p.returncode == 0, p.stderr
    *mounts, listed = p.stdout.splitlines()
    assert listed == "listed", p.stdout
    # The top /sys mount is the bound one, read-only (submounts of the host's follow it).
    assert mounts and mounts[0].split()[5].startswith("ro"), p.stdout
