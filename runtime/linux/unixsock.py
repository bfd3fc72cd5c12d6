"""Unix stream sockets the caller names on the command line (--console-socket,
--pidfd-socket): connected early, so that a bad path fails before anything is made."""

import _socket

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
