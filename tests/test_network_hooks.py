"""Networking modes and the bridge hook (pyrunc.hooks.bridge), with real namespaces and links.

Every test here uses a bridge of its own name (``pyt<random>``), the documentation subnet
198.51.100.0/24 (no other test uses it), and a lease dir under the test's temporary
directory; traffic only flows between the host's gateway address on that bridge and the
containers on it.  The module's fixture removes the bridge at the end and checks that no
veth, lease or bridge is left.
"""

import ipaddress
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

# One bridge at a time: the module's tests share one bridge (the module-scoped net), and
# two workers would each make one with the same subnet on the host, their routes clashing.
pytestmark = pytest.mark.xdist_group("bridge")

SUBNET = "198.51.100.0/24"
GATEWAY = "198.51.100.1"
HOOK = [sys.executable, "-I", "-m", "pyrunc.hooks.bridge"]


class Net:
    def __init__(self, bridge: str, leases: str) -> None:
        self.bridge = bridge
        self.leases = leases
        self.ids: list[str] = []

    @property
    def dir(self) -> str:
        return os.path.join(self.leases, self.bridge)

    def opts(self) -> list[str]:
        return ["--bridge", self.bridge, "--subnet", SUBNET, "--lease-dir", self.leases]

    def hooks(self) -> dict:
        return {"createRuntime": [{"path": sys.executable, "args": [*HOOK, "up", *self.opts()]}],
                "poststop": [{"path": sys.executable, "args": [*HOOK, "down", *self.opts()]}]}

    def cid(self, name: str) -> str:
        cid = f"{name}-{uuid.uuid4().hex[:6]}"
        self.ids.append(cid)
        return cid

    def lease_files(self) -> dict[str, dict]:
        if not os.path.isdir(self.dir):
            return {}
        out = {}
        for name in os.listdir(self.dir):
            if not name.startswith("."):
                with open(os.path.join(self.dir, name)) as f:
                    out[name] = json.load(f)
        return out

    def address_of(self, cid: str) -> str:
        found = [a for a, lease in self.lease_files().items() if lease["id"] == cid]
        assert len(found) == 1, (cid, self.lease_files())
        return found[0]


def links() -> str:
    return subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout


def host_veth(bridge: str, cid: str) -> str:
    from pyrunc.hooks.bridge import veth_names

    return veth_names(bridge, cid)[0]


def has_link(name: str) -> bool:
    return any(line.split(": ")[1].split("@")[0] == name for line in links().splitlines())


@pytest.fixture(scope="module")
def net():
    leases = tempfile.mkdtemp(prefix="pyrunc-net-")
    n = Net("pyt" + uuid.uuid4().hex[:8], leases)
    yield n
    for cid in n.ids:
        assert not has_link(host_veth(n.bridge, cid)), f"veth of {cid} left"
    enslaved = [line for line in links().splitlines() if f" master {n.bridge} " in line]
    assert not enslaved, enslaved
    p = subprocess.run([*HOOK, "remove-bridge", *n.opts()], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert not has_link(n.bridge)
    assert not os.path.exists(n.dir)
    assert not nft_table(n.bridge), "the bridge's nftables table is left"
    os.rmdir(leases)


def nft_table(bridge: str) -> str:
    """The bridge's nftables table as `nft list` prints it ('' when there is none)."""
    p = subprocess.run(["nft", "list", "table", "ip", "pyrunc_" + bridge], capture_output=True, text=True)
    return p.stdout if p.returncode == 0 else ""


def net_bundle(make_bundle, net: Net, args: list[str], annotations: dict | None = None, hooks: bool = True):
    b = make_bundle(args)
    b.config["root"]["readonly"] = False
    if hooks:
        b.config["hooks"] = net.hooks()
    if annotations:
        b.config["annotations"] = annotations
    return b.write()


def container_ipv4(pyrunc, cid: str, ifname: str = "eth0") -> str:
    out = pyrunc("exec", cid, "ip", "-4", "-o", "addr", "show", ifname, check=True).stdout
    return out.split(" inet ")[1].split("/")[0]


def wait_listening(pyrunc, cid: str, port: int) -> None:
    """Until the container's /proc/net/tcp{,6} has a listener on port (state 0A)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        # busybox nc listens on IPv6's any address, which takes IPv4 too.
        tcp = pyrunc("exec", cid, "cat", "/proc/net/tcp", "/proc/net/tcp6", check=True).stdout
        rows = [line.split() for line in tcp.splitlines() if "local_address" not in line]
        if any(r[1].endswith(f":{port:04X}") and r[3] == "0A" for r in rows):
            return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port} in {cid}")


def test_two_containers_on_the_bridge_talk_and_the_host_reaches_one(pyrunc, make_bundle, net):
    server = net_bundle(make_bundle, net, ["sh", "-c", "echo pong | nc -l -p 7000 > /tmp/got; sleep 1000"])
    s = net.cid("srv")
    pyrunc("run", "-d", "--bundle", server.path, s, check=True)
    try:
        addr = net.address_of(s)
        assert ipaddress.IPv4Address(addr) in ipaddress.IPv4Network(SUBNET)
        assert container_ipv4(pyrunc, s) == addr
        route = pyrunc("exec", s, "ip", "route", check=True).stdout
        assert f"default via {GATEWAY} dev eth0" in route
        assert has_link(host_veth(net.bridge, s))
        wait_listening(pyrunc, s, 7000)

        # A second container on the bridge: a busybox nc client, in the foreground.
        client = net_bundle(make_bundle, net, ["sh", "-c", f"echo ping | nc -w 5 {addr} 7000"])
        c = net.cid("cli")
        p = pyrunc("run", "--bundle", client.path, c, timeout=30)
        assert p.returncode == 0, p.stderr
        assert p.stdout.strip() == "pong"
        assert pyrunc("exec", s, "cat", "/tmp/got", check=True).stdout.strip() == "ping"
        # The client was deleted by run: its poststop released the address and the veth.
        assert all(lease["id"] != c for lease in net.lease_files().values())
        assert not has_link(host_veth(net.bridge, c))

        # The host reaches a server in the container through the bridge's gateway address.
        pyrunc("exec", "-d", s, "nc", "-l", "-p", "7001", "-e", "echo", "hello-host", check=True)
        wait_listening(pyrunc, s, 7001)
        with socket.create_connection((addr, 7001), timeout=5) as conn:
            assert conn.getsockname()[0] == GATEWAY
            assert conn.recv(100).strip() == b"hello-host"
    finally:
        pyrunc("delete", "--force", s)
    assert net.lease_files() == {}
    assert not has_link(host_veth(net.bridge, s))


@pytest.mark.parametrize("userns", [False, True], ids=["plain", "userns"])
def test_container_mode_shares_the_other_containers_interfaces(pyrunc, make_bundle, net, userns):
    first = net_bundle(make_bundle, net, ["sleep", "1000"])
    a = net.cid("a")
    pyrunc("run", "-d", "--bundle", first.path, a, check=True)
    try:
        addr = net.address_of(a)
        # The README's one-liner: the netns path from `pyrunc state`.
        path = "/proc/%d/ns/net" % pyrunc.state(a)["pid"]
        second = net_bundle(make_bundle, net, ["sh", "-c", "ip -4 -o addr; ip route; cat /proc/self/uid_map"],
                            hooks=False)
        for ns in second.config["linux"]["namespaces"]:
            if ns["type"] == "network":
                ns["path"] = path
        if userns:
            # The erratum: the other's netns is joined before the new user namespace is made.
            second.config["linux"]["namespaces"].append({"type": "user"})
            second.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
            second.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
            # A sysfs cannot be mounted from a user namespace that does not own the netns
            # (runc then falls back to this bind by itself; pyrunc's core does not yet).
            for m in second.config["mounts"]:
                if m["destination"] == "/sys":
                    m.update(type="bind", source="/sys", options=["rbind", "nosuid", "noexec", "nodev", "ro"])
        second.write()
        p = pyrunc("run", "--bundle", second.path, net.cid("b"), timeout=30)
        assert p.returncode == 0, p.stderr
        assert f"eth0    inet {addr}/24" in p.stdout
        assert f"default via {GATEWAY} dev eth0" in p.stdout
        assert (p.stdout.split()[-3:] == ["0", "100000", "65536"]) == userns
    finally:
        pyrunc("delete", "--force", a)
    assert net.lease_files() == {}


def test_twenty_containers_started_at_once_get_twenty_addresses(pyrunc, make_bundle, net):
    b = net_bundle(make_bundle, net, ["sleep", "1000"])
    ids = [net.cid(f"p{i}") for i in range(20)]
    with ThreadPoolExecutor(20) as pool:
        runs = list(pool.map(lambda c: pyrunc("run", "-d", "--bundle", b.path, c, timeout=120), ids))
    try:
        failed = [(c, p.stderr) for c, p in zip(ids, runs, strict=True) if p.returncode != 0]
        assert not failed
        leases = net.lease_files()
        assert sorted(lease["id"] for lease in leases.values()) == sorted(ids)
        with ThreadPoolExecutor(20) as pool:
            seen = dict(zip(ids, pool.map(lambda c: container_ipv4(pyrunc, c), ids), strict=True))
        assert len(set(seen.values())) == 20
        assert {c: net.address_of(c) for c in ids} == seen
        assert GATEWAY not in seen.values()
    finally:
        with ThreadPoolExecutor(20) as pool:
            list(pool.map(lambda c: pyrunc("delete", "--force", c), ids))
    assert net.lease_files() == {}
    left = [c for c in ids if has_link(host_veth(net.bridge, c))]
    assert not left


def test_a_static_address_and_an_mtu_from_annotations(pyrunc, make_bundle, net):
    # The program's first step sees eth0 configured: createRuntime ran before it started.
    b = net_bundle(make_bundle, net, ["sh", "-c", "ip -4 -o addr show eth0 > /tmp/first; sleep 1000"],
                   annotations={"pyrunc.net.address": "198.51.100.77", "pyrunc.net.mtu": "1280"})
    c = net.cid("static")
    pyrunc("run", "-d", "--bundle", b.path, c, check=True)
    try:
        assert container_ipv4(pyrunc, c) == "198.51.100.77"
        for _ in range(100):
            first = pyrunc("exec", c, "cat", "/tmp/first").stdout
            if first:
                break
            time.sleep(0.05)
        assert "inet 198.51.100.77/24" in first
        assert "mtu 1280" in pyrunc("exec", c, "ip", "link", "show", "eth0", check=True).stdout
        assert net.address_of(c) == "198.51.100.77"
    finally:
        pyrunc("delete", "--force", c)
    assert net.lease_files() == {}


def assert_nothing_left(net: Net, cid: str) -> None:
    assert all(lease["id"] != cid for lease in net.lease_files().values())
    assert not has_link(host_veth(net.bridge, cid))
    assert not has_link(host_veth(net.bridge, cid).replace("pv", "pc", 1))


@pytest.mark.parametrize("annotations, error", [
    ({"pyrunc.net.subnet": "198.51.100.0/33"}, "pyrunc bridge up: subnet '198.51.100.0/33' does not parse"),
    ({"pyrunc.net.subnet": "198.51.100.7/24"}, "pyrunc bridge up: subnet '198.51.100.7/24' does not parse"),
    ({"pyrunc.net.address": "203.0.113.9"},
     "pyrunc bridge up: address 203.0.113.9 is not a host address of subnet 198.51.100.0/24"),
    ({"pyrunc.net.address": "198.51.100.1"},
     "pyrunc bridge up: address 198.51.100.1 is the gateway of subnet 198.51.100.0/24"),
    ({"pyrunc.net.bridge": "pyt-much-too-long"},
     "pyrunc bridge up: bridge 'pyt-much-too-long': an interface name has 1 to 15 bytes"),
    ({"pyrunc.net.mtu": "jumbo"}, "pyrunc bridge up: mtu 'jumbo' is not a number"),
])
def test_bad_options_fail_create_with_one_line(pyrunc, make_bundle, net, annotations, error):
    b = net_bundle(make_bundle, net, ["true"], annotations=annotations)
    c = net.cid("bad")
    p = pyrunc("create", "--bundle", b.path, c)
    assert p.returncode != 0
    assert p.stderr.count("\n") == 1, p.stderr
    assert error in p.stderr, p.stderr
    # runc's words for a failing createRuntime hook (test_runc_parity), the hook's stderr in it
    assert "error during container init: error running hook #0: error running hook: exit status" in p.stderr
    assert_nothing_left(net, c)
    assert pyrunc("list", "-q").stdout.strip() == ""


@pytest.mark.parametrize("key,value,needle", [
    ("pyrunc.net.address", "198.51.100.50", "pyrunc bridge up: address 198.51.100.50 is already leased to container"),
    ("pyrunc.net.publish", "18081:80", "publish 18081:80/tcp: host port 18081/tcp is already published"),
])
def test_what_one_container_holds_fails_anothers_create(pyrunc, make_bundle, net, key, value, needle):
    """A leased address, or a published host port: the second create fails with one line,
    leaves nothing, and the holder keeps its lease, link and rules."""
    first = net_bundle(make_bundle, net, ["sleep", "1000"], annotations={key: value})
    a = net.cid("holder")
    pyrunc("run", "-d", "--bundle", first.path, a, check=True)
    try:
        second = net_bundle(make_bundle, net, ["true"], annotations={key: value})
        c = net.cid("taker")
        p = pyrunc("create", "--bundle", second.path, c)
        assert p.returncode == 1 and p.stderr.count("\n") == 1, p.stderr
        assert needle in p.stderr and a in p.stderr, p.stderr
        assert_nothing_left(net, c)
        assert has_link(host_veth(net.bridge, a)) and net.address_of(a)
        if key == "pyrunc.net.publish":
            assert f"pyrunc:{a}" in nft_table(net.bridge) and f"pyrunc:{c}" not in nft_table(net.bridge)
        else:
            assert net.address_of(a) == value
    finally:
        pyrunc("delete", "--force", a)
    assert net.lease_files() == {}


def test_a_container_that_is_not_running(net):
    dead = subprocess.Popen(["true"])
    dead.wait()
    for pid, why in ((dead.pid, f"pid {dead.pid} is gone"), (0, "its state has no pid")):
        state = json.dumps({"ociVersion": "1.3.0", "id": "gone", "status": "stopped", "pid": pid, "bundle": "/"})
        p = subprocess.run([*HOOK, "up", *net.opts()], input=state, capture_output=True, text=True)
        assert p.returncode == 1
        assert p.stderr == f"pyrunc bridge up: container gone is not running: {why}\n"
    assert net.lease_files() == {}
    # down for a container with no lease has nothing to do, and succeeds.
    p = subprocess.run([*HOOK, "down", *net.opts()], input=json.dumps({"id": "gone", "status": "stopped"}),
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


def test_the_runtime_never_imports_pyroute2(pyrunc, make_bundle, net):
    """`run` of a container (create, start, wait, delete) under -X importtime: no pyroute2."""
    b = net_bundle(make_bundle, net, ["true"], hooks=False)
    launcher = os.path.join(os.path.dirname(sys.executable), "pyrunc")
    p = subprocess.run([sys.executable, "-IS", "-X", "importtime", launcher, "--root", pyrunc.root,
                        "run", "--bundle", b.path, net.cid("noimport")],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "pyrunc.runtime.cli" in p.stderr  # importtime did report
    assert "pyroute2" not in p.stderr


def test_a_lease_whose_container_is_gone_is_reclaimed(pyrunc, make_bundle, net):
    """A create that failed after the hook (no poststop) leaves a lease: the next allocation
    takes the address back once its init is gone and its veth with it."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    os.makedirs(net.dir, mode=0o700, exist_ok=True)
    stale = {"id": "crashed", "pid": dead.pid, "start": 1, "veth": "pvdeadbeef0000", "subnet": SUBNET}
    with open(os.path.join(net.dir, "198.51.100.2"), "w") as f:
        json.dump(stale, f)
    b = net_bundle(make_bundle, net, ["sleep", "1000"])
    c = net.cid("reclaim")
    pyrunc("run", "-d", "--bundle", b.path, c, check=True)
    try:
        assert net.address_of(c) == "198.51.100.2"
        assert [lease["id"] for lease in net.lease_files().values()] == [c]
    finally:
        pyrunc("delete", "--force", c)
    assert net.lease_files() == {}


# --- nftables: port publishing and outbound NAT (off by default) -----------------------

def connect_published(pyrunc, cid: str, net: Net, port: int) -> socket.socket:
    """A connection to a published port on the gateway.  A refused one is tried again for
    at most 5 s (seen twice under the whole suite's parallel load, never alone: the
    container listened and the rule was in place); what the host and the container had
    is said if it never connects."""
    deadline = time.monotonic() + 5
    while True:
        try:
            return socket.create_connection((GATEWAY, port), timeout=5)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                tcp = pyrunc("exec", cid, "cat", "/proc/net/tcp", "/proc/net/tcp6").stdout
                raise AssertionError(f"{GATEWAY}:{port} refused for 5 s; table:\n{nft_table(net.bridge)}\n"
                                     f"container's sockets:\n{tcp}\naddress: {net.address_of(cid)}") from None
            time.sleep(0.1)


def test_published_port_reaches_the_container_and_goes_with_it(pyrunc, make_bundle, net):
    """The host connects to a published port on its own (gateway) address: DNAT in the
    bridge's table takes it to the container; the rules carry the container's id and go
    with its poststop hook."""
    b = net_bundle(make_bundle, net, ["sh", "-c", "while true; do nc -l -p 7000 -e echo published; done"],
                   annotations={"pyrunc.net.publish": "18080:7000"})
    cid = net.cid("pub")
    pyrunc("run", "-d", "--bundle", b.path, cid, check=True)
    try:
        wait_listening(pyrunc, cid, 7000)
        assert f'comment "pyrunc:{cid}"' in nft_table(net.bridge)
        with connect_published(pyrunc, cid, net, 18080) as conn:
            assert conn.recv(100).strip() == b"published"
    finally:
        pyrunc("delete", "--force", cid)
    table = nft_table(net.bridge)
    assert f"pyrunc:{cid}" not in table and "dport 18080" not in table


def test_outbound_nat_rule_for_the_subnet(pyrunc, make_bundle, net):
    b = net_bundle(make_bundle, net, ["true"], annotations={"pyrunc.net.nat": "true"})
    cid = net.cid("nat")
    p = pyrunc("run", "--bundle", b.path, cid)
    assert p.returncode == 0, p.stderr
    table = nft_table(net.bridge)
    assert f'ip saddr {SUBNET} oifname != "{net.bridge}" masquerade' in table, table


@pytest.mark.parametrize("publish,needle", [("80", "not HOSTPORT:CONTAINERPORT"), ("0:80", "ports are 1 to 65535"),
                                            ("8080:80,8080:81", "given twice"), ("1:2/sctp", "not HOSTPORT")])
def test_bad_publish_fails_create_and_leaves_nothing(pyrunc, make_bundle, net, publish, needle):
    b = net_bundle(make_bundle, net, ["true"], annotations={"pyrunc.net.publish": publish})
    cid = net.cid("badpub")
    p = pyrunc("run", "--bundle", b.path, cid)
    assert p.returncode == 1 and p.stderr.count("\n") == 1 and needle in p.stderr, p.stderr
    assert net.lease_files() == {} and not has_link(host_veth(net.bridge, cid))
