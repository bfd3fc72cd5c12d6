"""Moving host network interfaces into the container's network namespace
(runtime-spec 1.3.0, config-linux.md "Network Devices", ``linux.netDevices``).
Layer: linux (the bottom: imports only linux and the base).

rtnetlink is spoken directly over an AF_NETLINK socket of CPython's ``_socket``: four
requests (get a link, dump links, dump addresses, new link/new address) are about a
hundred lines, and a config with netDevices then costs a few milliseconds where
importing pyroute2 alone costs ~230 ms on this machine.  A config without netDevices
never imports this module.

What happens, in the runtime (the parent) while the setup process waits in the
container's new network namespace, before the init exists (see process/launch.py):

1. every host interface is looked up and the container's existing names are listed;
   a missing interface, or a name the container already has (the spec's MUST, unless
   the name is a ``%d`` template), is an error before anything moves;
2. each interface's permanent addresses of global scope are read (a move flushes them);
3. one RTM_NEWLINK moves it (IFLA_NET_NS_FD) and renames it (IFLA_IFNAME) at once, so
   the name is never taken in between; the kernel expands a ``%d`` template;
4. in the container's namespace its addresses are added back and it is set up.

Nothing is moved back on delete (the spec's MUST NOT): when the namespace goes, the
kernel returns physical devices to the host and destroys virtual ones (veth, macvlan).
A failure after a move (the kernel refusing one of several devices) fails the create
the same way: the namespace dies with the setup process.
"""

import _socket
import os
import struct

from pyrunc.runtime.errors import PyruncError

# linux/netlink.h, linux/rtnetlink.h, linux/if_link.h, linux/if_addr.h
_NETLINK_ROUTE = 0
_NLMSG_ERROR = 2
_NLMSG_DONE = 3
_NLM_F_REQUEST = 0x1
_NLM_F_ACK = 0x4
_NLM_F_DUMP_INTR = 0x10
_NLM_F_DUMP = 0x300
_NLM_F_CREATE = 0x400
_NLM_F_EXCL = 0x200
_RTM_NEWLINK = 16
_RTM_GETLINK = 18
_RTM_NEWADDR = 20
_RTM_GETADDR = 22
_IFLA_IFNAME = 3
_IFLA_NET_NS_FD = 28
_IFA_ADDRESS = 1
_IFA_LOCAL = 2
_IFA_BROADCAST = 4
_IFA_FLAGS = 8
_IFA_F_PERMANENT = 0x80
#: flags a user may give RTM_NEWADDR that describe the address, kept across the move
_IFA_F_KEPT = 0x02 | 0x10 | 0x100 | 0x200  # NODAD, HOMEADDRESS, MANAGETEMPADDR, NOPREFIXROUTE
_RT_SCOPE_UNIVERSE = 0
_IFF_UP = 0x1
_CLONE_NEWNET = 0x40000000

_NLMSGHDR = struct.Struct("=IHHII")  # len, type, flags, seq, pid
_IFINFOMSG = struct.Struct("=BxHiII")  # family, type, index, flags, change
_IFADDRMSG = struct.Struct("=BBBBI")  # family, prefixlen, flags, scope, index
_RTATTR = struct.Struct("=HH")  # len, type


def _align(n: int) -> int:
    return (n + 3) & ~3


def _attr(kind: int, data: bytes) -> bytes:
    n = _RTATTR.size + len(data)
    return _RTATTR.pack(n, kind) + data + b"\0" * (_align(n) - n)


def _attrs(buf: bytes, off: int) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    while off + _RTATTR.size <= len(buf):
        n, kind = _RTATTR.unpack_from(buf, off)
        if n < _RTATTR.size:
            break
        out[kind & 0x3FFF] = buf[off + _RTATTR.size: off + n]
        off += _align(n)
    return out


def _cstr(b: bytes) -> str:
    return b.split(b"\0", 1)[0].decode(errors="replace")


class Rtnl:
    """One NETLINK_ROUTE socket; its network namespace is the one it was opened in."""

    def __init__(self) -> None:
        self.sock = _socket.socket(_socket.AF_NETLINK, _socket.SOCK_RAW | _socket.SOCK_CLOEXEC, _NETLINK_ROUTE)
        self.sock.bind((0, 0))
        self.seq = 0

    def close(self) -> None:
        self.sock.close()

    def request(self, kind: int, flags: int, body: bytes) -> list[tuple[int, bytes]]:
        """Send one request; (type, payload) of every answer.  An NLMSG_ERROR with an errno
        raises OSError; a dump the kernel marks interrupted (links changed meanwhile) is
        asked again."""
        for _ in range(10):
            out, interrupted = self._once(kind, flags, body)
            if not interrupted:
                return out
        raise OSError(4, os.strerror(4))  # EINTR: the dump kept changing

    def _once(self, kind: int, flags: int, body: bytes) -> tuple[list[tuple[int, bytes]], bool]:
        self.seq += 1
        seq = self.seq
        flags |= _NLM_F_REQUEST
        self.sock.send(_NLMSGHDR.pack(_NLMSGHDR.size + len(body), kind, flags, seq, 0) + body)
        out: list[tuple[int, bytes]] = []
        interrupted = False
        while True:
            buf = self.sock.recv(1 << 20)
            off = 0
            while off + _NLMSGHDR.size <= len(buf):
                n, mtype, mflags, mseq, _pid = _NLMSGHDR.unpack_from(buf, off)
                if n < _NLMSGHDR.size:
                    raise OSError(71, os.strerror(71))  # EPROTO: a malformed answer
                payload = buf[off + _NLMSGHDR.size: off + n]
                off += _align(n)
                if mseq != seq:
                    continue
                interrupted |= bool(mflags & _NLM_F_DUMP_INTR)
                if mtype == _NLMSG_ERROR:
                    err = -struct.unpack_from("=i", payload)[0]
                    if err:
                        raise OSError(err, os.strerror(err))
                    return out, interrupted  # the ACK
                if mtype == _NLMSG_DONE:
                    return out, interrupted
                out.append((mtype, payload))
                if not flags & (_NLM_F_DUMP | _NLM_F_ACK):
                    return out, interrupted

    # --- links ------------------------------------------------------------------

    def link_index(self, name: str) -> int:
        """The index of the link called ``name``; OSError(ENODEV) when there is none."""
        body = _IFINFOMSG.pack(0, 0, 0, 0, 0) + _attr(_IFLA_IFNAME, name.encode() + b"\0")
        for mtype, payload in self.request(_RTM_GETLINK, 0, body):
            if mtype == _RTM_NEWLINK:
                return _IFINFOMSG.unpack_from(payload)[2]
        raise OSError(19, os.strerror(19))

    def links(self) -> dict[int, str]:
        """index -> name of every link."""
        out: dict[int, str] = {}
        for mtype, payload in self.request(_RTM_GETLINK, _NLM_F_DUMP, _IFINFOMSG.pack(0, 0, 0, 0, 0)):
            if mtype != _RTM_NEWLINK:
                continue
            index = _IFINFOMSG.unpack_from(payload)[2]
            out[index] = _cstr(_attrs(payload, _IFINFOMSG.size).get(_IFLA_IFNAME, b""))
        return out

    def move(self, index: int, netns_fd: int, name: str) -> None:
        """Move the link into the namespace of ``netns_fd`` and name it ``name`` there,
        in one request (the kernel takes a ``%d`` template in ``name``)."""
        body = (_IFINFOMSG.pack(0, 0, index, 0, 0) + _attr(_IFLA_NET_NS_FD, struct.pack("=I", netns_fd))
                + _attr(_IFLA_IFNAME, name.encode() + b"\0"))
        self.request(_RTM_NEWLINK, _NLM_F_ACK, body)

    def set_up(self, index: int) -> None:
        self.request(_RTM_NEWLINK, _NLM_F_ACK, _IFINFOMSG.pack(0, 0, index, _IFF_UP, _IFF_UP))

    # --- addresses --------------------------------------------------------------

    def kept_addresses(self, index: int) -> list[tuple[int, int, int, dict[int, bytes]]]:
        """(family, prefixlen, flags, attributes) of the link's addresses that the spec
        keeps: permanent (IFA_F_PERMANENT) and of global scope (RT_SCOPE_UNIVERSE)."""
        out = []
        for mtype, payload in self.request(_RTM_GETADDR, _NLM_F_DUMP, _IFADDRMSG.pack(0, 0, 0, 0, 0)):
            if mtype != _RTM_NEWADDR:
                continue
            family, prefixlen, flags8, scope, ifindex = _IFADDRMSG.unpack_from(payload)
            if ifindex != index or scope != _RT_SCOPE_UNIVERSE:
                continue
            attrs = _attrs(payload, _IFADDRMSG.size)
            flags = struct.unpack("=I", attrs[_IFA_FLAGS])[0] if len(attrs.get(_IFA_FLAGS, b"")) == 4 else flags8
            if flags & _IFA_F_PERMANENT:
                out.append((family, prefixlen, flags, attrs))
        return out

    def add_address(self, index: int, family: int, prefixlen: int, flags: int, attrs: dict[int, bytes]) -> None:
        """The address as it was: local, peer and broadcast (no label: it carried the
        old name; the kernel gives the new one)."""
        kept = flags & _IFA_F_KEPT
        body = _IFADDRMSG.pack(family, prefixlen, kept & 0xFF, _RT_SCOPE_UNIVERSE, index)
        for kind in (_IFA_LOCAL, _IFA_ADDRESS, _IFA_BROADCAST):
            if kind in attrs:
                body += _attr(kind, attrs[kind])
        body += _attr(_IFA_FLAGS, struct.pack("=I", kept))
        self.request(_RTM_NEWADDR, _NLM_F_ACK | _NLM_F_CREATE | _NLM_F_EXCL, body)


def _why(e: OSError) -> str:
    return (e.strerror or str(e)).lower()


def _text(family: int, attrs: dict[int, bytes], prefixlen: int) -> str:
    raw = attrs.get(_IFA_LOCAL) or attrs.get(_IFA_ADDRESS) or b""
    try:
        return f"{_socket.inet_ntop(family, raw)}/{prefixlen}"
    except (OSError, ValueError):
        return f"address/{prefixlen}"


def rtnl_in(netns_fd: int) -> Rtnl:
    """A netlink socket of the namespace ``netns_fd``: opened after a setns there, and the
    runtime is back in its own namespace before this returns (a socket keeps the
    namespace it was made in).  The runtime has one thread: nothing else runs meanwhile."""
    from pyrunc.runtime.linux import libc

    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        libc.setns(netns_fd, _CLONE_NEWNET, "the container's network namespace")
        try:
            return Rtnl()
        finally:
            libc.setns(own, _CLONE_NEWNET, "the runtime's network namespace")
    finally:
        os.close(own)


def is_template(name: str) -> bool:
    return "%d" in name


def move_all(devices: dict[str, str], netns_fd: int) -> None:
    """Move each host interface (key) into the namespace of ``netns_fd`` under its name
    there (value), keep its permanent global addresses, set it up.  Every check comes
    before the first move: a missing interface or a taken name moves nothing."""
    if os.geteuid() != 0:
        raise PyruncError("linux.netDevices: network devices are not supported for rootless containers")
    host = Rtnl()
    inside = None
    try:
        inside = rtnl_in(netns_fd)
        taken = set(inside.links().values())
        plan: list[tuple[str, str, int]] = []
        for hname, cname in devices.items():
            where = f"linux.netDevices.{hname}"
            try:
                index = host.link_index(hname)
            except OSError as e:
                if e.errno == 19:  # ENODEV
                    raise PyruncError(f"{where}: no network interface {hname!r} on the host") from None
                raise PyruncError(f"{where}: look up {hname!r}: {_why(e)}") from None
            if not is_template(cname) and cname in taken:
                field = f"{where}.name" if cname != hname else where
                raise PyruncError(f"{field}: the container already has a network interface {cname!r}")
            plan.append((hname, cname, index))
        for hname, cname, index in plan:
            _move_one(host, inside, netns_fd, hname, cname, index)
    finally:
        host.close()
        if inside is not None:
            inside.close()


def _move_one(host: Rtnl, inside: Rtnl, netns_fd: int, hname: str, cname: str, index: int) -> None:
    where = f"linux.netDevices.{hname}"
    try:
        addresses = host.kept_addresses(index)  # before the move, which flushes them
    except OSError as e:
        raise PyruncError(f"{where}: read the addresses of {hname!r}: {_why(e)}") from None
    before = inside.links()
    try:
        host.move(index, netns_fd, cname)
    except OSError as e:
        raise PyruncError(f"{where}: move {hname!r} into the container's network namespace as {cname!r}: "
                          f"{_why(e)}") from None
    # Found by what is new in the namespace: the kernel may give it another index there,
    # and a template's name is the kernel's choice.
    new = [i for i in inside.links() if i not in before]
    if len(new) != 1:
        raise PyruncError(f"{where}: {hname!r} was moved but is not found in the container's network namespace")
    cindex = new[0]
    for family, prefixlen, flags, attrs in addresses:
        try:
            inside.add_address(cindex, family, prefixlen, flags, attrs)
        except OSError as e:
            raise PyruncError(f"{where}: add address {_text(family, attrs, prefixlen)} in the container: "
                              f"{_why(e)}") from None
    try:
        inside.set_up(cindex)
    except OSError as e:
        raise PyruncError(f"{where}: set {cname!r} up in the container: {_why(e)}") from None


__all__ = ["move_all", "is_template", "Rtnl"]
