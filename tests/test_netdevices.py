"""linux.netDevices (runtime-spec 1.3.0, config-linux.md "Network Devices"), with real
links: veth pairs made here with `ip link add` (this kernel has no dummy module) and
addresses from the documentation ranges; nothing is sent anywhere.  Each test removes
its pair (a moved veth end dies with the container's namespace, and its peer with it)."""

import json
import os
import subprocess
import sys
import time
import uuid

import pytest
from conftest import PYRUNC

_TAG = uuid.uuid4().hex[:5]


def ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True)


def on_host(name: str) -> bool:
    return ip("link", "show", "dev", name).returncode == 0


def host_addrs(name: str) -> str:
    return ip("-o", "addr", "show", "dev", name).stdout


@pytest.fixture
def veth():
    """veth(addr=None) -> the end to move (with ``addr``, if given); its peer stays."""
    made = []

    def make(addr: str | None = "192.0.2.10/24") -> str:
        a, b = f"pnd{_TAG}{len(made)}a", f"pnd{_TAG}{len(made)}b"
        subprocess.run(["ip", "link", "add", a, "type", "veth", "peer", "name", b], check=True)
        made.append((a, b))
        if addr:
            subprocess.run(["ip", "addr", "add", addr, "dev", a], check=True)
        return a

    yield make
    for a, b in made:
        if not ip("link", "del", a).returncode == 0:
            ip("link", "del", b)


def one_line_error(p, *needles: str) -> str:
    assert p.returncode == 1, (p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def gone_soon(name: str) -> bool:
    """The kernel frees a network namespace (and destroys its veths) asynchronously."""
    for _ in range(100):
        if not on_host(name):
            return True
        time.sleep(0.05)
    return False


def test_moved_renamed_with_its_address_and_up(pyrunc, make_bundle, veth):
    a = veth("192.0.2.10/24")
    peer = a[:-1] + "b"
    b = make_bundle(["sleep", "100"])
    b.config["linux"]["netDevices"] = {a: {"name": "ctr0"}}
    b.write()
    pyrunc("create", "-b", b.path, "nd1", check=True)
    try:
        assert not on_host(a), "the interface is still on the host"
        addrs = pyrunc("exec", "nd1", "ip", "-o", "addr", "show", "dev", "ctr0", check=True).stdout
        assert "inet 192.0.2.10/24" in addrs, addrs
        link = pyrunc("exec", "nd1", "ip", "link", "show", "dev", "ctr0", check=True).stdout
        flags = link.split("<", 1)[1].split(">", 1)[0].split(",")
        assert "UP" in flags, link
        names = pyrunc("exec", "nd1", "ip", "-o", "link", check=True).stdout
        assert a not in names, names
    finally:
        pyrunc("delete", "--force", "nd1")
    # Not moved back (the spec's MUST NOT): a veth dies with the namespace, peer and all.
    assert gone_soon(a) and gone_soon(peer)


def test_runtime_is_back_in_its_namespace_for_the_hooks(pyrunc, make_bundle, veth, tmp_path):
    """The runtime opens its socket inside the container's namespace and returns to its
    own: a createRuntime hook (run by the runtime) sees the host's namespace and the moved
    device gone from it; createContainer (the container's namespaces) sees the device."""
    a = veth()
    out = tmp_path / "hooks"
    b = make_bundle(["true"])
    b.config["linux"]["netDevices"] = {a: {"name": "c0"}}
    sh = "/bin/sh"
    b.config["hooks"] = {
        "createRuntime": [{"path": sh, "args": ["sh", "-c", f"readlink /proc/self/ns/net > {out}.rt; "
                                                f"ip link show dev {a} > /dev/null 2>&1 || echo moved >> {out}.rt"]}],
        "createContainer": [{"path": sh, "args": ["sh", "-c", f"ip -o link show dev c0 > {out}.cc"]}],
    }
    b.write()
    p = pyrunc("run", "-b", b.path, "nd5")
    assert p.returncode == 0, p.stderr
    rt = (tmp_path / "hooks.rt").read_text().split()
    assert rt == [os.readlink("/proc/self/ns/net"), "moved"], rt
    assert "c0" in (tmp_path / "hooks.cc").read_text()


def test_without_a_name_it_keeps_its_own(pyrunc, make_bundle, veth):
    # Not 198.51.100.0/24: the bridge tests route that subnet on the host at the same time
    # (a /25 here would take their published port's traffic).
    a = veth("203.0.113.7/25")
    b = make_bundle(["sh", "-c", f"ip -o addr show dev {a}; ip -o link show dev {a}"])
    b.config["linux"]["netDevices"] = {a: {}}
    b.write()
    p = pyrunc("run", "-b", b.path, "nd2")
    assert p.returncode == 0, p.stderr
    assert "inet 203.0.113.7/25" in p.stdout and ",UP" in p.stdout, p.stdout


def test_only_permanent_global_addresses_move(pyrunc, make_bundle, veth):
    """A link-scope address and a non-permanent one (with a lifetime) stay behind."""
    a = veth("192.0.2.20/24")
    subprocess.run(["ip", "addr", "add", "203.0.113.21/24", "dev", a, "scope", "link"], check=True)
    subprocess.run(["ip", "addr", "add", "192.0.2.22/24", "dev", a, "valid_lft", "300", "preferred_lft", "300"],
                   check=True)
    b = make_bundle(["ip", "-o", "addr", "show", "dev", "c1"])
    b.config["linux"]["netDevices"] = {a: {"name": "c1"}}
    b.write()
    p = pyrunc("run", "-b", b.path, "nd3")
    assert p.returncode == 0, p.stderr
    assert "192.0.2.20/24" in p.stdout and "203.0.113.21" not in p.stdout and "192.0.2.22" not in p.stdout, p.stdout


def test_ipv6_address_moves(pyrunc, make_bundle, veth):
    if not os.path.exists("/proc/net/if_inet6"):
        pytest.skip("no IPv6 on this host")
    a = veth(None)
    subprocess.run(["ip", "-6", "addr", "add", "2001:db8::7/64", "dev", a, "nodad"], check=True)
    b = make_bundle(["ip", "-o", "addr", "show", "dev", "c6"])
    b.config["linux"]["netDevices"] = {a: {"name": "c6"}}
    b.write()
    p = pyrunc("run", "-b", b.path, "nd6")
    assert p.returncode == 0, p.stderr
    assert "inet6 2001:db8::7/64" in p.stdout, p.stdout


def test_a_name_template_takes_the_kernels_number(pyrunc, make_bundle, veth):
    a, a2 = veth(), veth("192.0.2.11/24")
    b = make_bundle(["ip", "-o", "addr"])
    b.config["linux"]["netDevices"] = {a: {"name": "net%d"}, a2: {"name": "net%d"}}
    b.write()
    p = pyrunc("run", "-b", b.path, "nd4")
    assert p.returncode == 0, p.stderr
    assert " net0 " in p.stdout.replace(":", " ") and " net1 " in p.stdout.replace(":", " "), p.stdout
    assert "192.0.2.10/24" in p.stdout and "192.0.2.11/24" in p.stdout, p.stdout


# --- bad input: one line naming the field, exit 1, nothing moved ---------------------

def _refused(pyrunc, make_bundle, net_devices, *needles, namespaces=None):
    b = make_bundle(["true"])
    b.config["linux"]["netDevices"] = net_devices
    if namespaces is not None:
        b.config["linux"]["namespaces"] = namespaces
    b.write()
    line = one_line_error(pyrunc("create", "-b", b.path, "bad"), *needles)
    assert pyrunc("list", "-q").stdout == ""
    return line


def test_missing_host_interface(pyrunc, make_bundle, veth):
    a = veth()
    before = host_addrs(a)
    missing = f"pnd{_TAG}none"
    # The present one comes first: every check is made before anything moves.
    _refused(pyrunc, make_bundle, {a: {"name": "c0"}, missing: {}}, f"linux.netDevices.{missing}:",
             "no network interface")
    assert on_host(a) and host_addrs(a) == before and "192.0.2.10/24" in before


def test_a_name_the_container_already_has(pyrunc, make_bundle, veth):
    a = veth()
    _refused(pyrunc, make_bundle, {a: {"name": "lo"}}, f"linux.netDevices.{a}.name:", "already has", "'lo'")
    assert on_host(a) and "192.0.2.10/24" in host_addrs(a)


def test_two_devices_one_name(pyrunc, make_bundle, veth):
    a, a2 = veth(), veth(None)
    _refused(pyrunc, make_bundle, {a: {"name": "c0"}, a2: {"name": "c0"}}, f"linux.netDevices.{a2}.name:",
             f"linux.netDevices.{a}")
    assert on_host(a) and on_host(a2)


@pytest.mark.parametrize("devs,field", [
    ({"a/b": {}}, "linux.netDevices.a/b:"),
    ({"..": {}}, "linux.netDevices..."),
    ({"eth%d": {}}, "linux.netDevices.eth%d:"),
    ({"HOST": {"name": "x" * 16}}, "linux.netDevices.HOST.name:"),
    ({"HOST": {"name": "e th0"}}, "linux.netDevices.HOST.name:"),
    ({"HOST": {"name": "e:0"}}, "linux.netDevices.HOST.name:"),
    ({"HOST": {"name": "."}}, "linux.netDevices.HOST.name:"),
    ({"HOST": {"name": "n%s"}}, "linux.netDevices.HOST.name:"),
    ({"HOST": {"name": 7}}, "linux.netDevices.HOST.name:"),
    ({"HOST": "eth0"}, "linux.netDevices.HOST:"),
])
def test_bad_names(pyrunc, make_bundle, veth, devs, field):
    a = veth()
    devs = {k.replace("HOST", a): v for k, v in devs.items()}
    _refused(pyrunc, make_bundle, devs, field.replace("HOST", a))
    assert on_host(a)


def test_needs_a_network_namespace_of_the_container(pyrunc, make_bundle, veth):
    a = veth()
    nss = [{"type": t} for t in ("pid", "ipc", "uts", "mount")]
    _refused(pyrunc, make_bundle, {a: {}}, "linux.netDevices:", "needs a network namespace", namespaces=nss)
    # The host's own network namespace, as the runtime's child resolves it.
    _refused(pyrunc, make_bundle, {a: {}}, "linux.netDevices:", "the runtime's own",
             namespaces=nss + [{"type": "network", "path": "/proc/self/ns/net"}])
    assert on_host(a)


def test_into_a_network_namespace_joined_by_path(pyrunc, make_bundle, veth):
    """A namespace prepared for the container (here another container's), as runc allows."""
    a = veth("192.0.2.11/24")
    owner = make_bundle(["sleep", "100"])
    pyrunc("run", "-d", "-b", owner.path, "ndowner", check=True)
    try:
        pid = pyrunc.state("ndowner")["pid"]
        b = make_bundle(["ip", "-o", "addr", "show", "dev", "joined0"])
        for ns in b.config["linux"]["namespaces"]:
            if ns["type"] == "network":
                ns["path"] = f"/proc/{pid}/ns/net"
        b.config["linux"]["netDevices"] = {a: {"name": "joined0"}}
        b.write()
        p = pyrunc("run", "-b", b.path, "ndjoin")
        assert p.returncode == 0, p.stderr
        assert "inet 192.0.2.11/24" in p.stdout
        seen = pyrunc("exec", "ndowner", "ip", "-o", "link", check=True).stdout
        assert "joined0" in seen and not on_host(a)
    finally:
        pyrunc("delete", "--force", "ndowner")


def test_features_lists_net_devices(pyrunc):
    f = json.loads(pyrunc("features", check=True).stdout)
    assert f["linux"]["netDevices"] == {"enabled": True}


def test_no_new_import_without_net_devices(pyrunc, make_bundle, veth):
    """A config without netDevices imports nothing of this feature (nor pyroute2)."""
    def imports(b, cid):
        with open(PYRUNC) as f:
            launcher = f.read()
        p = subprocess.run([sys.executable, "-X", "importtime", "-IS", "-c", launcher, "--root", pyrunc.root,
                            "run", "-b", b.path, cid], capture_output=True, text=True, stdin=subprocess.DEVNULL)
        assert p.returncode == 0, p.stderr
        return p.stderr

    plain = make_bundle(["true"])
    out = imports(plain, "nd-plain")
    assert "netdevices" not in out and "pyroute2" not in out
    b = make_bundle(["true"])
    b.config["linux"]["netDevices"] = {veth(): {}}
    b.write()
    out = imports(b, "nd-moved")
    assert "pyrunc.runtime.linux.netdevices" in out and "pyroute2" not in out
