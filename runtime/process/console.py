"""--console-socket: the pty master goes to the caller over an AF_UNIX socket (SCM_RIGHTS),
as runc sends it to containerd's shim.  Layer: process (may import spec, linux and the base)."""

from pyrunc.runtime.errors import PyruncError
from pyrunc.runtime.linux import unixsock

FLAG = "--console-socket"


def send_master(path: str, master: int) -> None:
    """Connect to ``path`` and send ``master``; either failure is "--console-socket PATH:
    <error>" (the connect's from linux/unixsock, the same shape)."""
    s = unixsock.connect(path, FLAG)
    try:
        unixsock.send_fds(s, b"/dev/ptmx", [master])
    except OSError as e:
        raise PyruncError(f"{FLAG} {path}: {(e.strerror or str(e)).lower()}") from None
    finally:
        s.close()
