"""Idmapped bind mounts (config.md "Mounts": ``idmap``, ``ridmap``, ``uidMappings``,
``gidMappings``), built by the runtime and handed to the container's init as fds.
Layer: linux (the bottom: imports only linux and the base).

Why the runtime builds them: mount_setattr(MOUNT_ATTR_IDMAP) needs CAP_SYS_ADMIN over
the source filesystem's user namespace (the host's), which the init, inside a new user
namespace, no longer has.  So the runtime clones each source tree (open_tree
OPEN_TREE_CLONE, recursive for ``rbind``), idmaps the detached copy with a user
namespace fd (the container's own, or a throwaway one carrying the mount's mappings;
recursively for ``ridmap``) and sends the fd; the init attaches it on the destination
with move_mount, which only needs privilege over the container's mount namespace.
"""

import os

from pyrunc.runtime.errors import PyruncError, SysError
from pyrunc.runtime.linux import consts as c
from pyrunc.runtime.linux import libc, namespaces

AT_FDCWD = -100


def detached_tree(m, userns_fd: int) -> int:
    """A detached, idmapped clone of the bind source of ``m`` (a spec Mount)."""
    recursive_bind = bool(m.flags & c.MS_REC)
    try:
        fd = libc.open_tree(AT_FDCWD, m.source, libc.OPEN_TREE_CLONE | (libc.AT_RECURSIVE if recursive_bind else 0))
    except SysError as e:
        raise PyruncError(f"{m.path}: {e.msg}") from None
    try:
        libc.mount_setattr(fd, libc.MOUNT_ATTR_IDMAP, 0, m.idmap == "ridmap", userns_fd, what=m.destination)
    except SysError as e:
        os.close(fd)
        raise PyruncError(f"{m.path}: idmap {m.source}: {e.msg.split(': ')[-1]} "
                          "(the filesystem may not support idmapped mounts)") from None
    return fd


def throwaway_userns(uid_maps: list, gid_maps: list, where: str) -> int:
    """An fd of a new user namespace carrying these maps, held by no process: a child
    unshares it, the runtime writes its maps and opens it, the child exits."""
    ready_r, ready_w = os.pipe()
    done_r, done_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(ready_r)
            os.close(done_w)
            libc.unshare(c.CLONE_NEWUSER)
            os.write(ready_w, b"1")
            os.read(done_r, 1)
        finally:
            os._exit(0)
    os.close(ready_w)
    os.close(done_r)
    try:
        if os.read(ready_r, 1) != b"1":
            raise PyruncError("idmapped mount: could not create a user namespace for the mapping")
        namespaces.write_id_maps(pid, uid_maps, gid_maps, where)
        try:
            return os.open(f"/proc/{pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
        except OSError as e:
            raise SysError("open user namespace", e.errno or 0) from None
    finally:
        os.close(ready_r)
        os.close(done_w)
        os.waitpid(pid, 0)


def trees_for(plan, init_pid: int) -> list[tuple[int, int]]:
    """(mount index, tree fd) for every idmapped mount of ``plan``; the container's user
    namespace is the one of ``init_pid``."""
    out: list[tuple[int, int]] = []
    own = -1
    try:
        for i, m in enumerate(plan.mounts):
            if not m.idmap:
                continue
            if m.uid_mappings:
                ns = throwaway_userns(m.uid_mappings, m.gid_mappings, m.path)
            else:
                if own < 0:
                    own = os.open(f"/proc/{init_pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
                ns = own
            try:
                out.append((i, detached_tree(m, ns)))
            finally:
                if ns != own:
                    os.close(ns)
    except BaseException:
        for _, fd in out:
            os.close(fd)
        raise
    finally:
        if own >= 0:
            os.close(own)
    return out
