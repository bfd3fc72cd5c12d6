"""Pseudo-terminals: the container's pty pair, its controlling terminal and window size.
Layer: linux (the bottom: imports only linux and the base)."""

import fcntl
import os
import struct
import termios

from pyrunc.runtime.errors import PyruncError, SysError

TIOCSPTLCK = 0x40045431
TIOCGPTPEER = 0x5441
DEVPTS_SUPER_MAGIC = 0x1CD1


def open_pty(ptmx_fd_opener) -> tuple[int, int]:
    """(master, slave) from the container's devpts: ``ptmx_fd_opener()`` opens its ptmx."""
    master = ptmx_fd_opener()
    try:
        check_ptmx(master)
    except BaseException:
        os.close(master)
        raise
    try:
        fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
        slave = fcntl.ioctl(master, TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as e:
        os.close(master)
        raise SysError("open pty slave", e.errno or 0) from None
    return master, slave


def check_ptmx(fd: int) -> None:
    """The multiplexer must be a devpts ptmx (5:2 on a devpts filesystem), not whatever
    the container put at /dev/pts/ptmx (CVE-2025-52565)."""
    import stat

    from pyrunc.runtime.linux import libc

    st = os.fstat(fd)
    if not stat.S_ISCHR(st.st_mode) or st.st_rdev != os.makedev(5, 2) or libc.fstatfs_type(fd) != DEVPTS_SUPER_MAGIC:
        raise PyruncError("/dev/pts/ptmx is not a devpts pty multiplexer (5:2 on devpts): refused")


def give_to(slave: int, uid: int) -> None:
    """The pty becomes the process user's, its group left as devpts made it (the
    ``gid=`` mount option: the tty group, 5, in runc's template) and its mode too (620),
    as runc's fixStdioPermissions chowns only the owner.  Best effort, as runc's: a
    uid the user namespace does not map keeps the pty root's."""
    try:
        os.fchown(slave, uid, -1)
    except OSError:
        pass


def set_winsize(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def get_winsize(fd: int) -> tuple[int, int] | None:
    try:
        rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
    except OSError:
        return None
    return rows, cols


def make_controlling(slave: int) -> None:
    """The slave becomes stdio and the controlling terminal of this (new) session."""
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    try:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    except OSError as e:
        raise SysError("set controlling terminal", e.errno or 0) from None
