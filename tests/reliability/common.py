"""Shared by the reliability suite: its size, and a pyrunc runner whose every process
(the runtime and whatever it forks, before and after execve) carries the test token, so
the leak check finds any process left behind."""

import os
import subprocess
import tempfile

from conftest import PYRUNC, RUN_TOKEN

#: PYRUNC_RELIABILITY=full runs the sizes the issue names; the default (CI) is smaller
#: where a size is a cost (crash delays, long runs), never for the fuzzed inputs.
FULL = os.environ.get("PYRUNC_RELIABILITY", "") == "full"

ENV = dict(os.environ, PYRUNC_TEST_TOKEN=RUN_TOKEN)


def run(root: str, *args: str, env: dict | None = None, timeout: float = 60,
        cwd: str | None = None) -> subprocess.CompletedProcess:
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        rc = subprocess.run([PYRUNC, "--root", root, *args], stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                            text=True, timeout=timeout, env=env or ENV, cwd=cwd).returncode
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(args, rc, out.read(), err.read())


def popen(root: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([PYRUNC, "--root", root, *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=ENV)


def no_traceback(p: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in p.stderr and "internal error" not in p.stderr, p.stderr
