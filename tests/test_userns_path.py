"""A user namespace joined by path (config-linux.md "Namespaces": ``path``), held by a
real process (``unshare -U``, its maps written here), beside runc 1.1.5 on the same
bundle: the init becomes root of the namespace it joined, and a foreground ``run``'s
stdio pipes belong to the container's root, read from the namespace's own maps when the
config gives none (runc 1.5's specconv; 1.1.5 refuses that config)."""

import os
import signal
import subprocess
import time

import pytest
from conftest import Pyrunc

RUNC = os.environ.get("RUNC", "/usr/sbin/runc")
HOST_UID, HOST_GID = 100000, 200000
#: What the container sees of its stdio and of itself.
PROBE = ("for f in 0 1 2; do stat -L -c \"fd$f %F %u %g\" /proc/self/fd/$f; done; "
         "grep -E '^(Uid|Gid):' /proc/self/status; ls -ldn /dev/pts | awk '{print \"pts\", $3, $4}'")


class Runc(Pyrunc):
    def cmd(self, *args: str, root: bool = True) -> list[str]:
        return [RUNC, "--root", self.root, *args] if root else [RUNC, *args]


@pytest.fixture
def runc(tmp_path):
    if not os.access(RUNC, os.X_OK):
        pytest.skip(f"no runc at {RUNC} to compare with")
    r = Runc(str(tmp_path / "runc-root"))
    yield r
    for cid in os.listdir(r.root) if os.path.isdir(r.root) else []:
        r("delete", "--force", cid, timeout=30)


@pytest.fixture
def userns():
    """/proc/PID/ns/user of a sleeping process in a new user namespace mapping 0 to
    HOST_UID/HOST_GID (65536 ids), killed and reaped after the test."""
    p = subprocess.Popen(["unshare", "-U", "sleep", "300"])
    try:
        deadline = time.monotonic() + 10
        while os.readlink(f"/proc/{p.pid}/ns/user") == os.readlink("/proc/self/ns/user"):
            assert time.monotonic() < deadline, "unshare -U never entered its namespace"
            time.sleep(0.01)
        with open(f"/proc/{p.pid}/uid_map", "w") as f:
            f.write(f"0 {HOST_UID} 65536\n")
        with open(f"/proc/{p.pid}/gid_map", "w") as f:
            f.write(f"0 {HOST_GID} 65536\n")
        yield f"/proc/{p.pid}/ns/user"
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait(10)


def _bundle(make_bundle, path, maps):
    b = make_bundle(["sh", "-c", PROBE])
    b.config["linux"]["namespaces"].append({"type": "user", "path": path})
    if maps:  # containerd's and CRI-O's shape: the path and the namespace's own maps
        b.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": HOST_UID, "size": 65536}]
        b.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": HOST_GID, "size": 65536}]
    return b.write()


#: The container's root owns the pipes (as it sees them), it is root of the namespace
#: joined, and what it made (/dev/pts) is its root's.
SEEN = ["fd0 fifo 0 0", "fd1 fifo 0 0", "fd2 fifo 0 0", "Uid:\t0\t0\t0\t0", "Gid:\t0\t0\t0\t0", "pts 0 0"]


def test_joined_userns_with_its_maps_beside_runc(pyrunc, runc, make_bundle, userns):
    """Before: pyrunc's init stayed the host's root, unmapped there, and failed on /dev
    ("mkdir /dev/pts: value too large for defined data type")."""
    b = _bundle(make_bundle, userns, maps=True)
    out = {}
    for name, rt in (("runc", runc), ("pyrunc", pyrunc)):
        p = rt("run", "--bundle", b.path, f"u{name}", timeout=60)
        assert p.returncode == 0, f"{name}: {p.stderr}"
        out[name] = p.stdout.splitlines()
    assert out["pyrunc"] == out["runc"] == SEEN


@pytest.mark.parametrize("how", ["proc", "bind"])
def test_joined_userns_without_maps_reads_the_namespace(pyrunc, runc, make_bundle, userns, tmp_path, how):
    """runc 1.1.5 refuses a joined user namespace without maps in the config; runc 1.5
    reads the namespace's maps (libcontainer/specconv setupUserNamespace, through
    /proc/PID/*id_map or a child that joined it) and the pipes are its root's, as with
    the maps given.  Before: the pipes stayed the host's root's, unmapped in the
    container (65534)."""
    path = userns
    if how == "bind":  # not /proc/PID/ns/user: read by a child that joins it
        path = str(tmp_path / "userns")
        open(path, "w").close()
        subprocess.run(["mount", "--bind", userns, path], check=True, timeout=10)
    try:
        b = _bundle(make_bundle, path, maps=False)
        r = runc("run", "--bundle", b.path, "urunc", timeout=60)
        assert r.returncode == 1 and "User namespaces enabled, but no uid mappings found." in r.stderr
        p = pyrunc("run", "--bundle", b.path, "upyrunc", timeout=60)
        assert p.returncode == 0, p.stderr
        assert p.stdout.splitlines() == SEEN
    finally:
        if how == "bind":
            subprocess.run(["umount", path], check=True, timeout=10)


def test_unmapped_root_in_the_joined_namespace(pyrunc, make_bundle, tmp_path):
    """A joined namespace that does not map 0: runc 1.5's "failed to become root in
    user namespace"; nothing left behind."""
    p = subprocess.Popen(["unshare", "-U", "sleep", "300"])
    try:
        deadline = time.monotonic() + 10
        while os.readlink(f"/proc/{p.pid}/ns/user") == os.readlink("/proc/self/ns/user"):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        for m in ("uid_map", "gid_map"):
            with open(f"/proc/{p.pid}/{m}", "w") as f:
                f.write(f"1 {HOST_UID} 100\n")
        b = _bundle(make_bundle, f"/proc/{p.pid}/ns/user", maps=False)
        r = pyrunc("run", "--bundle", b.path, "unomap", timeout=60)
        assert r.returncode == 1
        assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
        assert "failed to become root in user namespace: uid 0 is not mapped in it" in r.stderr
        assert pyrunc("list", "-q").stdout == ""
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait(10)


@pytest.mark.parametrize("which", ["uidMappings", "gidMappings"])
def test_joined_userns_with_other_maps_is_refused(pyrunc, runc, make_bundle, userns, which):
    """runc 1.5 (specconv setupUserNamespace) refuses a path with mappings that are not
    the namespace's own; runc 1.1.5 ran it, the config's maps describing nothing the
    container had.  One line, exit 1, nothing left behind."""
    b = _bundle(make_bundle, userns, maps=True)
    b.config["linux"][which][0]["hostID"] += 1000
    b.write()
    r = runc("run", "--bundle", b.path, "urunc", timeout=60)
    assert r.returncode == 0, r.stderr  # 1.1.5: accepted
    p = pyrunc("run", "--bundle", b.path, "upyrunc", timeout=60)
    assert p.returncode == 1 and p.stderr.count("\n") == 1, p.stderr
    assert "user namespaces enabled, but both namespace path and non-matching mapping specified" in p.stderr
    assert pyrunc("list", "-q").stdout == ""
