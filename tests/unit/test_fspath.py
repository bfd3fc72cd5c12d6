"""linux/fspath.py (the short commands' os.path without os) gives os.path's results: every
path of up to six components drawn from a, b, ., .., "" and "/" (joined by "/" and
concatenated), through normpath, dirname, basename and join; exists, isdir and samestat
on real files; and the short commands' modules really do start without os."""

import itertools
import os
import posixpath
import subprocess
import sys

from pyrunc.runtime.linux import fspath

_ALPHA = ["a", "b", "..", ".", "", "/"]
PATHS = sorted({sep.join(t) for n in range(1, 7) for t in itertools.product(_ALPHA, repeat=n) for sep in ("/", "")}
               | {"", "//", "///a", "/sys/fs/cgroup//x/./y/../z/"})


def test_pure_functions_match_posixpath():
    for p in PATHS:
        assert fspath.normpath(p) == posixpath.normpath(p), p
        assert fspath.dirname(p) == posixpath.dirname(p), p
        assert fspath.basename(p) == posixpath.basename(p), p
    for a, b in itertools.product(PATHS[:80], repeat=2):
        assert fspath.join(a, b) == posixpath.join(a, b), (a, b)
        assert fspath.join(a, b, "c") == posixpath.join(a, b, "c"), (a, b)


def test_stat_functions_match(tmp_path):
    (tmp_path / "f").write_text("")
    (tmp_path / "d").mkdir()
    os.symlink(tmp_path / "nowhere", tmp_path / "broken")
    for name in ("f", "d", "broken", "missing", "f/x"):
        p = str(tmp_path / name)
        assert fspath.exists(p) == os.path.exists(p), name
        assert fspath.isdir(p) == os.path.isdir(p), name
    assert not fspath.exists("bad\0path") and not fspath.isdir("bad\0path")
    f, d = os.stat(tmp_path / "f"), os.stat(tmp_path / "d")
    assert fspath.samestat(f, os.stat(tmp_path / "f")) and not fspath.samestat(f, d)


def test_short_command_modules_do_not_import_os():
    mods = ["pyrunc.runtime.cli.main", "pyrunc.runtime.cli.state", "pyrunc.runtime.cli.start",
            "pyrunc.runtime.cli.kill", "pyrunc.runtime.cli.delete", "pyrunc.runtime.cli.list",
            "pyrunc.runtime.container.container", "pyrunc.runtime.container.notify", "pyrunc.runtime.ocistate",
            "pyrunc.runtime.jsonout", "pyrunc.runtime.linux.cgroups.v1", "pyrunc.runtime.linux.cgroups.directories",
            # a pure-v2 host's driver: state/kill/delete load it there as v1's here
            "pyrunc.runtime.linux.cgroups.v2"]
    code = ("import sys\nsys.path[:0] = " + repr([p for p in sys.path if p]) + "\n"
            + "".join(f"import {m}\n" for m in mods) + "print('os' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-IS", "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
