"""Joining and creating namespaces (config-linux.md "Namespaces").
Layer: linux (the bottom: imports only linux and the base).

Order matters once user namespaces exist: every ``path`` is opened first (a path inside
/proc of another process may vanish), the non-user namespaces are joined while the
runtime still has its capabilities in the host's user namespace, then the user namespace,
then whatever is new is unshared.
"""

import os

from pyrunc.runtime.errors import PyruncError, SysError
from pyrunc.runtime.linux import libc


def open_paths(namespaces: list) -> list[tuple[object, int]]:
    """Open the fd of every namespace given by path; (namespace, fd) in config order."""
    out = []
    try:
        for ns in namespaces:
            if ns.path:
                try:
                    fd = os.open(ns.path, os.O_RDONLY | os.O_CLOEXEC)
                except OSError as e:
                    raise PyruncError(f"open namespace {ns.type} {ns.path}: "
                                      f"{(e.strerror or '').lower()}") from None
                out.append((ns, fd))
    except BaseException:
        for _, fd in out:
            os.close(fd)
        raise
    return out


def join(opened: list[tuple[object, int]], user: bool) -> None:
    """setns into the opened namespaces: the user one when ``user``, else all the others."""
    for ns, fd in opened:
        if (ns.type == "user") != user:  # type: ignore[attr-defined]
            continue
        try:
            libc.setns(fd, ns.flag, ns.path)  # type: ignore[attr-defined]
        except SysError as e:
            raise PyruncError(f"join {ns.type} namespace {ns.path}: {e.msg.split(': ')[-1]}") from None  # type: ignore[attr-defined]


def new_flags(namespaces: list, exclude: int = 0) -> int:
    flags = 0
    for ns in namespaces:
        if not ns.path:
            flags |= ns.flag
    return flags & ~exclude


def write_time_offsets(offsets: dict[str, tuple[int, int]]) -> None:
    """After unshare(CLONE_NEWTIME), before the first child (time_namespaces(7))."""
    lines = "".join(f"{clock} {s} {ns}\n" for clock, (s, ns) in offsets.items())
    from pyrunc.runtime.linux import procwrite

    try:
        procwrite.write("self/timens_offsets", lines)
    except SysError as e:
        raise PyruncError(f"linux.timeOffsets: {e.msg}") from None


def write_id_maps(pid: int, uid_maps: list, gid_maps: list, where: str = "linux") -> None:
    """Written by the parent: a process cannot map itself (user_namespaces(7)).
    setgroups is denied first unless the mapping covers it, as required before a gid_map
    written without CAP_SETGID in the parent namespace."""

    def fmt(maps: list) -> bytes:
        return "".join(f"{m.container_id} {m.host_id} {m.size}\n" for m in maps).encode()

    from pyrunc.runtime.linux import procwrite

    if os.geteuid() != 0:
        # Rootless: without CAP_SETGID over the parent namespace the kernel takes a
        # gid_map only once setgroups is denied (user_namespaces(7), as runc does).
        procwrite.write(f"{pid}/setgroups", b"deny")
    for name, field, data in (("uid_map", "uidMappings", fmt(uid_maps)), ("gid_map", "gidMappings", fmt(gid_maps))):
        # Through a procfs handle nothing can have shadowed (CVE-2025-52881).
        try:
            procwrite.write(f"{pid}/{name}", data)
        except SysError as e:
            # The kernel's refusal (a host id the runtime may not map, say) names the field.
            raise PyruncError(f"{where}.{field}: {e.msg}") from None


def user_id_maps(path: str) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
    """The uid and gid maps of the user namespace at ``path`` (its ids, then the ids of
    its parent, which is ours when we made or own it), as runc 1.5 caches a joined
    namespace's maps (userns.GetUserNamespaceMappings): /proc/PID/{uid,gid}_map when
    ``path`` is /proc/PID/ns/user, else read by a child that joined it (a map reads
    relative to the reader's namespace, so the child's own view gives the parent ids).
    Raises OSError (or PyruncError from the child) when neither works."""
    parts = path.split("/")
    if len(parts) == 5 and parts[:2] == ["", "proc"] and parts[2].isdigit() and parts[3:] == ["ns", "user"]:
        try:
            return (_parse_map(_read(f"/proc/{parts[2]}/uid_map")),
                    _parse_map(_read(f"/proc/{parts[2]}/gid_map")))
        except OSError:
            pass  # the process is gone, or the map is not ours to read: the slow way
    from pyrunc.runtime.linux import consts as c

    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    r, w = os.pipe2(os.O_CLOEXEC)
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            code = 1
            try:
                os.close(r)
                libc.setns(fd, c.CLONE_NEWUSER, path)
                os.write(w, _read("/proc/self/uid_map") + b"\0" + _read("/proc/self/gid_map"))
                code = 0
            finally:
                os._exit(code)
        os.close(w)
        w = -1
        chunks = []
        while chunk := os.read(r, 65536):
            chunks.append(chunk)
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
        os.close(r)
        if w >= 0:
            os.close(w)
    if status != 0 or b"\0" not in b"".join(chunks):
        raise PyruncError(f"read the id maps of user namespace {path}: its reader failed")
    uid, _, gid = b"".join(chunks).partition(b"\0")
    return _parse_map(uid), _parse_map(gid)


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _parse_map(data: bytes) -> list[tuple[int, int, int]]:
    """uid_map / gid_map lines: "ID-inside ID-outside length" (user_namespaces(7))."""
    return [(int(a), int(b), int(n)) for a, b, n in (line.split() for line in data.splitlines() if line.strip())]
