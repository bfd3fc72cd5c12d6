"""linux.memoryPolicy (spec/numa.py) against a fake node tree and linux.intelRdt
(spec/resctrl.py) against a fake mountinfo (config-linux.md, runtime-spec 1.3.0): the
values the process steps apply, and the host checks, without the host's own files."""

import pytest
from pyrunc.runtime.errors import ConfigError
from pyrunc.spec import numa, resctrl
from pyrunc.spec.check import Obj


@pytest.fixture
def nodes(tmp_path):
    d = tmp_path / "fake-node-dir"
    d.mkdir()
    (d / "possible").write_text("0-1\n")
    return str(d)


@pytest.mark.parametrize("policy,mode,flags,ids", [
    ({"mode": "MPOL_DEFAULT"}, 0, 0, []),
    ({"mode": "MPOL_LOCAL"}, 4, 0, []),
    ({"mode": "MPOL_PREFERRED"}, 1, 0, []),  # no nodes: local allocation
    ({"mode": "MPOL_BIND", "nodes": "0-1", "flags": ["MPOL_F_NUMA_BALANCING"]}, 2, 1 << 13, [0, 1]),
    ({"mode": "MPOL_INTERLEAVE", "nodes": "1", "flags": ["MPOL_F_STATIC_NODES"]}, 3, 1 << 15, [1]),
    ({"mode": "MPOL_WEIGHTED_INTERLEAVE", "nodes": "0"}, 6, 0, [0]),
    ({"mode": "MPOL_PREFERRED_MANY", "nodes": "5", "flags": ["MPOL_F_RELATIVE_NODES"]}, 5, 1 << 14, [5]),
])
def test_memory_policy(nodes, policy, mode, flags, ids):
    mp = numa.parse(Obj(policy, "linux.memoryPolicy"), nodes)
    assert (mp.mode_name, mp.mode, mp.flags, mp.nodes) == (policy["mode"], mode, flags, ids)


def test_possible_nodes(tmp_path, nodes):
    assert numa.possible_nodes(nodes) == {0, 1}
    assert numa.possible_nodes(str(tmp_path / "absent")) is None
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "possible").write_text("garbage\n")
    assert numa.possible_nodes(str(bad)) == {0}
    with pytest.raises(ConfigError, match=r"^linux.memoryPolicy.nodes: node 2 does not exist on this host "
                                          r"\(possible nodes: 0-1\)$"):
        numa.parse(Obj({"mode": "MPOL_BIND", "nodes": "0-2"}, "linux.memoryPolicy"), nodes)


def fake_mountinfo(tmp_path, with_resctrl: bool) -> str:
    mi = tmp_path / "fake-mountinfo"
    lines = ["22 1 0:20 / /sys rw,nosuid - sysfs sysfs rw\n"]
    if with_resctrl:
        lines.append("41 22 0:36 / /sys/fs/resctrl rw,relatime shared:21 - resctrl resctrl rw\n")
    mi.write_text("".join(lines))
    return str(mi)


def test_intel_rdt(tmp_path):
    rdt = resctrl.parse(Obj({"closID": "gold", "l3CacheSchema": "L3:0=f", "memBwSchema": "MB:0=50",
                             "schemata": ["L2:0=3"], "enableMonitoring": True}, "linux.intelRdt"),
                        fake_mountinfo(tmp_path, True))
    assert (rdt.clos_id, rdt.root, rdt.enable_monitoring, rdt.has_schema) == ("gold", "/sys/fs/resctrl", True, True)
    # config-linux.md's order: l3CacheSchema, memBwSchema, then schemata.
    assert rdt.schema_lines() == ["L3:0=f", "MB:0=50", "L2:0=3"]
    empty = resctrl.parse(Obj({"closID": "/"}, "linux.intelRdt"), fake_mountinfo(tmp_path, True))
    assert not empty.has_schema and empty.schema_lines() == []


def test_intel_rdt_without_resctrl(tmp_path):
    """config-linux.md: the runtime MUST generate an error when resctrl is not mounted."""
    with pytest.raises(ConfigError, match=r"^linux.intelRdt: resctrl is not mounted on this host "
                                          r"\(/sys/fs/resctrl\)$"):
        resctrl.parse(Obj({}, "linux.intelRdt"), fake_mountinfo(tmp_path, False))


@pytest.mark.parametrize("policy,message", [
    ({"mode": "INTERLEAVE"}, "linux.memoryPolicy.mode: unknown memory policy mode 'INTERLEAVE'"),
    ({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_X"]},
     "linux.memoryPolicy.flags[0]: unknown memory policy flag 'MPOL_F_X'"),
    ({"mode": "MPOL_LOCAL", "nodes": "0-1"}, "linux.memoryPolicy.nodes: MPOL_LOCAL takes no nodes, got 2"),
    ({"mode": "MPOL_PREFERRED_MANY"}, "linux.memoryPolicy.nodes: MPOL_PREFERRED_MANY needs at least one node"),
    ({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"]},
     "linux.memoryPolicy.flags: MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other"),
    ({"mode": "MPOL_PREFERRED", "flags": ["MPOL_F_RELATIVE_NODES"]},
     "linux.memoryPolicy.flags: MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES need nodes (set_mempolicy(2) "
     "refuses them for local allocation)"),
    ({"mode": "MPOL_PREFERRED", "nodes": "0", "flags": ["MPOL_F_NUMA_BALANCING"]},
     "linux.memoryPolicy.flags: MPOL_F_NUMA_BALANCING cannot be used with MPOL_PREFERRED"),
    ({"mode": "MPOL_BIND", "nodes": 0}, "linux.memoryPolicy.nodes: expected a string, got an integer"),
])
def test_memory_policy_refused(nodes, policy, message):
    with pytest.raises(ConfigError) as e:
        numa.parse(Obj(policy, "linux.memoryPolicy"), nodes)
    assert str(e.value) == message


def test_memory_policy_without_numa(tmp_path):
    absent = str(tmp_path / "no-node-dir")
    with pytest.raises(ConfigError) as e:
        numa.parse(Obj({"mode": "MPOL_DEFAULT"}, "linux.memoryPolicy"), absent)
    assert str(e.value) == f"linux.memoryPolicy: this kernel has no NUMA support ({absent} is absent)"


@pytest.mark.parametrize("rdt,message", [
    ({"closID": ".."}, "linux.intelRdt.closID: '..' must be \"/\" or a single directory name"),
    ({"l3CacheSchema": "L3:0=f\nMB:0=1"}, "linux.intelRdt.l3CacheSchema: must not contain a newline"),
    ({"memBwSchema": "L3:0=f"}, "linux.intelRdt.memBwSchema: 'L3:0=f' must start with \"MB:\""),
    ({"enableMonitoring": 1}, "linux.intelRdt.enableMonitoring: expected a boolean, got an integer"),
])
def test_intel_rdt_refused_before_the_host_is_asked(tmp_path, rdt, message):
    with pytest.raises(ConfigError) as e:
        resctrl.parse(Obj(rdt, "linux.intelRdt"), str(tmp_path / "never-read"))
    assert str(e.value) == message
