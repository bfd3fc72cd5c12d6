"""pyrunc beside runc: the sample of differences issue 19 lists, each run under
Debian's runc 1.1.5 (the oracle) and under pyrunc on the same bundle, asserting on what
the CLI returned and what the container saw.  Where runtime-spec 1.3.0 or a runc 1.5
fix decides against 1.1.5, the test says so.

The differential tier (tests/differential/) compares whole observations; these are the
regression tests of the fixes, one behaviour each.
"""

import copy
import json
import os
import subprocess

import pytest
from conftest import Pyrunc

RUNC = os.environ.get("RUNC", "/usr/sbin/runc")

needs_runc = pytest.mark.skipif(not os.access(RUNC, os.X_OK), reason=f"no runc at {RUNC} to compare with")


class Runc(Pyrunc):
    """runc with this test's own --root (the same call shape as the Pyrunc fixture)."""

    def cmd(self, *args: str, root: bool = True) -> list[str]:
        return [RUNC, "--root", self.root, *args] if root else [RUNC, *args]


@pytest.fixture
def runc(tmp_path):
    r = Runc(str(tmp_path / "runc-root"))
    yield r
    # Whatever a failed assertion left under runc's root goes (the leak check only sees pyrunc's).
    if os.path.isdir(r.root):
        for cid in os.listdir(r.root):
            r("delete", "--force", cid, timeout=30)


def both(pyrunc, runc):
    return (("runc", runc), ("pyrunc", pyrunc))


def clone_bundle(b, make_bundle):
    """A second bundle with the same config (its own rootfs copy and cgroup)."""
    other = make_bundle()
    cfg = copy.deepcopy(b.config)
    cfg["linux"]["cgroupsPath"] = other.config["linux"]["cgroupsPath"]
    other.config = cfg
    return other.write()


# 1. spec: runc's template adds a cgroup namespace only where /sys/fs/cgroup is cgroup2.
@needs_runc
def test_spec_template_namespaces_match_runc(tmp_path):
    out = {}
    for name, binary in (("runc", RUNC), ("pyrunc", Pyrunc("").cmd(root=False)[0])):
        d = tmp_path / name
        d.mkdir()
        p = subprocess.run([binary, "spec", "--bundle", str(d)], capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
        out[name] = json.loads((d / "config.json").read_text())["linux"]["namespaces"]
    assert out["pyrunc"] == out["runc"]
    unified = subprocess.run(["stat", "-f", "-c", "%T", "/sys/fs/cgroup"], capture_output=True,
                             text=True, timeout=10).stdout.strip() == "cgroup2fs"
    assert ({"type": "cgroup"} in out["pyrunc"]) == unified
