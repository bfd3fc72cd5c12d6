"""The parent <-> child sync channel: a SOCK_SEQPACKET socketpair, one message a packet.

A message is ``kind`` and an optional text payload, separated by NUL, and may carry fds
(SCM_RIGHTS).  The protocol of ``create``::

    parent (runtime)                         setup child / init
    places setup in its cgroups
        ---------------- go ------------------>  joins/unshares namespaces
        <------------- maps ------------------  (new user ns only) waits
    writes uid/gid maps
        ---------------- ok ------------------>
        <------------- pid N -----------------  setup forked the init, exits
        <------------- tty (fd) --------------  (terminal) pty master
        <------------- hooks -----------------  (createRuntime/prestart configured)
    runs createRuntime hooks
        ---------------- ok ------------------>  pivot_root, ..., waits on exec FIFO
        <------------- ready -----------------
    writes state.json, exits                    `start` writes the FIFO -> execve

Any step may answer ``error MSG`` instead: the child then exits and the parent reports
MSG as the failure of the whole operation.  EOF before ``ready`` is an error too.
"""

import socket

from pyrunc.runtime.errors import PyruncError

_MAX = 65536


def pair() -> tuple[socket.socket, socket.socket]:
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)


def send(sock: socket.socket, kind: str, payload: str = "", fds: list[int] | None = None) -> None:
    data = kind.encode() + b"\0" + payload.encode()
    if fds:
        socket.send_fds(sock, [data], fds)
    else:
        sock.send(data)


def recv(sock: socket.socket) -> tuple[str, str, list[int]]:
    """One message; ('eof', '', []) when the peer is gone."""
    try:
        data, fds, _flags, _addr = socket.recv_fds(sock, _MAX, 4)
    except ConnectionResetError:
        return "eof", "", []
    if not data:
        return "eof", "", list(fds)
    kind, _, payload = data.partition(b"\0")
    return kind.decode(), payload.decode(errors="replace"), list(fds)


def expect(sock: socket.socket, kind: str) -> str:
    """Wait for ``kind`` from the parent; an EOF means the parent died: stop here."""
    k, payload, fds = recv(sock)
    for fd in fds:
        import os

        os.close(fd)
    if k != kind:
        raise PyruncError(f"sync: expected {kind!r} from the runtime, got {k!r}")
    return payload
