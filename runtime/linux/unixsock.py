"""Unix sockets: the ones the caller names on the command line (--console-socket,
--pidfd-socket), connected early so that a bad path fails before anything is made; and
the one way fds travel over any unix socket (SCM_RIGHTS): :func:`send_fds`, :func:`recv_fds`.
Layer: linux (the bottom: imports only linux and the base)."""

import _socket
import struct

from pyrunc.runtime.errors import PyruncError


def connect(path: str, flag: str) -> _socket.socket:
    """A connected, close-on-exec AF_UNIX stream socket; errors name ``flag``."""
    s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
    try:
        s.connect(path)
    except OSError as e:
        s.close()
        raise PyruncError(f"{flag} {path}: {(e.strerror or str(e)).lower()}") from None
    return s


def send_fds(sock: _socket.socket, data: bytes, fds: list[int]) -> int:
    """One sendmsg(2) of ``data`` with ``fds`` as SCM_RIGHTS (unix(7)); returns the bytes
    sent (a stream socket may take fewer: the fds went with that first part)."""
    if not fds:
        return sock.send(data)
    return sock.sendmsg([data], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, struct.pack(f"{len(fds)}i", *fds))])


def recv_fds(sock: _socket.socket, bufsize: int, maxfds: int) -> tuple[bytes, list[int]]:
    """One recvmsg(2): the data and the fds that came with it (at most ``maxfds``; the
    kernel closes any beyond), close-on-exec (MSG_CMSG_CLOEXEC: a pty master or a
    listener the runtime holds must not reach the hooks it runs).  Raises what recvmsg
    raises."""
    data, anc, _flags, _addr = sock.recvmsg(bufsize, _socket.CMSG_SPACE(4 * maxfds), _socket.MSG_CMSG_CLOEXEC)
    fds: list[int] = []
    for level, typ, cdata in anc:
        if level == _socket.SOL_SOCKET and typ == _socket.SCM_RIGHTS:
            n = len(cdata) // 4
            fds += struct.unpack(f"{n}i", cdata[: n * 4])
    return data, fds
