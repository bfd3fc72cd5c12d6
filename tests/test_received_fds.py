"""The fds the runtime receives from the container's init (the pty master of a
foreground ``run -t``) are close-on-exec: the createRuntime hook, a host program the
runtime runs while it holds the master, never gets the container's terminal (runc's
hook does not either)."""

import os

from conftest import PYRUNC, run_in_pty


def test_hook_does_not_inherit_the_pty_master(pyrunc, make_bundle, tmp_path):
    out = tmp_path / "hook-fds"
    b = make_bundle(["true"], terminal=True)
    b.config["hooks"] = {"createRuntime": [{"path": "/bin/sh", "args": [
        "sh", "-c", f"for f in /proc/self/fd/*; do readlink $f; done > {out}; true"]}]}
    b.write()
    code, text = run_in_pty([PYRUNC, "--root", pyrunc.root, "run", "--bundle", b.path, "fdsee"], timeout=60)
    assert code == 0, text
    links = out.read_text().splitlines()
    assert links and not [x for x in links if "ptmx" in x or x.startswith("/dev/pts/")], links
    assert not os.path.exists(os.path.join(pyrunc.root, "fdsee"))
