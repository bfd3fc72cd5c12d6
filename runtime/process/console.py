"""--console-socket: the pty master goes to the caller over an AF_UNIX socket (SCM_RIGHTS),
as runc sends it to containerd's shim."""

import socket

from pyrunc.runtime.errors import PyruncError


def send_master(path: str, master: int) -> None:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(path)
            socket.send_fds(s, [b"/dev/ptmx"], [master])
    except OSError as e:
        raise PyruncError(f"--console-socket {path}: {(e.strerror or str(e)).lower()}") from None
