"""Paths inside the rootfs, resolved without ever following a symlink out of it.
Layer: linux (the bottom: imports only linux and the base).

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
    """Create ``path`` and its parents inside the root; return an O_PATH fd of the directory.

    A symlink on the way (even a dangling one) is followed as if the root were ``/``: its
    target is created inside the rootfs, never outside it (what runc's securejoin does)."""
    rel = clean(path)
    for _ in range(40):  # ELOOP, as the kernel counts
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
        redirected = _create_components(rootfd, rel, mode)
        if redirected is None:
            return open_in_root(rootfd, rel)
        rel = redirected
    raise SysError("mkdir", errno.ELOOP, "/" + clean(path))


def _create_components(rootfd: int, rel: str, mode: int) -> str | None:
    """mkdir each missing component; on a symlink, return the path it redirects to."""
    parts = rel.split("/")
    done: list[str] = []
    for i, part in enumerate(parts):
        parent = "/".join(done)
        pfd = open_in_root(rootfd, parent or ".")
        try:
            try:
                target = os.readlink(part, dir_fd=pfd)
            except OSError:
                target = None
            if target is not None:
                base = "" if target.startswith("/") else parent
                return clean(base + "/" + target + "/" + "/".join(parts[i + 1:]))
            try:
                os.mkdir(part, mode, dir_fd=pfd)
            except FileExistsError:
                pass
            except OSError as oe:
                raise SysError("mkdir", oe.errno or 0, "/" + rel) from None
        finally:
            os.close(pfd)
        done.append(part)
    return None


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
