"""Paths inside the rootfs, resolved without ever following a symlink out of it.

Every lookup goes through openat2(2) with RESOLVE_IN_ROOT on an fd of the rootfs: an
absolute symlink is taken relative to the rootfs and ``..`` stops at it, so a hostile
rootfs cannot point a mount or a device node at the host (CVE-2021-30465 and kin).
Magic links (/proc/self/fd/N and the like) are refused while resolving.
"""

import errno
import os
import stat

from pyrunc.runtime.errors import SysError
from pyrunc.runtime.linux import libc

_RESOLVE = libc.RESOLVE_IN_ROOT | libc.RESOLVE_NO_MAGICLINKS


def clean(path: str) -> str:
    """Lexically clean ``path`` into a relative path under the root ('' is the root)."""
    parts: list[str] = []
    for p in path.split("/"):
        if p in ("", "."):
            continue
        if p == "..":
            if parts:
                parts.pop()
            continue
        parts.append(p)
    return "/".join(parts)


def open_in_root(rootfd: int, path: str, flags: int = os.O_PATH) -> int:
    """Open ``path`` inside the root fd ``rootfd`` (O_PATH by default)."""
    rel = clean(path) or "."
    return libc.openat2(rootfd, rel, flags, _RESOLVE)


def fd_path(fd: int) -> str:
    """The magic link that names ``fd`` for mount(2) and friends."""
    return f"/proc/self/fd/{fd}"


def mkdir_all(rootfd: int, path: str, mode: int = 0o755) -> int:
    """Create ``path`` and its parents inside the root; return an O_PATH fd of the directory."""
    rel = clean(path)
    if not rel:
        return os.dup(rootfd)
    try:
        fd = open_in_root(rootfd, rel)
    except SysError as e:
        if e.errno != errno.ENOENT:
            raise
    else:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            os.close(fd)
            raise SysError("mkdir", errno.ENOTDIR, "/" + rel)
        return fd
    cur = os.dup(rootfd)
    try:
        for part in rel.split("/"):
            try:
                nxt = libc.openat2(cur, part, os.O_PATH, _RESOLVE)
            except SysError as e:
                if e.errno != errno.ENOENT:
                    raise
                try:
                    os.mkdir(part, mode, dir_fd=cur)
                except FileExistsError:
                    pass
                except OSError as oe:
                    raise SysError("mkdir", oe.errno or 0, "/" + rel) from None
                nxt = libc.openat2(cur, part, os.O_PATH, _RESOLVE)
            if not stat.S_ISDIR(os.fstat(nxt).st_mode):
                os.close(nxt)
                raise SysError("mkdir", errno.ENOTDIR, "/" + rel)
            os.close(cur)
            cur = nxt
        # Re-resolve from the root: symlinks inside must land inside it too.
        os.close(cur)
        cur = -1
        return open_in_root(rootfd, rel)
    finally:
        if cur >= 0:
            os.close(cur)


def create_file(rootfd: int, path: str, mode: int = 0o644) -> int:
    """Make sure a regular file (or any non-directory) exists at ``path``; return an O_PATH fd."""
    rel = clean(path)
    try:
        return open_in_root(rootfd, rel)
    except SysError as e:
        if e.errno != errno.ENOENT:
            raise
    parent, _, name = rel.rpartition("/")
    pfd = mkdir_all(rootfd, parent)
    try:
        try:
            fd = os.open(name, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC | os.O_NOFOLLOW, mode, dir_fd=pfd)
            os.close(fd)
        except FileExistsError:
            pass
        except OSError as oe:
            raise SysError("create", oe.errno or 0, "/" + rel) from None
    finally:
        os.close(pfd)
    return open_in_root(rootfd, rel)
