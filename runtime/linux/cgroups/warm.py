"""Warm the kernel's cgroup migration lock before create joins the container's cgroups.
Layer: linux (the bottom: imports only linux and the base).

Every write to a ``cgroup.procs`` file takes the kernel's ``cgroup_threadgroup_rwsem`` for
writing, and the first writer after a quiet spell waits for an RCU grace period (that
percpu rwsem's rcu_sync: 4-14 ms on this 2-core VM), while a writer within about one
grace period after another does not wait.  runc pays it too, inside its create.  So create
starts, before it reads the config, one thread of its own that writes the runtime into
the cgroup it is already in (a migration to where it is: nothing changes, but the lock is
taken): the grace period passes while the runtime loads the config and makes the
cgroups, and the container's own join, a few ms later, finds it passed (or waits for the
same one).  While a writer waits for the grace period, readers (fork, exit) still take
the lock's fast path: the runtime's fork of its setup child is not held up.

A thread, not a spawned process (the first design: a shell's echo): no exec, nothing to
reap, about 1 ms less CPU per create.  Best effort, changes nothing anywhere: any error
is ignored.  The file stays open only in the runtime's own process: a fork made while it
is open (the setup child) closes it first thing (``os.register_at_fork``), so no
process of the container ever holds a host cgroup file.
"""

import os

_O_FLAGS = os.O_WRONLY | os.O_CLOEXEC
#: How long start waits for the thread to begin its write (seconds).
_START_BOUND = 0.05


class _Warming:
    """The open ``cgroup.procs`` (-1 once closed) and the lock the thread releases when
    its write has returned."""

    __slots__ = ("fd", "done", "writing")

    def __init__(self, fd: int, done, writing) -> None:
        self.fd = fd
        self.done = done
        self.writing = writing


_current: _Warming | None = None
_hooked = False


def _own_procs_file() -> str:
    """The runtime's own cgroup.procs: on the unified tree when the host has one (no
    controller there, so no controller's attach code runs even for a no-op), else in the
    first v1 hierarchy.  "" when none is known."""
    from pyrunc.runtime.linux.cgroups.hierarchy import hierarchies, own_cgroups

    found = hierarchies()
    if not found:
        return ""
    own = own_cgroups()
    v2 = [h for h in found if h[2] == "cgroup2"]
    mnt, root, fstype, ctrls = (v2 or found)[0]
    inner = own.get("" if fstype == "cgroup2" else ctrls)
    if inner is None:
        return ""
    if root != "/" and (inner == root or inner.startswith(root + "/")):
        inner = inner[len(root):] or "/"
    elif root != "/":
        return ""  # our cgroup is outside what is mounted
    return mnt.rstrip("/") + inner.rstrip("/") + "/cgroup.procs"


def _write(w: _Warming) -> None:
    """The thread: one write of "0" (the writer's own thread group), whatever it returns."""
    w.writing.release()  # we hold the GIL until the write's system call lets it go
    try:
        os.write(w.fd, b"0")
    except OSError:
        pass
    finally:
        w.done.release()


def _close_in_child() -> None:
    """After a fork: the child has no writing thread, and no business with the file."""
    global _current
    w = _current
    if w is not None and w.fd >= 0:
        try:
            os.close(w.fd)
        except OSError:
            pass
        w.fd = -1
    _current = None


def start() -> bool:
    """Start the warming thread; False when none was started (not root, no cgroup
    hierarchy, the file refused, a thread refused, one already running)."""
    global _current, _hooked
    if _current is not None or os.geteuid() != 0:
        return False  # an unprivileged runtime may not write there (and rarely joins at all)
    try:
        target = _own_procs_file()
        if not target:
            return False
        fd = os.open(target, _O_FLAGS)
    except OSError:
        return False
    import _thread

    w = _Warming(fd, _thread.allocate_lock(), _thread.allocate_lock())
    w.done.acquire()
    w.writing.acquire()
    if not _hooked:
        os.register_at_fork(after_in_child=_close_in_child)
        _hooked = True
    try:
        _thread.start_new_thread(_write, (w,))
    except RuntimeError:
        os.close(fd)
        return False
    _current = w
    # Until the thread has started its write (a fraction of a millisecond): a new thread
    # gets the GIL only when ours lets it go, which a busy import may not do for a whole
    # switch interval (5 ms), and every such millisecond is one more of the grace period
    # left for the container's join to wait for.
    w.writing.acquire(timeout=_START_BOUND)
    return True


def finish(timeout: float = 0.0) -> bool:
    """Close the file (the thread's write holds its own reference: closing it does not
    cut the write short); True when the write has returned, waiting at most ``timeout``
    seconds for it.  A write the kernel holds longer ends with the process."""
    global _current
    w = _current
    if w is None:
        return True
    returned = w.done.acquire(timeout=timeout) if timeout > 0 else w.done.acquire(False)
    if w.fd >= 0:
        os.close(w.fd)
        w.fd = -1
    _current = None
    return returned
