"""--console-socket: the pty master goes to the caller over an AF_UNIX socket (SCM_RIGHTS),
as runc sends it to containerd's shim.  Layer: process (may import spec, linux and the base)."""

import _socket

from pyrunc.runtime.errors import PyruncError
from pyrunc.runtime.linux.unixsock import send_fds


def send_master(path: str, master: int) -> None:
    try:
        s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            s.connect(path)
            send_fds(s, b"/dev/ptmx", [master])
        finally:
            s.close()
    except OSError as e:
        raise PyruncError(f"--console-socket {path}: {(e.strerror or str(e)).lower()}") from None
