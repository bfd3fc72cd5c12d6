"""What create and exec hand over about a process they start: the fds it inherits
(``--preserve-fds``, LISTEN_FDS) and its pid file (``--pid-file``).
Layer: container (may import process, spec, linux and the base)."""

import fcntl
import os

from pyrunc.runtime.errors import PyruncError


def reserve_fds(n: int, listen: int = 0) -> None:
    """fds 3..3+n-1 belong to the container: the first ``listen`` are LISTEN_FDS's, the
    rest --preserve-fds's.  A preserved fd the caller did not open is an error, as runc's
    (utils_linux.go, runner.run: "unable to stat preserved-fd I (of N)", before stdio is
    set up; runc 1.1.5's text).  An fd of ours (close-on-exec: a caller's fd cannot be,
    it came through an execve) is not the caller's either: runc 1.1.5 passes its own
    fds there (its /sys/fs/cgroup handle, its epoll), pyrunc refuses.  A LISTEN_FDS fd
    that is not open gets /dev/null, so that none of the runtime's own files (its lock,
    the FIFO, a directory of the host) can land there and leak into the container."""
    base = 3 + max(listen, 0)
    count = n - max(listen, 0)
    for i in range(max(count, 0)):
        fd = base + i
        try:
            theirs = not fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC
        except OSError:
            theirs = False
        if not theirs:
            raise PyruncError(f"unable to stat preserved-fd {i} (of {count}): "
                              f"stat /proc/self/fd/{fd}: no such file or directory")
    for fd in range(3, base):
        try:
            os.fstat(fd)
        except OSError:
            nul = os.open("/dev/null", os.O_RDWR)
            if nul != fd:
                os.dup2(nul, fd)
                os.close(nul)


def cloexec_from(lo: int = 3) -> None:
    """Make every fd from ``lo`` up close-on-exec, as runc's create and run do before they
    spawn anything (libcontainer's start: utils.CloseExecFrom(3), the CVE-2024-21626
    hardening): fds the caller passed without close-on-exec (``script`` leaves 10 and 251;
    a shell's ``exec 7<file``) then reach no hook and no helper the runtime execs.  The
    container's process still gets its --preserve-fds and LISTEN_FDS fds: it is a fork,
    and the init makes those inheritable again just before its execve (process/preexec.py)."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd >= lo:
            try:
                os.set_inheritable(fd, False)
            except OSError:
                pass  # listdir's own directory fd, closed by now


def write_pid_file(path: str, pid: int) -> None:
    """runc writes the pid file atomically: a hidden temporary beside it, then rename."""
    path = os.path.abspath(path)
    d, name = os.path.split(path)
    tmp = os.path.join(d, "." + name)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    except OSError as e:
        raise PyruncError(f"open {tmp}: {(e.strerror or '').lower()}") from None  # runc's text
    try:
        try:
            os.write(fd, str(pid).encode())
        finally:
            os.close(fd)
        os.rename(tmp, path)
    except OSError as e:
        raise PyruncError(f"--pid-file {path}: {(e.strerror or '').lower()}") from None
