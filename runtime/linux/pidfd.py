"""--pidfd-socket (runc 1.2+): a pidfd of the container's process, sent over a unix
socket the caller listens on.  As runc: a stream connection, one message whose data is
"standard" (the init) or "setns" (an exec'd process) and whose SCM_RIGHTS carries the
pidfd_open(2) fd.  Layer: linux (the bottom: imports only linux and the base)."""

import ctypes
import os

from pyrunc.runtime.errors import PyruncError


def connect(path: str):
    """Connect before anything is made, so a bad socket leaves nothing behind."""
    from pyrunc.runtime.linux import unixsock

    return unixsock.connect(path, "--pidfd-socket")


def pidfd_open(pid: int) -> int:
    if hasattr(os, "pidfd_open"):
        try:
            return os.pidfd_open(pid)
        except OSError as e:
            raise PyruncError(f"pidfd_open {pid}: {(e.strerror or str(e)).lower()}") from None
    from pyrunc.runtime.linux import libc

    fd = libc.syscall("pidfd_open", ctypes.c_long(pid), ctypes.c_long(0))
    if fd < 0:
        raise PyruncError(f"pidfd_open {pid}: {os.strerror(ctypes.get_errno()).lower()}")
    return int(fd)


def send(sock, pid: int, kind: str) -> None:
    """Send ``pid``'s pidfd with ``kind`` ("standard" or "setns"); closes the socket."""
    from pyrunc.runtime.linux.unixsock import send_fds

    try:
        fd = pidfd_open(pid)
        try:
            send_fds(sock, kind.encode(), [fd])
        except OSError as e:
            raise PyruncError(f"--pidfd-socket: send the pidfd: {(e.strerror or str(e)).lower()}") from None
        finally:
            os.close(fd)
    finally:
        sock.close()
