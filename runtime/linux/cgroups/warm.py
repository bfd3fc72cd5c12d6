"""Warm the kernel's cgroup migration lock before create joins the container's cgroups.
Layer: linux (the bottom: imports only linux and the base).

Every write to a ``cgroup.procs`` file takes the kernel's ``cgroup_threadgroup_rwsem`` for
writing, and the first writer after a quiet spell waits for an RCU grace period (that
percpu rwsem's rcu_sync: 4-14 ms on this 2-core VM), while a writer within about one
grace period after another does not wait.  runc pays it too, inside its create.  So create
starts, before it reads the config, one short-lived process (a shell's echo) that writes
itself into the cgroup it is already in (a migration to where it is: nothing changes, but the lock is
taken): the grace period passes while the runtime loads the config and makes the
cgroups, and the container's own join, a few ms later, finds it passed (or waits for the
same one).  Best effort, changes nothing anywhere: any error is ignored.
"""

import os

_SH = "/bin/sh"
#: The child's stdio: nothing of the caller's (the shell says nothing, an error included).
_DEVNULL_STDIO = [(os.POSIX_SPAWN_OPEN, n, "/dev/null", os.O_RDWR, 0) for n in (0, 1, 2)]


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


def start() -> int:
    """Start the warming child; its pid, for ``reap``; 0 when none was started (not root,
    no cgroup hierarchy, no /bin/sh, spawn refused)."""
    if os.geteuid() != 0:
        return 0  # an unprivileged runtime may not write there (and rarely joins at all)
    try:
        target = _own_procs_file()
    except OSError:
        return 0
    if not target:
        return 0
    try:
        # A shell's builtin echo in a spawned process (vfork + exec: the runtime's pages are
        # not shared copy-on-write with a forked copy of itself while it loads the config).
        pid = os.posix_spawn(_SH, ["sh", "-c", 'echo 0 > "$0"', target], {},
                             file_actions=_DEVNULL_STDIO)
    except OSError:
        return 0
    return pid


def reap(pid: int, timeout: float = 1.0) -> bool:
    """Reap the warming child, waiting at most ``timeout`` seconds (0: not at all); True
    once it is reaped or gone (it exits once its write returns; one the kernel holds
    longer than the bound is left to whoever inherits it)."""
    if pid <= 0:
        return True
    try:
        if os.waitpid(pid, os.WNOHANG)[0]:
            return True
        if timeout <= 0:
            return False
        fd = os.pidfd_open(pid)
    except (ChildProcessError, ProcessLookupError):
        return True
    except OSError:
        return False  # no pidfd (ENOSYS, EMFILE): left to whoever inherits it, as documented
    try:
        import select

        p = select.poll()
        p.register(fd, select.POLLIN)
        p.poll(int(timeout * 1000))
        return os.waitpid(pid, os.WNOHANG)[0] != 0
    except ChildProcessError:
        return True
    finally:
        os.close(fd)
