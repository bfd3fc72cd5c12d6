"""The cgroup warm-up (runtime/linux/cgroups/warm.py): a thread of the runtime writes the
runtime into the cgroup it is already in, before create reads its config.  Real writes to
this test process's own cgroup.procs (a migration to where it already is), real forks."""

import os

import pytest
from pyrunc.runtime.linux.cgroups import warm


def _own_cgroups() -> str:
    with open("/proc/self/cgroup") as f:
        return f.read()


@pytest.fixture
def warming():
    if not warm._own_procs_file():
        pytest.skip("no cgroup hierarchy holds this process on this host")
    before = _own_cgroups()
    assert warm.start()
    yield
    warm.finish(timeout=5.0)
    assert _own_cgroups() == before  # nothing moved, in any hierarchy


def test_the_write_returns_and_the_file_is_closed(warming):
    fd = warm._current.fd
    assert os.readlink(f"/proc/self/fd/{fd}").endswith("/cgroup.procs")
    assert warm.finish(timeout=5.0)
    assert warm._current is None
    with pytest.raises(OSError):
        os.fstat(fd)


def test_one_at_a_time(warming):
    assert not warm.start()


def test_a_fork_closes_the_file_in_the_child(warming):
    """The setup child is forked while the write may still wait for its grace period: no
    process but the runtime ever holds the host's cgroup file."""
    fd = warm._current.fd
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report whether the number still names the file
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            target = ""
        os.write(w, (target or "closed").encode())
        os._exit(0)
    os.close(w)
    seen = os.read(r, 4096).decode()
    os.close(r)
    assert os.waitpid(pid, 0)[1] == 0
    assert seen == "closed"
    assert os.readlink(f"/proc/self/fd/{fd}").endswith("/cgroup.procs")  # ours is still open


def test_not_started_unprivileged():
    """An unprivileged runtime may not write there: no thread, nothing open."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setresuid(65534, 65534, 65534)
            code = 0 if (not warm.start() and warm._current is None) else 2
        finally:
            os._exit(code)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
