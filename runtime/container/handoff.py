"""What create and exec hand over about a process they start: the fds it inherits
(``--preserve-fds``, LISTEN_FDS) and its pid file (``--pid-file``)."""

import os

from pyrunc.runtime.errors import PyruncError


def reserve_fds(n: int) -> None:
    """fds 3..3+n-1 belong to the container (--preserve-fds, LISTEN_FDS): any that is not
    open gets /dev/null, so that none of the runtime's own files (its lock, the FIFO, a
    directory of the host) can land there and leak into the container."""
    for fd in range(3, 3 + n):
        try:
            os.fstat(fd)
        except OSError:
            nul = os.open("/dev/null", os.O_RDWR)
            if nul != fd:
                os.dup2(nul, fd)
                os.close(nul)


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
