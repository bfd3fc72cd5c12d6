"""Path helpers over the ``posix`` module, for the modules of the short commands (state,
start, kill, delete, list): ``import os`` (with posixpath, genericpath, stat and
_collections_abc) costs about a millisecond of interpreter start-up, as much as a short
command's whole budget above ``python3 -IS -c pass`` (issue 20), so they use ``posix``
and these instead.  Same results as ``os.path``'s functions for ``str`` paths.
Layer: linux (the bottom: imports only linux and the base).
"""

import posix

_S_IFMT = 0o170000
_S_IFDIR = 0o040000


def join(a: str, *parts: str) -> str:
    """os.path.join: an absolute part starts over; one "/" between the others."""
    path = a
    for b in parts:
        if b.startswith("/"):
            path = b
        elif not path or path.endswith("/"):
            path += b
        else:
            path += "/" + b
    return path


def exists(path: str) -> bool:
    """os.path.exists: stat(2) succeeds (a broken symlink does not exist)."""
    try:
        posix.stat(path)
    except (OSError, ValueError):
        return False
    return True


def isdir(path: str) -> bool:
    """os.path.isdir: stat(2) succeeds and names a directory."""
    try:
        st = posix.stat(path)
    except (OSError, ValueError):
        return False
    return st.st_mode & _S_IFMT == _S_IFDIR


def dirname(path: str) -> str:
    """os.path.dirname: everything up to the last "/", trailing slashes dropped unless
    it is all slashes."""
    head = path[:path.rfind("/") + 1]
    if head and head != "/" * len(head):
        head = head.rstrip("/")
    return head


def basename(path: str) -> str:
    """os.path.basename: what follows the last "/"."""
    return path[path.rfind("/") + 1:]


def normpath(path: str) -> str:
    """os.path.normpath (POSIX): "." and empty components dropped, ".." takes the one
    before it (never above the root of an absolute path), two leading slashes kept as
    POSIX allows, any other run of them made one; "" is "."."""
    if not path:
        return "."
    lead = len(path) - len(path.lstrip("/"))
    prefix = "//" if lead == 2 else "/" if lead else ""
    out: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part != ".." or (not prefix and not out) or (out and out[-1] == ".."):
            out.append(part)
        elif out:
            out.pop()
    return prefix + "/".join(out) or "."


def read_file(path: str) -> bytes:
    """A whole (small) file's bytes through posix.open/read, without the io objects
    open() builds (several microseconds each, and list reads five files per container).
    Raises OSError as open() and read() do."""
    fd = posix.open(path, posix.O_RDONLY | posix.O_CLOEXEC)
    try:
        chunks = []
        while True:
            b = posix.read(fd, 65536)
            if not b:
                return b"".join(chunks)
            chunks.append(b)
    finally:
        posix.close(fd)


def samestat(a: posix.stat_result, b: posix.stat_result) -> bool:
    """os.path.samestat: the same file (device and inode)."""
    return a.st_ino == b.st_ino and a.st_dev == b.st_dev
