"""Bridge networking for a container, as an OCI hook built on pyroute2.
Not a layer of the runtime: a hook program the runtime runs and never imports.

    python -I -m pyrunc.hooks.bridge up   [options]   # a createRuntime hook
    python -I -m pyrunc.hooks.bridge down [options]   # the matching poststop hook
    python -I -m pyrunc.hooks.bridge remove-bridge [options]   # by hand: the bridge and its lease dir

The container's state arrives on stdin (runtime.md); ``up`` runs in the runtime's
namespaces once the container's exist (its network namespace is /proc/<pid>/ns/net):

1. checks everything it is given (state, options, annotations) before touching anything;
2. under a lock (flock on <leases>/<bridge>/.lock) makes the bridge with its gateway
   address (the subnet's first host) if it is missing, and claims an address with a lease
   file <leases>/<bridge>/<address> made O_EXCL (the first free one, or the static one asked
   for), which records the container id, its init pid and start time and the host veth;
3. makes a veth pair (host end ``pv<hash>`` on the bridge; the hash is of bridge and id, so
   ``down`` finds it), moves the other end into the container's network namespace, and
   there renames it eth0, gives it the address, brings it up and adds a default route via
   the gateway.

Any failure is one line on stderr and exit status 1 (which fails create: runtime.md), and
whatever this run made (lease, veth) is removed first.  ``down`` finds the lease by
container id, removes the host end if the kernel has not already, and drops the lease;
it succeeds when there is nothing to release.  A lease whose container is gone (its init
pid no longer has the recorded start time) and whose veth is gone is reclaimed when an
address is allocated, so a create that failed after this hook cannot leak an address.

Options (arguments; an annotation of the container wins over its argument):

    --bridge NAME     pyrunc.net.bridge    the bridge (default pyrunc0; at most 15 bytes)
    --subnet CIDR     pyrunc.net.subnet    IPv4 subnet of the bridge (default 10.89.0.0/24)
                      pyrunc.net.address   a static address inside the subnet
    --mtu N           pyrunc.net.mtu       MTU of both veth ends (default: the kernel's)
    --lease-dir DIR                        lease root (default /run/pyrunc-net); the leases of
                                           bridge B are in DIR/B/
    --publish LIST    pyrunc.net.publish   published ports, HOST:CONTAINER[/tcp|/udp],... (off)
    --nat true|false  pyrunc.net.nat       outbound NAT for the subnet (off)
                                           (both through nftables: see nat.py)

pyroute2 is imported by this module only, which runs as its own process: the runtime
never imports it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import ipaddress
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

DEFAULT_BRIDGE = "pyrunc0"
DEFAULT_SUBNET = "10.89.0.0/24"
DEFAULT_LEASE_DIR = "/run/pyrunc-net"
IFNAMSIZ = 16  # with its NUL: names are at most 15 bytes
CLONE_NEWNET = 0x40000000
ANNOTATION = "pyrunc.net."


class HookError(Exception):
    """One line for the runtime to show; the hook exits 1."""


@dataclass
class Options:
    bridge: str
    subnet: ipaddress.IPv4Network
    address: ipaddress.IPv4Address | None
    mtu: int | None
    lease_dir: str
    publish: list = field(default_factory=list)  # list[nat.Port]
    nat: bool = False

    @property
    def gateway(self) -> ipaddress.IPv4Address:
        return next(self.subnet.hosts())

    @property
    def dir(self) -> str:
        return os.path.join(self.lease_dir, self.bridge)


@dataclass
class State:
    id: str
    pid: int
    annotations: dict[str, str]


# ---- input -------------------------------------------------------------------------------

def read_state(text: str) -> State:
    try:
        st = json.loads(text)
    except ValueError as e:
        raise HookError(f"state on stdin is not JSON: {e}") from None
    if not isinstance(st, dict) or not isinstance(st.get("id"), str) or not st["id"]:
        raise HookError("state on stdin has no container id")
    pid = st.get("pid", 0)
    if not isinstance(pid, int) or isinstance(pid, bool) or pid < 0:
        raise HookError(f"container {st['id']}: pid {pid!r} in its state is not a pid")
    ann = st.get("annotations") or {}
    if not isinstance(ann, dict):
        raise HookError(f"container {st['id']}: annotations are not an object")
    return State(st["id"], pid, {str(k): str(v) for k, v in ann.items()})


def check_ifname(name: str, what: str) -> str:
    if not name or len(name.encode()) >= IFNAMSIZ:
        raise HookError(f"{what} {name!r}: an interface name has 1 to {IFNAMSIZ - 1} bytes")
    if name in (".", "..") or any(c in name for c in "/: \t\n"):
        raise HookError(f"{what} {name!r}: not a valid interface name")
    return name


def parse_options(argv: list[str], annotations: dict[str, str]) -> Options:
    args: dict[str, str] = {}
    i = 0
    while i < len(argv):
        a = argv[i]
        key, eq, val = a.partition("=")
        if key not in ("--bridge", "--subnet", "--mtu", "--lease-dir", "--publish", "--nat"):
            raise HookError(f"unknown option {a!r}")
        if not eq:
            i += 1
            if i >= len(argv):
                raise HookError(f"option {key} needs a value")
            val = argv[i]
        args[key[2:]] = val
        i += 1
    for k in ("bridge", "subnet", "address", "mtu", "publish", "nat"):
        if ANNOTATION + k in annotations:
            args[k] = annotations[ANNOTATION + k]
    bridge = check_ifname(args.get("bridge", DEFAULT_BRIDGE), "bridge")
    text = args.get("subnet", DEFAULT_SUBNET)
    try:
        subnet = ipaddress.IPv4Network(text, strict=True)
    except ValueError as e:
        raise HookError(f"subnet {text!r} does not parse: {e}") from None
    if subnet.prefixlen > 30:
        raise HookError(f"subnet {text!r} is too small: a gateway and a container need a /30 at least")
    address = None
    if "address" in args:
        try:
            address = ipaddress.IPv4Address(args["address"])
        except ValueError as e:
            raise HookError(f"address {args['address']!r} does not parse: {e}") from None
        if address not in subnet or address in (subnet.network_address, subnet.broadcast_address):
            raise HookError(f"address {address} is not a host address of subnet {subnet}")
        if address == next(subnet.hosts()):
            raise HookError(f"address {address} is the gateway of subnet {subnet}")
    mtu = None
    if "mtu" in args:
        try:
            mtu = int(args["mtu"])
        except ValueError:
            raise HookError(f"mtu {args['mtu']!r} is not a number") from None
        if not 68 <= mtu <= 65535:
            raise HookError(f"mtu {mtu} is out of range (68 to 65535)")
    lease_dir = args.get("lease-dir", DEFAULT_LEASE_DIR)
    if not os.path.isabs(lease_dir):
        raise HookError(f"lease dir {lease_dir!r} is not an absolute path")
    from pyrunc.hooks import nat

    try:
        publish = nat.parse_publish(args.get("publish", ""))
    except nat.NatError as e:
        raise HookError(str(e)) from None
    nat_on = args.get("nat", "false").lower()
    if nat_on not in ("true", "false"):
        raise HookError(f"nat {args['nat']!r}: true or false")
    return Options(bridge, subnet, address, mtu, lease_dir, publish, nat_on == "true")


def veth_names(bridge: str, cid: str) -> tuple[str, str]:
    """The host end and the temporary name of the container end (both 14 bytes)."""
    h = hashlib.sha256(f"{bridge}/{cid}".encode()).hexdigest()[:12]
    return "pv" + h, "pc" + h


# ---- processes and namespaces ---------------------------------------------------------------

def start_time(pid: int) -> int:
    """Field 22 of /proc/<pid>/stat; 0 when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return 0
    return int(data[data.rindex(b")") + 2:].split()[19])


def open_netns(st: State) -> int:
    """An fd of the container's network namespace (which also keeps it alive)."""
    if st.pid <= 0:
        raise HookError(f"container {st.id} is not running: its state has no pid")
    try:
        fd = os.open(f"/proc/{st.pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        raise HookError(f"container {st.id} is not running: pid {st.pid} is gone") from None
    if os.fstat(fd).st_ino == os.stat("/proc/self/ns/net").st_ino:
        os.close(fd)
        raise HookError(f"container {st.id} has no network namespace of its own (host mode?)")
    return fd


def setns(fd: int) -> None:
    from pyrunc.runtime.errors import SysError
    from pyrunc.runtime.linux import libc

    try:
        libc.setns(fd, CLONE_NEWNET)
    except SysError as e:
        raise HookError(str(e)) from None


def why(e: BaseException) -> str:
    """pyroute2's NetlinkError and OSError as a lowercase reason."""
    code = getattr(e, "code", None)
    if isinstance(code, int) and code > 0:
        return os.strerror(code).lower()
    if isinstance(e, OSError) and e.strerror:
        return e.strerror.lower()
    return str(e) or type(e).__name__


@contextlib.contextmanager
def step(what: str) -> Iterator[None]:
    try:
        yield
    except HookError:
        raise
    except Exception as e:
        raise HookError(f"{what}: {why(e)}") from None


# ---- leases --------------------------------------------------------------------------------

@contextlib.contextmanager
def locked(d: str) -> Iterator[None]:
    with step(f"lease dir {d}"):
        os.makedirs(d, mode=0o700, exist_ok=True)
        fd = os.open(os.path.join(d, ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def read_lease(path: str) -> dict[str, Any] | None:
    try:
        with open(path) as f:
            v = json.load(f)
    except (OSError, ValueError):
        return None
    return v if isinstance(v, dict) else None


def leases(d: str) -> dict[str, dict[str, Any]]:
    """address -> lease, for every lease file in d (an unreadable one counts as held)."""
    out: dict[str, dict[str, Any]] = {}
    for name in os.listdir(d):
        try:
            ipaddress.IPv4Address(name)
        except ValueError:
            continue
        out[name] = read_lease(os.path.join(d, name)) or {}
    return out


def is_stale(lease: dict[str, Any], link_exists) -> bool:
    """A lease whose container is gone: its init's start time changed and its veth is gone."""
    pid, start, veth = lease.get("pid"), lease.get("start"), lease.get("veth")
    if not isinstance(pid, int) or not isinstance(start, int) or not isinstance(veth, str):
        return False
    return start_time(pid) != start and not link_exists(veth)


def claim(opts: Options, st: State, veth: str, link_exists) -> ipaddress.IPv4Address:
    """Write the lease file of an address for st (the lock is held)."""
    held = leases(opts.dir)
    for addr, lease in list(held.items()):
        if lease.get("id") == st.id:
            if not is_stale(lease, link_exists):
                raise HookError(f"container {st.id} already has address {addr} on bridge {opts.bridge}")
            os.unlink(os.path.join(opts.dir, addr))  # an earlier container of this id, gone
            del held[addr]
    if opts.address is not None:
        candidates = [opts.address]
    else:
        gw = opts.gateway
        candidates = (a for a in opts.subnet.hosts() if a != gw)
    record = json.dumps({"id": st.id, "pid": st.pid, "start": start_time(st.pid), "veth": veth,
                         "subnet": str(opts.subnet)})
    for a in candidates:
        lease = held.get(str(a))
        if lease is not None:
            if not is_stale(lease, link_exists):
                if opts.address is not None:
                    raise HookError(f"address {a} is already leased to container {lease.get('id', '?')}")
                continue
            os.unlink(os.path.join(opts.dir, str(a)))  # its container is gone
        path = os.path.join(opts.dir, str(a))
        with step(f"lease {path}"):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, record.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        return a
    raise HookError(f"subnet {opts.subnet} of bridge {opts.bridge} has no free address")


def find_lease(opts: Options, cid: str) -> str | None:
    if not os.path.isdir(opts.dir):
        return None
    for addr, lease in leases(opts.dir).items():
        if lease.get("id") == cid:
            return addr
    return None


def remove_lease(opts: Options, addr: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(opts.dir, addr))


# ---- links ---------------------------------------------------------------------------------

def ensure_bridge(ipr, opts: Options) -> int:
    """The bridge's index; made, with the gateway address, and up, if missing."""
    found = ipr.link_lookup(ifname=opts.bridge)
    if found:
        idx = found[0]
        kind = ipr.get_links(idx)[0].get_attr("IFLA_LINKINFO")
        kind = kind.get_attr("IFLA_INFO_KIND") if kind is not None else None
        if kind != "bridge":
            raise HookError(f"bridge {opts.bridge}: a link of that name exists and is not a bridge")
    else:
        with step(f"create bridge {opts.bridge}"):
            ipr.link("add", ifname=opts.bridge, kind="bridge")
            idx = ipr.link_lookup(ifname=opts.bridge)[0]
    have = [(a.get_attr("IFA_ADDRESS"), a["prefixlen"]) for a in ipr.get_addr(index=idx, family=2)]
    gw = str(opts.gateway)
    if (gw, opts.subnet.prefixlen) not in have:
        for a, p in have:
            if ipaddress.IPv4Network(f"{a}/{p}", strict=False).overlaps(opts.subnet):
                raise HookError(f"bridge {opts.bridge} has {a}/{p}, not gateway {gw} of subnet {opts.subnet}")
        with step(f"address {gw}/{opts.subnet.prefixlen} on bridge {opts.bridge}"):
            ipr.addr("add", index=idx, address=gw, prefixlen=opts.subnet.prefixlen)
    with step(f"bring up bridge {opts.bridge}"):
        ipr.link("set", index=idx, state="up")
    return idx


def delete_link(ipr, name: str) -> bool:
    found = ipr.link_lookup(ifname=name)
    if not found:
        return False
    try:
        ipr.link("del", index=found[0])
    except Exception as e:
        if getattr(e, "code", None) != errno.ENODEV:
            raise
    return True


def configure_inside(nsfd: int, peer: str, addr: ipaddress.IPv4Address, opts: Options) -> None:
    """In the container's namespace: eth0 with the address, up, default route.

    Done in a forked child that setns's, so the hook itself never leaves the host's
    namespace; its error comes back on a pipe."""
    from pyroute2 import IPRoute

    r, w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(r)
            setns(nsfd)
            with IPRoute() as ipr:
                with step(f"find {peer} in the container"):
                    idx = ipr.link_lookup(ifname=peer)[0]
                with step("rename the container's end to eth0"):
                    ipr.link("set", index=idx, ifname="eth0")
                with step(f"address {addr}/{opts.subnet.prefixlen} on eth0"):
                    ipr.addr("add", index=idx, address=str(addr), prefixlen=opts.subnet.prefixlen)
                with step("bring up eth0"):
                    ipr.link("set", index=idx, state="up")
                lo = ipr.link_lookup(ifname="lo")
                if lo:
                    with step("bring up lo"):
                        ipr.link("set", index=lo[0], state="up")
                with step(f"default route via {opts.gateway}"):
                    ipr.route("add", dst="0.0.0.0/0", gateway=str(opts.gateway))
        except HookError as e:
            os.write(w, str(e).encode())
            code = 1
        except BaseException as e:  # a forked child never returns into the hook
            os.write(w, f"in the container's namespace: {why(e)}".encode())
            code = 1
        os._exit(code)
    os.close(w)
    try:
        msg = b""
        while chunk := os.read(r, 4096):
            msg += chunk
    finally:
        os.close(r)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise HookError(msg.decode(errors="replace") or "configuring the container's namespace failed")


# ---- the commands --------------------------------------------------------------------------

def up(st: State, opts: Options) -> str:
    from pyroute2 import IPRoute

    nsfd = open_netns(st)
    host, peer = veth_names(opts.bridge, st.id)
    addr = None
    made_veth = False
    try:
        with IPRoute() as ipr:
            def exists(name: str) -> bool:
                return bool(ipr.link_lookup(ifname=name))

            with locked(opts.dir):
                bridx = ensure_bridge(ipr, opts)
                addr = claim(opts, st, host, exists)
            try:
                if exists(host) or exists(peer):
                    raise HookError(f"veth {host} already exists (container {st.id} is already on {opts.bridge}?)")
                with step(f"create veth {host}"):
                    extra = {"mtu": opts.mtu} if opts.mtu else {}
                    ipr.link("add", ifname=host, kind="veth", peer={"ifname": peer, **extra}, **extra)
                    made_veth = True
                    hidx = ipr.link_lookup(ifname=host)[0]
                    pidx = ipr.link_lookup(ifname=peer)[0]
                with step(f"attach {host} to bridge {opts.bridge}"):
                    ipr.link("set", index=hidx, master=bridx, state="up")
                with step(f"move {peer} into container {st.id}'s network namespace"):
                    ipr.link("set", index=pidx, net_ns_fd=nsfd)
                configure_inside(nsfd, peer, addr, opts)
                _nat_up(st, opts, addr)
            except BaseException:
                with contextlib.suppress(Exception):
                    _nat_down(st, opts)
                if made_veth:
                    with contextlib.suppress(Exception):
                        delete_link(ipr, host)
                with locked(opts.dir):
                    remove_lease(opts, str(addr))
                raise
    finally:
        os.close(nsfd)
    return str(addr)


def _nat_up(st: State, opts: Options, addr: ipaddress.IPv4Address) -> None:
    if not opts.nat and not opts.publish:
        return
    from pyrunc.hooks import nat

    try:
        if opts.nat:
            nat.masquerade(opts.bridge, str(opts.subnet))
        nat.publish(opts.bridge, st.id, str(addr), opts.publish)
    except nat.NatError as e:
        raise HookError(str(e)) from None


def _nat_down(st: State, opts: Options) -> None:
    """This container's published ports go (nothing to do without nft or rules)."""
    from pyrunc.hooks import nat

    if nat.nft_path() is None:
        return

    try:
        nat.unpublish(opts.bridge, st.id)
    except nat.NatError as e:
        raise HookError(str(e)) from None


def down(st: State, opts: Options) -> None:
    from pyroute2 import IPRoute

    _nat_down(st, opts)
    host, _ = veth_names(opts.bridge, st.id)
    with IPRoute() as ipr:
        with step(f"delete veth {host}"):
            delete_link(ipr, host)
    if not os.path.isdir(opts.dir):
        return
    with locked(opts.dir):
        addr = find_lease(opts, st.id)
        if addr is not None:
            remove_lease(opts, addr)


def remove_bridge(opts: Options) -> None:
    """By hand (or by tests): the bridge goes, and its lease dir if no lease is left."""
    from pyroute2 import IPRoute
    from pyrunc.hooks import nat

    if nat.nft_path() is not None:
        try:
            nat.remove_table(opts.bridge)
        except nat.NatError as e:
            raise HookError(str(e)) from None
    with IPRoute() as ipr:
        with step(f"delete bridge {opts.bridge}"):
            delete_link(ipr, opts.bridge)
    if os.path.isdir(opts.dir):
        left = leases(opts.dir)
        if left:
            raise HookError(f"bridge {opts.bridge} removed; leases left in {opts.dir}: {sorted(left)}")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(opts.dir, ".lock"))
        with step(f"remove {opts.dir}"):
            os.rmdir(opts.dir)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("up", "down", "remove-bridge"):
        print("usage: python -I -m pyrunc.hooks.bridge up|down|remove-bridge [--bridge NAME] [--subnet CIDR] "
              "[--mtu N] [--lease-dir DIR]  (state JSON on stdin for up and down)", file=sys.stderr)
        return 2
    try:
        if argv[0] == "remove-bridge":
            remove_bridge(parse_options(argv[1:], {}))
            return 0
        st = read_state(sys.stdin.read())
        opts = parse_options(argv[1:], st.annotations)
        if argv[0] == "up":
            up(st, opts)
        else:
            down(st, opts)
    except HookError as e:
        print(f"pyrunc bridge {argv[0]}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
