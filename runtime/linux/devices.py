"""/dev inside the container: the default devices of config-linux.md "Default Devices",
``linux.devices``, and the standard links (runtime-linux.md "Dev symbolic links").
Layer: linux (the bottom: imports only linux and the base)."""

import errno
import os
import stat

from pyrunc.runtime.errors import PyruncError, SysError
from pyrunc.runtime.linux import consts as c
from pyrunc.runtime.linux import libc, paths

#: config-linux.md: the runtime MUST supply these.  In runc's order (its AllowedDevices),
#: which the binds of a user namespace show in the container's mountinfo.
DEFAULT_DEVICES = [
    ("/dev/null", "c", 1, 3, 0o666),
    ("/dev/random", "c", 1, 8, 0o666),
    ("/dev/full", "c", 1, 7, 0o666),
    ("/dev/tty", "c", 5, 0, 0o666),
    ("/dev/zero", "c", 1, 5, 0o666),
    ("/dev/urandom", "c", 1, 9, 0o666),
]

#: runtime-linux.md "Dev symbolic links".
LINKS = [
    ("/proc/self/fd", "/dev/fd"),
    ("/proc/self/fd/0", "/dev/stdin"),
    ("/proc/self/fd/1", "/dev/stdout"),
    ("/proc/self/fd/2", "/dev/stderr"),
]

_MODE = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}


def create_device(rootfd: int, path: str, type_: str, major: int, minor: int, mode: int, uid: int,
                  gid: int, bind: bool) -> None:
    """mknod the device inside the rootfs, or bind the host's node where mknod is not allowed.

    Whatever the image has at the device's path (a symlink to a procfs file, a regular
    file: CVE-2025-31133, CVE-2026-41579) is removed first and never followed: the node,
    or the file a bind goes onto, is created in the parent directory held as an fd."""
    rel = paths.clean(path)
    parent, _, name = rel.rpartition("/")
    pfd = paths.mkdir_all(rootfd, parent)
    try:
        _clear(pfd, name, path)
        if bind:
            _bind_host_node(pfd, name, path, type_, major, minor)
            return
        try:
            os.mknod(name, _MODE[type_] | (mode & 0o7777), os.makedev(major, minor), dir_fd=pfd)
            os.chown(name, uid, gid, dir_fd=pfd, follow_symlinks=False)
        except PermissionError:
            # mknod not allowed here (a nested or restricted runtime): bind the host's node.
            if type_ == "p" or not os.path.exists(path):
                raise SysError("mknod", 1, path) from None
            _bind_host_node(pfd, name, path, type_, major, minor)
        except OSError as e:
            raise SysError("mknod", e.errno or 0, path) from None
    finally:
        os.close(pfd)


def _clear(pfd: int, name: str, path: str) -> None:
    try:
        st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
    except FileNotFoundError:
        return
    except OSError as e:
        raise SysError("stat", e.errno or 0, path) from None
    if stat.S_ISDIR(st.st_mode):
        raise PyruncError(f"device {path}: a directory is in the way")
    try:
        os.unlink(name, dir_fd=pfd)
    except OSError as e:
        # A mount point (the user bound something there): leave it to the mount below.
        if e.errno != errno.EBUSY:
            raise SysError("unlink", e.errno or 0, path) from None


def verified_host_node(path: str, type_: str, major: int, minor: int) -> int:
    """An O_PATH fd of the host's device node ``path``, checked to be that very device."""
    try:
        fd = os.open(path, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as e:
        raise SysError("open host device", e.errno or 0, path) from None
    st = os.fstat(fd)
    want = stat.S_IFBLK if type_ == "b" else stat.S_IFCHR
    if stat.S_IFMT(st.st_mode) != want or st.st_rdev != os.makedev(major, minor):
        os.close(fd)
        raise PyruncError(f"device {path}: the host's node is not {type_} {major}:{minor}")
    return fd


def _bind_host_node(pfd: int, name: str, path: str, type_: str, major: int, minor: int) -> None:
    src = verified_host_node(path, type_, major, minor)
    try:
        dst = _file_in(pfd, name, path)
        try:
            libc.mount(paths.fd_path(src), paths.fd_path(dst), None, c.MS_BIND, None, what=path)
        finally:
            os.close(dst)
    finally:
        os.close(src)


def _file_in(pfd: int, name: str, path: str) -> int:
    """An O_PATH fd of a regular file ``name`` in the directory ``pfd``, made if missing,
    never a symlink: the target of a bind mount the image cannot redirect."""
    try:
        os.close(os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                         dir_fd=pfd))
    except FileExistsError:
        pass
    except OSError as e:
        raise SysError("create", e.errno or 0, path) from None
    try:
        fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=pfd)
    except OSError as e:
        raise SysError("open", e.errno or 0, path) from None
    if stat.S_ISLNK(os.fstat(fd).st_mode):
        os.close(fd)
        raise SysError("open", errno.ELOOP, path)
    return fd


def bind_target(rootfd: int, path: str) -> int:
    """A fresh regular file at ``path`` in the rootfs for a bind mount (what was there,
    a symlink say, is removed, never followed): /dev/console (CVE-2025-52565)."""
    rel = paths.clean(path)
    parent, _, name = rel.rpartition("/")
    pfd = paths.mkdir_all(rootfd, parent)
    try:
        _clear(pfd, name, path)
        return _file_in(pfd, name, path)
    finally:
        os.close(pfd)


def create_default_devices(rootfd: int, extra: list, bind: bool) -> None:
    seen = {d.path for d in extra}
    old = os.umask(0)
    try:
        for path, t, major, minor, mode in DEFAULT_DEVICES:
            if path not in seen:
                create_device(rootfd, path, t, major, minor, mode, 0, 0, bind)
        for d in extra:
            create_device(rootfd, d.path, d.type, d.major, d.minor, d.file_mode, d.uid, d.gid, bind)
    finally:
        os.umask(old)


def reopen_dev_null() -> None:
    """After pivot_root: each of fds 0-2 that is a null device (the host's /dev/null the
    caller handed down) is replaced by the container's own /dev/null, opened now (runc's
    reOpenDevNull, when the runtime made /dev).  The container's device rules apply to
    that open: a /dev/null they do not allow fails here, as under runc."""
    try:
        fd = os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        raise PyruncError("error during container init: error reopening /dev/null inside container: "
                          f"open /dev/null: {(e.strerror or str(e)).lower()}") from None
    try:
        rdev = os.fstat(fd).st_rdev
        for n in range(3):
            try:
                st = os.fstat(n)
            except OSError:
                continue  # a closed stdio fd stays closed
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == rdev:
                os.dup2(fd, n, inheritable=True)
    finally:
        os.close(fd)


def create_links(rootfd: int) -> None:
    devfd = paths.open_in_root(rootfd, "/dev", os.O_PATH | os.O_DIRECTORY)
    try:
        links = list(LINKS)
        if os.path.exists("/proc/kcore"):
            links.append(("/proc/kcore", "/dev/core"))
        for target, link in links:
            try:
                os.symlink(target, os.path.basename(link), dir_fd=devfd)
            except FileExistsError:
                pass
            except OSError as e:
                raise SysError("symlink", e.errno or 0, link) from None
    finally:
        os.close(devfd)


def setup_ptmx(rootfd: int) -> None:
    """/dev/ptmx -> pts/ptmx, so each container has its own devpts instance."""
    devfd = paths.open_in_root(rootfd, "/dev", os.O_PATH | os.O_DIRECTORY)
    try:
        try:
            os.unlink("ptmx", dir_fd=devfd)
        except FileNotFoundError:
            pass
        os.symlink("pts/ptmx", "ptmx", dir_fd=devfd)
    except OSError as e:
        raise SysError("symlink", e.errno or 0, "/dev/ptmx") from None
    finally:
        os.close(devfd)
