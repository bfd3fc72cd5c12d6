"""/dev inside the container: the default devices of config-linux.md "Default Devices",
``linux.devices``, and the standard links (runtime-linux.md "Dev symbolic links")."""

import os
import stat

from pyrunc.runtime.errors import PyruncError, SysError
from pyrunc.runtime.linux import consts as c
from pyrunc.runtime.linux import libc, paths

#: config-linux.md: the runtime MUST supply these.
DEFAULT_DEVICES = [
    ("/dev/null", "c", 1, 3, 0o666),
    ("/dev/zero", "c", 1, 5, 0o666),
    ("/dev/full", "c", 1, 7, 0o666),
    ("/dev/random", "c", 1, 8, 0o666),
    ("/dev/urandom", "c", 1, 9, 0o666),
    ("/dev/tty", "c", 5, 0, 0o666),
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
    """mknod the device inside the rootfs, or bind the host's node where mknod is not allowed."""
    rel = paths.clean(path)
    parent, _, name = rel.rpartition("/")
    pfd = paths.mkdir_all(rootfd, parent)
    try:
        if bind:
            os.close(paths.create_file(rootfd, rel))
            fd = paths.open_in_root(rootfd, rel)
            try:
                libc.mount(path, paths.fd_path(fd), None, c.MS_BIND, None, what=path)
            finally:
                os.close(fd)
            return
        try:
            os.unlink(name, dir_fd=pfd)
        except FileNotFoundError:
            pass
        except IsADirectoryError:
            raise PyruncError(f"device {path}: a directory is in the way") from None
        except OSError:
            pass
        try:
            os.mknod(name, _MODE[type_] | (mode & 0o7777), os.makedev(major, minor), dir_fd=pfd)
            os.chown(name, uid, gid, dir_fd=pfd, follow_symlinks=False)
        except PermissionError:
            # mknod not allowed here (a nested or restricted runtime): bind the host's node.
            if type_ == "p" or not os.path.exists(path):
                raise SysError("mknod", 1, path) from None
            create_device(rootfd, path, type_, major, minor, mode, uid, gid, bind=True)
        except OSError as e:
            raise SysError("mknod", e.errno or 0, path) from None
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
