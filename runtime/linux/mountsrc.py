"""Bind sources opened on the host side for a container with a user namespace.
Layer: linux (the bottom: imports only linux and the base).

The init runs as the container's root: in a new user namespace a bind source that the
mapped root may not reach (a 0700 directory of the host's root on the way) cannot even
be stat'ed by it.  runc opens each bind source from its parent instead, with the host's
credentials, inside the container's mount namespace, and the init binds from the fd
(/proc/self/fd/N).  The same here: a short-lived child of the runtime joins the init's
mount namespace (setns changes the root and cwd, so not the runtime itself), opens every
bind source O_PATH and sends the fds back.  The mount the fd names is then one of the
container's mount namespace, which mount(2) requires of a bind source, and propagation
stays what binding the path would give.

Best effort, as the init's own attempt follows: where the child cannot join (a rootless
runtime has no CAP_SYS_ADMIN over the host's user namespace) or cannot open a source,
no fd is sent for it and the init resolves the path itself, with its own error.
"""

import _socket
import os

from pyrunc.runtime.linux import consts as c
from pyrunc.runtime.linux import libc, unixsock


def wanted(plan) -> list[int]:
    """Indexes of the mounts whose source the runtime opens: the bind mounts that are
    not idmapped (those are cloned by the runtime whole, see idmap) when the container
    has a user namespace."""
    if plan.namespace("user") is None:
        return []
    return [i for i, m in enumerate(plan.mounts) if m.is_bind and not m.idmap and m.source]


def open_sources(plan, init_pid: int) -> list[tuple[int, int]]:
    """(mount index, O_PATH fd) for each of ``wanted(plan)`` that could be opened."""
    indexes = wanted(plan)
    if not indexes:
        return []
    a, b = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            a.close()
            _child(plan, indexes, init_pid, b)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    b.close()
    out: list[tuple[int, int]] = []
    try:
        a.settimeout(30)  # a bound on every wait: a stuck child is killed below
        while True:
            try:
                data, fds = unixsock.recv_fds(a, 32, 1)
            except (OSError, TimeoutError):
                break
            if not data:
                break
            if fds:
                out.append((int(data), fds[0]))
    finally:
        a.close()
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
    return out


def _child(plan, indexes: list[int], init_pid: int, sock) -> None:
    try:
        fd = os.open(f"/proc/{init_pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
        libc.setns(fd, c.CLONE_NEWNS)
    except Exception:
        return
    for i in indexes:
        try:
            src = os.open(plan.mounts[i].source, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue
        unixsock.send_fds(sock, str(i).encode(), [src])
        os.close(src)
