"""linux.memoryPolicy (runtime-spec 1.3.0, config-linux.md "Memory policy"): the init's
policy seen in /proc/self/numa_maps of real containers and of exec'd processes, the load
checks with their JSON paths, and the node check against a fake node tree."""

import pytest

POLICY_OF_FIRST_MAP = ["head", "-n", "1", "/proc/self/numa_maps"]


def policy_shown(line: str) -> str:
    """numa_maps: "<address> <policy> file=...": the policy, which may hold a space."""
    rest = line.strip().split(" ", 1)[1]
    return rest.split(" file=")[0].split(" anon=")[0].split(" heap")[0].split(" stack")[0]


def run_out(pyrunc, b, cid: str) -> str:
    p = pyrunc("run", "-b", b.path, cid)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def with_policy(make_bundle, policy: dict, args=None):
    b = make_bundle(args or POLICY_OF_FIRST_MAP)
    b.config["linux"]["memoryPolicy"] = policy
    return b.write()


@pytest.mark.parametrize("policy,shown", [
    ({"mode": "MPOL_INTERLEAVE", "nodes": "0"}, "interleave:0"),
    ({"mode": "MPOL_BIND", "nodes": "0"}, "bind:0"),
    ({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]}, "bind=static:0"),
    ({"mode": "MPOL_PREFERRED", "nodes": "0"}, "prefer:0"),
    ({"mode": "MPOL_PREFERRED", "nodes": "0", "flags": ["MPOL_F_RELATIVE_NODES"]}, "prefer=relative:0"),
    ({"mode": "MPOL_PREFERRED_MANY", "nodes": "0"}, "prefer (many):0"),
    ({"mode": "MPOL_LOCAL"}, "local"),
    ({"mode": "MPOL_DEFAULT"}, "default"),
], ids=lambda v: v["mode"] + "".join(v.get("flags", [])) if isinstance(v, dict) else None)
def test_memory_policy_seen_in_numa_maps(pyrunc, make_bundle, policy, shown):
    """The init's policy survives execve: numa_maps shows it for the program's mappings."""
    b = with_policy(make_bundle, policy)
    assert policy_shown(run_out(pyrunc, b, "mpol")) == shown


def test_memory_policy_weighted_interleave_or_kernel_error(pyrunc, make_bundle):
    """MPOL_WEIGHTED_INTERLEAVE needs Linux 6.9: applied where the kernel has it."""
    b = with_policy(make_bundle, {"mode": "MPOL_WEIGHTED_INTERLEAVE", "nodes": "0"})
    p = pyrunc("run", "-b", b.path, "wil")
    if p.returncode == 0:
        assert policy_shown(p.stdout) == "weighted interleave:0"
    else:
        assert "linux.memoryPolicy: set_mempolicy MPOL_WEIGHTED_INTERLEAVE nodes 0: invalid argument" in p.stderr


def test_memory_policy_applies_to_exec(pyrunc, make_bundle):
    """runc sets the container's policy in exec's processes too."""
    b = with_policy(make_bundle, {"mode": "MPOL_INTERLEAVE", "nodes": "0"}, ["sleep", "1000"])
    pyrunc("run", "-d", "-b", b.path, "mpx", check=True)
    try:
        p = pyrunc("exec", "mpx", *POLICY_OF_FIRST_MAP, check=True)
        assert policy_shown(p.stdout) == "interleave:0"
    finally:
        pyrunc("delete", "--force", "mpx")


def _possible_nodes() -> str:
    with open("/sys/devices/system/node/possible") as f:
        return f.read().strip()


BAD_POLICIES = [
    ({}, "linux.memoryPolicy.mode: is required"),
    ({"mode": "INTERLEAVE", "nodes": "0"}, "linux.memoryPolicy.mode: unknown memory policy mode 'INTERLEAVE'"),
    ({"mode": "MPOL_PREFERRED", "nodes": "0", "flags": ["MPOL_F_RELATIVE_NODES", "badflag"]},
     "linux.memoryPolicy.flags[1]: unknown memory policy flag 'badflag'"),
    ({"mode": "MPOL_DEFAULT", "nodes": "0"}, "linux.memoryPolicy.nodes: MPOL_DEFAULT takes no nodes, got 1"),
    ({"mode": "MPOL_LOCAL", "nodes": "0-7"}, "linux.memoryPolicy.nodes: MPOL_LOCAL takes no nodes, got 8"),
    ({"mode": "MPOL_BIND"}, "linux.memoryPolicy.nodes: MPOL_BIND needs at least one node"),
    ({"mode": "MPOL_INTERLEAVE", "nodes": ""}, "linux.memoryPolicy.nodes: MPOL_INTERLEAVE needs at least one node"),
    ({"mode": "MPOL_BIND", "nodes": "0-9876543210"}, "linux.memoryPolicy.nodes: '0-9876543210': 9876543210 is "
                                                      "out of range"),
    ({"mode": "MPOL_BIND", "nodes": "zero"}, "linux.memoryPolicy.nodes: 'zero' is not a list such as"),
    ({"mode": "MPOL_BIND", "nodes": "3-1"}, "linux.memoryPolicy.nodes: '3-1': invalid range '3-1'"),
    ({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"]},
     "linux.memoryPolicy.flags: MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other"),
    ({"mode": "MPOL_INTERLEAVE", "nodes": "0", "flags": ["MPOL_F_NUMA_BALANCING"]},
     "linux.memoryPolicy.flags: MPOL_F_NUMA_BALANCING cannot be used with MPOL_INTERLEAVE"),
    ({"mode": "MPOL_LOCAL", "flags": ["MPOL_F_STATIC_NODES"]},
     "linux.memoryPolicy.flags: MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES need nodes"),
    ({"mode": "MPOL_BIND", "nodes": "0,63"}, "linux.memoryPolicy.nodes: node 63 does not exist on this host "
                                             "(possible nodes: {possible})"),
    ({"mode": "MPOL_BIND", "nodes": 0}, "linux.memoryPolicy.nodes: expected a string, got an integer"),
]


@pytest.mark.parametrize("policy,message", BAD_POLICIES, ids=[str(i) for i in range(len(BAD_POLICIES))])
def test_bad_memory_policy_is_one_line_and_leaves_nothing(pyrunc, make_bundle, policy, message):
    b = with_policy(make_bundle, policy, ["true"])
    p = pyrunc("run", "-b", b.path, "badmp")
    assert p.returncode == 1
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and message.format(possible=_possible_nodes()) in lines[0], p.stderr
    assert pyrunc("list", "-q").stdout.strip() == ""


def test_relative_nodes_are_positions_not_ids(pyrunc, make_bundle):
    """With MPOL_F_RELATIVE_NODES a node number is a position in the allowed set, so one
    past the machine's nodes is not refused at load (the kernel folds it)."""
    b = with_policy(make_bundle, {"mode": "MPOL_INTERLEAVE", "nodes": "1", "flags": ["MPOL_F_RELATIVE_NODES"]})
    assert policy_shown(run_out(pyrunc, b, "rel")).startswith("interleave=relative:")


def test_memory_policy_checked_against_a_fake_node_tree(tmp_path):
    """The node check reads ``possible``: a fake tree, named so, with nodes 0-3."""
    from pyrunc.runtime.errors import ConfigError
    from pyrunc.spec import numa
    from pyrunc.spec.check import Obj

    fake = tmp_path / "fake-sys-node"
    fake.mkdir()
    (fake / "possible").write_text("0-3\n")
    mp = numa.parse(Obj({"mode": "MPOL_INTERLEAVE", "nodes": "1-3, 0"}, "linux.memoryPolicy"), str(fake))
    assert (mp.mode, mp.nodes) == (3, [0, 1, 2, 3])
    with pytest.raises(ConfigError, match=r"node 4,6-7 does not exist on this host \(possible nodes: 0-3\)"):
        numa.parse(Obj({"mode": "MPOL_BIND", "nodes": "4,6-7"}, "linux.memoryPolicy"), str(fake))
    with pytest.raises(ConfigError, match="this kernel has no NUMA support"):
        numa.parse(Obj({"mode": "MPOL_DEFAULT"}, "linux.memoryPolicy"), str(tmp_path / "absent"))


def test_nodemask_layout():
    from pyrunc.spec import cpulist

    assert cpulist.mask([0]) == (1).to_bytes(8, "little")
    assert cpulist.mask([1, 64]) == (2).to_bytes(8, "little") + (1).to_bytes(8, "little")
    assert cpulist.format_list([0, 1, 2, 5, 7, 8]) == "0-2,5,7-8"
