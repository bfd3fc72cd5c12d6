"""The two CRI divergences, reproduced without an engine: the bundle containerd's CRI
plugin hands the runtime, run by runc and by pyrunc side by side (so they stay covered
where crictl is absent and test_cri.py skips).

- A Bidirectional hostPath mount makes containerd ask ``rootfsPropagation: rshared`` on
  an overlay-mounted rootfs: the rootfs's own mount must be made private before the bind
  and pivot_root (pivot_root(2) refuses a new root whose parent mount is shared).
- A pod cgroup made beforehand by the kubelet has an empty v1 cpuset: every level down to
  the container's cgroup gets its parent's cpus and mems, or the join fails (ENOSPC).
"""

import os
import subprocess
import sys
import uuid

import pytest
from conftest import CGROUP_PARENT

RUNC = "/usr/sbin/runc"
PYRUNC = os.path.join(os.path.dirname(sys.executable), "pyrunc")
pytestmark = pytest.mark.skipif(not os.path.exists(RUNC), reason=f"{RUNC} (the oracle) is not installed")


@pytest.fixture
def overlay_bundle(make_bundle, tmp_path):
    """A bundle whose rootfs is an overlay mount, as a snapshotter makes it (in a mount
    namespace of the test's own: the runs below unshare theirs from it)."""
    b = make_bundle(["sh", "-c", "grep -c ' / / ' /proc/self/mountinfo; echo ok"])
    for d in ("upper", "work"):
        (tmp_path / d).mkdir()
    lower = b.rootfs + ".lower"
    os.rename(b.rootfs, lower)
    os.mkdir(b.rootfs)
    script = (f"mount -t overlay overlay -o lowerdir={lower},upperdir={tmp_path}/upper,workdir={tmp_path}/work "
              f"{b.rootfs} && exec \"$@\"")
    yield b, script
    os.rmdir(b.rootfs)
    os.rename(lower, b.rootfs)


@pytest.mark.parametrize("propagation", ["rshared", "shared", "rslave", "rprivate"])
def test_propagation_on_an_overlay_rootfs(overlay_bundle, tmp_path, propagation):
    b, script = overlay_bundle
    b.config["linux"]["rootfsPropagation"] = propagation
    b.config["linux"].pop("cgroupsPath", None)
    b.write()
    out = {}
    for name, runtime in (("runc", RUNC), ("pyrunc", PYRUNC)):
        p = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
                            runtime, "--root", str(tmp_path / f"{name}-root"), "run", "c" + uuid.uuid4().hex[:8]],
                           cwd=b.path, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        out[name] = (p.returncode, p.stdout)
    assert out["runc"] == (0, "1\nok\n"), out
    assert out["pyrunc"] == out["runc"]


def test_premade_parent_with_an_empty_cpuset(make_bundle, tmp_path):
    if not os.path.exists("/sys/fs/cgroup/cpuset/cpuset.cpus"):
        pytest.skip("no v1 cpuset hierarchy on this host")
    with open("/sys/fs/cgroup/cpuset/cpuset.cpus") as f:
        root_cpus = f.read().strip()
    out = {}
    for name, runtime in (("runc", RUNC), ("pyrunc", PYRUNC)):
        parent = f"{CGROUP_PARENT}/pod-{name}-{uuid.uuid4().hex[:6]}"
        os.makedirs(f"/sys/fs/cgroup/cpuset{parent}")  # empty cpus and mems, as a kubelet leaves it
        b = make_bundle(["sh", "-c", "grep cpuset /proc/self/cgroup"])
        b.config["linux"]["cgroupsPath"] = f"{parent}/ctr"
        b.config["linux"]["namespaces"] = [n for n in b.config["linux"]["namespaces"] if n["type"] != "cgroup"]
        b.write()
        try:
            p = subprocess.run([runtime, "--root", str(tmp_path / f"{name}-root"), "run", "c" + uuid.uuid4().hex[:8]],
                               cwd=b.path, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
            with open(f"/sys/fs/cgroup/cpuset{parent}/cpuset.cpus") as f:
                filled = f.read().strip() == root_cpus
            out[name] = (p.returncode, p.stdout.replace(parent, "PARENT"), p.stderr.strip()[-120:], filled)
        finally:
            for ctrl in os.listdir("/sys/fs/cgroup"):
                for d in (f"/sys/fs/cgroup/{ctrl}{parent}/ctr", f"/sys/fs/cgroup/{ctrl}{parent}"):
                    if os.path.isdir(d):
                        os.rmdir(d)
    assert out["runc"][0] == 0 and out["runc"][3], out
    assert out["pyrunc"][:2] == out["runc"][:2] and out["pyrunc"][3], out
