"""The parent <-> child sync channel: a SOCK_SEQPACKET socketpair, one message a packet.

A message is ``kind`` and an optional text payload, separated by NUL, and may carry fds
(SCM_RIGHTS).  The protocol of ``create``::

    parent (runtime)                         setup child / init
    places setup in its cgroups
        ---------------- go ------------------>  joins/unshares namespaces
        <------------- maps ------------------  (new user ns only) waits
    writes uid/gid maps
        ---------------- ok ------------------>
        <---------- netdevices ---------------  (linux.netDevices) waits in its new netns
    moves the host's interfaces into it
        ---------------- ok ------------------>
        <------------- pid N -----------------  setup forked the init; the init waits
    records N in the state
        ---------------- ok ------------------>  setup lets the init go on, exits
        <---------- mountfds N ---------------  (idmapped mounts; binds in a user ns)
    opens them (host's privilege)
        ------- mounttree I (fd) ------------->  a detached idmapped tree for mounts[I]
        ------- mountsrc I (fd) -------------->  an O_PATH bind source for mounts[I]
        ---------------- ok ------------------>  mounts
        <------------- tty (fd) --------------  (terminal) pty master
        <------------- hooks -----------------  (createRuntime/prestart configured)
    runs createRuntime hooks
        ---------------- ok ------------------>  pivot_root, ..., waits on exec FIFO
        <------------- ready -----------------
    writes state.json, exits                    `start` writes the FIFO -> execve

Any step may answer ``error MSG`` instead: the child then exits and the parent reports
MSG as the failure of the whole operation.  EOF before ``ready`` is an error too.

A runtime SIGKILLed at any step leaves nothing that ``delete --force`` cannot find: the
setup child dies with it (PR_SET_PDEATHSIG), an init not yet let go on with the setup
child (its "told" pipe closes), and an init let go on is named in the state.
"""

import _socket  # the C module: socket.py imports enum and selectors
import os

from pyrunc.runtime.errors import PyruncError
from pyrunc.runtime.linux.unixsock import recv_fds, send_fds

_MAX = 65536

Sock = _socket.socket


def pair() -> tuple[Sock, Sock]:
    a, b = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
    return a, b


def send(sock: Sock, kind: str, payload: str = "", fds: list[int] | None = None) -> None:
    send_fds(sock, kind.encode() + b"\0" + payload.encode(), fds or [])


def recv(sock: Sock) -> tuple[str, str, list[int]]:
    """One message; ('eof', '', []) when the peer is gone."""
    try:
        data, fds = recv_fds(sock, _MAX, 4)
    except ConnectionResetError:
        return "eof", "", []
    if not data:
        return "eof", "", fds
    kind, _, payload = data.partition(b"\0")
    return kind.decode(), payload.decode(errors="replace"), fds


def expect(sock: Sock, kind: str) -> str:
    """Wait for ``kind`` from the parent; an EOF means the parent died: stop here."""
    k, payload, fds = recv(sock)
    for fd in fds:
        os.close(fd)
    if k != kind:
        raise PyruncError(f"sync: expected {kind!r} from the runtime, got {k!r}")
    return payload
