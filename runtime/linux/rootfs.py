"""The container's root: propagation, the bind of the rootfs onto itself, pivot_root (or
move + chroot with --no-pivot), masked and readonly paths, and the readonly remount.
Layer: linux (the bottom: imports only linux and the base).

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
    """Set the propagation of our copy of the mount tree (default rslave, as runc: the
    host's later mounts still reach us, ours never reach the host), then bind the rootfs
    onto itself so it is a mount point pivot_root accepts.
    Returns an O_PATH fd of the (bound) rootfs."""
    flag = PROPAGATION.get(propagation, c.MS_SLAVE | c.MS_REC)
    libc.mount(None, "/", None, flag, None, what="/")
    # pivot_root(2) refuses a new root whose parent mount is shared, and an unbindable
    # mount cannot be bound: make the mount the rootfs lies on private (not recursively;
    # the rootfs itself when it is a mount point, as an engine's overlay is, else the
    # nearest one above it), so that the bind below is a private mount on a private
    # parent whatever the propagation asked for.  The configured propagation returns on
    # / after the pivot (apply_root_propagation).
    _make_containing_mount_private(rootfs)
    libc.mount(rootfs, rootfs, None, c.MS_BIND | c.MS_REC, None, what=rootfs)
    libc.mount(None, rootfs, None, c.MS_PRIVATE, None, what=rootfs)
    try:
        return os.open(rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        raise SysError("open rootfs", e.errno or 0, rootfs) from None


def _make_containing_mount_private(path: str) -> None:
    """MS_PRIVATE on the mount ``path`` lies on: the kernel answers EINVAL for a path
    that is not a mount point, so walk up until one takes it (runc's order: the topmost
    mount at a path is the one changed, which mountinfo alone would not tell)."""
    p = os.path.normpath(path)
    while True:
        try:
            libc.mount(None, p, None, c.MS_PRIVATE, None, what=path)
            return
        except SysError as e:
            if e.errno != errno.EINVAL or p == "/":
                raise
        p = os.path.dirname(p)


def apply_root_propagation(propagation: str) -> None:
    """After pivot_root: the configured rootfsPropagation on the container's / (runc)."""
    if propagation:
        libc.mount(None, "/", None, PROPAGATION[propagation], None, what="/ (linux.rootfsPropagation)")


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
    """--no-pivot: move the rootfs over / and chroot into it (for a ramdisk root), the
    host's procfs and sysfs out of the namespace first (runc's msMoveRoot; nopivot)."""
    from pyrunc.runtime.linux import nopivot

    nopivot.hide_host_pseudo_filesystems(rootfs)
    try:
        os.chdir(rootfs)
        libc.mount(rootfs, "/", None, c.MS_MOVE, None, what="/")
        os.chroot(".")
        os.chdir("/")
    except OSError as e:
        raise SysError("move root", e.errno or 0, rootfs) from None


def mask_paths(rootfd: int, masked: list[str]) -> None:
    """A masked directory gets a read-only empty tmpfs; a file gets the null device bound
    over it.  The source is an fd checked to be the null device (1:3), never a path:
    the container's /dev/null when it is the real device (the host's may sit on an
    unbindable mount, e.g. with rootfsPropagation runbindable), else the host's
    (CVE-2025-31133: an image's /dev/null may be a symlink to a procfs file)."""
    if not masked:
        return
    null_fd = -1
    try:
        null_fd = paths.open_in_root(rootfd, "/dev/null")
        st = os.fstat(null_fd)
        if not (stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)):
            os.close(null_fd)
            null_fd = -1
    except SysError:
        null_fd = -1
    if null_fd < 0:
        from pyrunc.runtime.linux.devices import verified_host_node

        null_fd = verified_host_node("/dev/null", "c", 1, 3)
    try:
        _mask(rootfd, masked, paths.fd_path(null_fd))
    finally:
        os.close(null_fd)


def _open_existing(rootfd: int, path: str, where: str) -> int:
    """An O_PATH fd of ``path`` in the rootfs, or -1 if it does not exist (the spec's masked
    and readonly paths are skipped when absent)."""
    try:
        return paths.open_in_root(rootfd, path)
    except SysError as e:
        if e.errno in (errno.ENOENT, errno.ENOTDIR):
            return -1
        raise PyruncError(f"{where}: {e.msg}") from None


def _mask(rootfd: int, masked: list[str], null_src: str) -> None:
    for i, p in enumerate(masked):
        fd = _open_existing(rootfd, p, f"linux.maskedPaths[{i}]")
        if fd < 0:
            continue
        try:
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                libc.mount("tmpfs", paths.fd_path(fd), "tmpfs", c.MS_RDONLY, None, what=p)
            else:
                libc.mount(null_src, paths.fd_path(fd), None, c.MS_BIND, None, what=p)
        except SysError as e:
            raise PyruncError(f"linux.maskedPaths[{i}]: {e.msg}") from None
        finally:
            os.close(fd)


def readonly_paths(rootfd: int, ro: list[str]) -> None:
    for i, p in enumerate(ro):
        fd = _open_existing(rootfd, p, f"linux.readonlyPaths[{i}]")
        if fd < 0:
            continue
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
