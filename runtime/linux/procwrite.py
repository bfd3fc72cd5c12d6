"""Writes into /proc that a container cannot redirect (CVE-2019-19921, CVE-2025-52881).
Layer: linux (the bottom: imports only linux and the base).

Sysctls, oomScoreAdj, id maps, time offsets and LSM labels are all written through
files under /proc.  A path walk through the container's /proc could end in whatever the
config or the container mounted there (a tmpfs over /proc/sys, a bind of a host file
over /proc/self/attr/exec), so no write here walks a path the container controls:

1. the handle is a private, detached procfs instance (fsopen + fsmount): no path leads
   to it, so nothing can be mounted over its files.  Where the kernel refuses a new
   procfs (a user namespace whose /proc is not fully visible), the handle is the
   process's /proc opened before any container mount exists, checked to be the root of
   a procfs;
2. every file is opened beneath that handle with openat2 RESOLVE_BENEATH, NO_XDEV and
   NO_MAGICLINKS: crossing any mount point on the way is an error, not a redirect;
3. the opened file is checked to be on procfs (fstatfs) before a byte is written.

The handle is close-on-exec and is closed with every other fd before the container's
program runs; ``handle_fd`` names it so that close_fds can keep it until then.
"""

import errno
import os

from pyrunc.runtime.errors import SysError
from pyrunc.runtime.linux import libc

PROC_SUPER_MAGIC = 0x9FA0
_PROC_ROOT_INO = 1
_RESOLVE = libc.RESOLVE_BENEATH | libc.RESOLVE_NO_XDEV | libc.RESOLVE_NO_MAGICLINKS

_handle = -1


def handle_fd() -> int:
    """The open procfs handle, or -1."""
    return _handle


def handle() -> int:
    """A procfs root the container cannot have shadowed (opened on first use)."""
    global _handle
    if _handle < 0:
        try:
            fd = libc.fs_instance("proc", libc.MOUNT_ATTR_NOSUID | libc.MOUNT_ATTR_NODEV | libc.MOUNT_ATTR_NOEXEC)
        except SysError:
            fd = _opened_root("/proc")
        _check_proc_root(fd)
        _handle = fd
    return _handle


def reset() -> None:
    """Forget the handle (after a fork into another pid namespace, say)."""
    global _handle
    if _handle >= 0:
        try:
            os.close(_handle)
        except OSError:
            pass
    _handle = -1


def _opened_root(path: str) -> int:
    try:
        return os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        raise SysError("open", e.errno or 0, path) from None


def _check_proc_root(fd: int) -> None:
    if libc.fstatfs_type(fd) != PROC_SUPER_MAGIC or os.fstat(fd).st_ino != _PROC_ROOT_INO:
        os.close(fd)
        raise SysError("procfs handle", errno.EXDEV, "/proc is not the root of a procfs")


def open_file(rel: str, flags: int = os.O_WRONLY) -> int:
    """Open ``rel`` (relative to the procfs root, e.g. ``sys/kernel/domainname``)."""
    path = "/proc/" + rel
    fd = libc.openat2(handle(), rel, flags | os.O_CLOEXEC | os.O_NOCTTY, _RESOLVE)
    try:
        if libc.fstatfs_type(fd) != PROC_SUPER_MAGIC:
            raise SysError("open", errno.EXDEV, path + " (not on procfs)")
    except BaseException:
        os.close(fd)
        raise
    return fd


def write(rel: str, value: str | bytes) -> None:
    """Write ``value`` into /proc/``rel`` in one write(2), through the safe handle."""
    data = value.encode() if isinstance(value, str) else value
    fd = open_file(rel)
    try:
        try:
            os.write(fd, data)
        except OSError as e:
            raise SysError("write", e.errno or 0, "/proc/" + rel) from None
    finally:
        os.close(fd)


def write_proc_file(rel: str, value: str | bytes) -> None:
    """Write /proc/thread-self/``rel`` (oom_score_adj, attr/exec, timens_offsets...)."""
    write("thread-self/" + rel, value)
