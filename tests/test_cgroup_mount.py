"""The "cgroup" mount at /sys/fs/cgroup, beside runc on the same bundle.

On a v1 or hybrid host runc 1.1 lays it out as a tmpfs holding one mount per v1 hierarchy:
with a cgroup namespace a fresh mount of each (rooted at the container's cgroup), without
one a bind of the container's own directory of each, so that a program reading its own
limit (a JVM, Go's automaxprocs) reads the container's, and a user namespace (which may not
mount a hierarchy) still gets it.  Each case runs the bundle under runc and under pyrunc
and compares the cgroup lines of the mount table, the directory listing and a limit.
"""

import os
import subprocess
import tempfile

import pytest

RUNC = "/usr/sbin/runc"
SCRIPT = ("grep -E ' /sys/fs/cgroup' /proc/self/mountinfo | cut -d' ' -f4- | sed 's/ - / /'; "
          "echo --; ls -l /sys/fs/cgroup | sed 1d | awk '{print $1, $NF}'; echo --; "
          "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max; id -u")

pytestmark = [pytest.mark.skipif(not os.access(RUNC, os.X_OK), reason="runc (the oracle) is not installed"),
              pytest.mark.skipif(os.path.exists("/sys/fs/cgroup/cgroup.controllers"),
                                 reason="a pure cgroup v2 host: the v1 layout does not apply")]


def run_both(pyrunc, b, tmp_path) -> dict[str, tuple[int, str, str]]:
    out = {}
    for name, argv in (("runc", [RUNC, "--root", str(tmp_path / "runc-root")]), ("pyrunc", pyrunc.cmd(root=True))):
        cid = f"cgm-{name}"
        with tempfile.TemporaryFile("w+") as o, tempfile.TemporaryFile("w+") as e:
            rc = subprocess.run([*argv, "run", "-b", b.path, cid], stdout=o, stderr=e, stdin=subprocess.DEVNULL,
                                text=True, timeout=60).returncode
            o.seek(0)
            e.seek(0)
            out[name] = (rc, o.read(), e.read())
        subprocess.run([*argv, "delete", "-f", cid], capture_output=True, timeout=60)
    return out


def _bundle(make_bundle, cgroupns: bool, userns: bool):
    b = make_bundle(["sh", "-c", SCRIPT])
    lx = b.config["linux"]
    lx["namespaces"] = [n for n in lx["namespaces"] if n["type"] != "cgroup"]
    if cgroupns:
        lx["namespaces"].append({"type": "cgroup"})
    if userns:
        lx["namespaces"].append({"type": "user"})
        lx["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        lx["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    lx["resources"] = {"memory": {"limit": 64 << 20}, "pids": {"limit": 99}}
    if not any(m["destination"] == "/sys/fs/cgroup" for m in b.config["mounts"]):
        b.config["mounts"].append({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                                   "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]})
    return b.write()


@pytest.mark.parametrize("cgroupns,userns", [(False, False), (True, False), (False, True), (True, True)],
                         ids=["host-cgroupns", "cgroupns", "userns", "userns+cgroupns"])
def test_cgroup_mount_as_runc(pyrunc, make_bundle, tmp_path, cgroupns, userns):
    b = _bundle(make_bundle, cgroupns, userns)
    seen = run_both(pyrunc, b, tmp_path)
    rc, out, err = seen["runc"]
    assert rc == 0, f"runc: {err}"
    mounts, listing, values = out.split("--\n")
    # The container's own limits, whichever way the hierarchies are mounted.
    assert values.split()[:2] == [str(64 << 20), "99"], out
    if not cgroupns:
        assert b.config["linux"]["cgroupsPath"] in mounts, mounts
    assert "cgroup2" not in mounts  # runc 1.1 mounts the v1 hierarchies alone on a hybrid host
    assert seen["pyrunc"] == seen["runc"]
