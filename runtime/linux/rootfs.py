"""The container's root: propagation, the bind of the rootfs onto itself, pivot_root (or
move + chroot with --no-pivot), masked and readonly paths, and the readonly remount.

config-linux.md "Rootfs Mount Propagation", "Masked Paths", "Readonly Paths";
config.md "Root".
"""

import errno
import os
import stat

from pyrunc.runtime.errors import PyruncError, SysError
from pyrunc.runtime.linux import consts as c
from pyrunc.runtime.linux import libc, paths

PROPAGATION = {
    "private": c.MS_PRIVATE, "rprivate": c.MS_PRIVATE | c.MS_REC,
    "shared": c.MS_SHARED, "rshared": c.MS_SHARED | c.MS_REC,
    "slave": c.MS_SLAVE, "rslave": c.MS_SLAVE | c.MS_REC,
    "unbindable": c.MS_UNBINDABLE, "runbindable": c.MS_UNBINDABLE | c.MS_REC,
}


def prepare_root(rootfs: str, propagation: str) -> int:
    """Make the host's mounts reach us as slaves (runc's default) or as configured, then
    bind the rootfs onto itself so it is a mount point pivot_root accepts.
    Returns an O_PATH fd of the (bound) rootfs."""
    # Shared propagation must not carry our mounts back to the host: default rslave.
    flag = PROPAGATION.get(propagation, c.MS_SLAVE | c.MS_REC)
    if flag & c.MS_SHARED:
        # Shared on / would leak the container's mounts to the host; rootfsPropagation
        # shared is applied to the rootfs mount below instead (runc does the same).
        libc.mount(None, "/", None, c.MS_SLAVE | c.MS_REC, None, what="/")
    else:
        libc.mount(None, "/", None, flag, None, what="/")
    libc.mount(rootfs, rootfs, None, c.MS_BIND | c.MS_REC, None, what=rootfs)
    if flag & c.MS_SHARED:
        libc.mount(None, rootfs, None, flag, None, what=rootfs)
    try:
        return os.open(rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        raise SysError("open rootfs", e.errno or 0, rootfs) from None


def pivot(rootfs: str) -> None:
    """pivot_root(".", ".") then detach the old root, which lies on top of the new one."""
    oldroot = os.open("/", os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    newroot = os.open(rootfs, os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fchdir(newroot)
        libc.pivot_root(".", ".")
        os.fchdir(oldroot)
        # Slave first, so the unmount below does not propagate to the host.
        libc.mount(None, ".", None, c.MS_SLAVE | c.MS_REC, None, what="old root")
        libc.umount2(".", c.MNT_DETACH)
        os.chdir("/")
    except OSError as e:
        raise SysError("pivot_root", e.errno or 0, rootfs) from None
    finally:
        os.close(oldroot)
        os.close(newroot)



def move_root(rootfs: str) -> None:
    """--no-pivot: move the rootfs over / and chroot into it (for a ramdisk root)."""
    try:
        os.chdir(rootfs)
        libc.mount(rootfs, "/", None, c.MS_MOVE, None, what="/")
        os.chroot(".")
        os.chdir("/")
    except OSError as e:
        raise SysError("move root", e.errno or 0, rootfs) from None


def mask_paths(rootfd: int, masked: list[str]) -> None:
    """A masked directory gets a read-only empty tmpfs; a file gets /dev/null bound over it."""
    for i, p in enumerate(masked):
        try:
            fd = paths.open_in_root(rootfd, p)
        except SysError as e:
            if e.errno in (errno.ENOENT, errno.ENOTDIR):
                continue
            raise
        try:
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                libc.mount("tmpfs", paths.fd_path(fd), "tmpfs", c.MS_RDONLY, None, what=p)
            else:
                libc.mount("/dev/null", paths.fd_path(fd), None, c.MS_BIND, None, what=p)
        except SysError as e:
            raise PyruncError(f"linux.maskedPaths[{i}]: {e.msg}") from None
        finally:
            os.close(fd)


def readonly_paths(rootfd: int, ro: list[str]) -> None:
    for i, p in enumerate(ro):
        try:
            fd = paths.open_in_root(rootfd, p)
        except SysError as e:
            if e.errno in (errno.ENOENT, errno.ENOTDIR):
                continue
            raise
        try:
            libc.mount(paths.fd_path(fd), paths.fd_path(fd), None, c.MS_BIND | c.MS_REC, None, what=p)
        except SysError as e:
            os.close(fd)
            raise PyruncError(f"linux.readonlyPaths[{i}]: {e.msg}") from None
        os.close(fd)
        fd = paths.open_in_root(rootfd, p)
        try:
            sv = os.fstatvfs(fd)
            keep = _statvfs_flags(sv.f_flag)
            libc.mount(None, paths.fd_path(fd), None, c.MS_BIND | c.MS_REMOUNT | c.MS_RDONLY | c.MS_REC | keep,
                       None, what=p)
        except SysError as e:
            raise PyruncError(f"linux.readonlyPaths[{i}]: {e.msg}") from None
        finally:
            os.close(fd)


def _statvfs_flags(f: int) -> int:
    keep = 0
    for st_flag, ms in ((os.ST_NOSUID, c.MS_NOSUID), (os.ST_NODEV, c.MS_NODEV), (os.ST_NOEXEC, c.MS_NOEXEC),
                        (os.ST_NOATIME, c.MS_NOATIME), (os.ST_NODIRATIME, c.MS_NODIRATIME),
                        (os.ST_RELATIME, c.MS_RELATIME)):
        if f & st_flag:
            keep |= ms
    return keep


def readonly_root() -> None:
    """root.readonly: remount / read-only, keeping the flags the kernel has locked."""
    keep = _statvfs_flags(os.statvfs("/").f_flag)
    libc.mount(None, "/", None, c.MS_BIND | c.MS_REMOUNT | c.MS_RDONLY | keep, None, what="/ (root.readonly)")
