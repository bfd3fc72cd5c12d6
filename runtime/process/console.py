"""--console-socket: the pty master goes to the caller over an AF_UNIX socket (SCM_RIGHTS),
as runc sends it to containerd's shim."""

import _socket
import struct

from pyrunc.runtime.errors import PyruncError


def send_master(path: str, master: int) -> None:
    try:
        s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            s.connect(path)
            s.sendmsg([b"/dev/ptmx"], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, struct.pack("i", master))])
        finally:
            s.close()
    except OSError as e:
        raise PyruncError(f"--console-socket {path}: {(e.strerror or str(e)).lower()}") from None
