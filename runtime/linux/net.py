"""Bringing ``lo`` up in a new network namespace (config-linux.md "Network"), with the
SIOCSIFFLAGS ioctl: no netlink library on the create path.
Layer: linux (the bottom: imports only linux and the base)."""

import _socket
import fcntl
import struct

from pyrunc.runtime.errors import SysError

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def loopback_up() -> None:
    s = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
    try:
        try:
            req = struct.pack("16sH14x", b"lo", 0)
            flags = struct.unpack("16sH14x", fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, req))[1]
            fcntl.ioctl(s.fileno(), SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))
        except OSError as e:
            raise SysError("set lo up", e.errno or 0) from None
    finally:
        s.close()
