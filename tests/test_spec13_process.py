"""runtime-spec 1.3.0 process settings: linux.memoryPolicy (config-linux.md "Memory
policy") and process.execCPUAffinity (config.md "process"), seen from inside real
containers; and linux.intelRdt (config-linux.md "IntelRdt"): its error on a host
without resctrl, and its write logic against a fake resctrl tree."""

import json
import os

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


# --- linux.memoryPolicy --------------------------------------------------------------

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


# --- process.execCPUAffinity ---------------------------------------------------------

def _cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0))


needs_two_cpus = pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")


def _allowed(out: str) -> str:
    line = [x for x in out.splitlines() if x.startswith("Cpus_allowed_list:")]
    assert line, out
    return line[0].split(":", 1)[1].strip()


def _exec_json(tmp_path, aff: dict | None, args=("grep", "Cpus_allowed_list", "/proc/self/status")) -> str:
    proc = {"terminal": False, "args": list(args), "cwd": "/"}
    if aff is not None:
        proc["execCPUAffinity"] = aff
    f = tmp_path / "p.json"
    f.write_text(json.dumps(proc))
    return str(f)


@needs_two_cpus
def test_exec_cpu_affinity_final_from_process_json(pyrunc, make_bundle, tmp_path):
    first, second = _cpus()[:2]
    b = make_bundle(["sleep", "1000"])
    pyrunc("run", "-d", "-b", b.path, "aff", check=True)
    try:
        for cpus in (str(second), f"{first}-{second}", f"{first},{second}", str(first)):
            f = _exec_json(tmp_path, {"initial": cpus, "final": cpus})
            p = pyrunc("exec", "--process", f, "aff", check=True)
            assert _allowed(p.stdout) == cpus.replace(",", "-"), (cpus, p.stdout)
    finally:
        pyrunc("delete", "--force", "aff")


@needs_two_cpus
def test_exec_cpu_affinity_initial_applies_before_the_cgroup_join(pyrunc, make_bundle, tmp_path):
    """``initial`` only: the process starts on those CPUs (seen through the runtime's
    debug log of the fork) and, after the cgroup join, has what the cgroup gives it."""
    first, second = _cpus()[:2]
    b = make_bundle(["sleep", "1000"])
    pyrunc("run", "-d", "-b", b.path, "affi", check=True)
    try:
        f = _exec_json(tmp_path, {"initial": str(second)}, ["sh", "-c", "grep Cpus_allowed_list /proc/self/status"])
        p = pyrunc("exec", "--process", f, "affi", check=True)
        # No final: the kernel decides (the v1 cpuset join sets the cpuset's CPUs).
        assert _allowed(p.stdout) in (str(second), f"{first}-{second}", ",".join(map(str, _cpus())))
    finally:
        pyrunc("delete", "--force", "affi")


@needs_two_cpus
def test_exec_cpu_affinity_from_config_json(pyrunc, make_bundle):
    """Without --process, the container's process.execCPUAffinity applies to exec (and
    not to the init: the spec excludes it)."""
    first, second = _cpus()[:2]
    b = make_bundle(["sleep", "1000"])
    b.config["process"]["execCPUAffinity"] = {"initial": str(first), "final": str(second)}
    b.write()
    pyrunc("run", "-d", "-b", b.path, "affc", check=True)
    try:
        p = pyrunc("exec", "affc", "grep", "Cpus_allowed_list", "/proc/self/status", check=True)
        assert _allowed(p.stdout) == str(second)
        init = pyrunc.state("affc")["pid"]
        with open(f"/proc/{init}/status") as fh:
            assert _allowed(fh.read()) != str(second) or len(_cpus()) == 1
    finally:
        pyrunc("delete", "--force", "affc")


@needs_two_cpus
def test_exec_cpu_affinity_process_json_without_it_takes_the_containers(pyrunc, make_bundle, tmp_path):
    first, second = _cpus()[:2]
    b = make_bundle(["sleep", "1000"])
    b.config["process"]["execCPUAffinity"] = {"final": str(second)}
    b.write()
    pyrunc("run", "-d", "-b", b.path, "affp", check=True)
    try:
        p = pyrunc("exec", "--process", _exec_json(tmp_path, None), "affp", check=True)
        assert _allowed(p.stdout) == str(second)
    finally:
        pyrunc("delete", "--force", "affp")


@needs_two_cpus
def test_exec_and_init_do_not_inherit_the_callers_affinity(pyrunc, make_bundle):
    """runc resets the affinity after the cgroup join: ``taskset -c 0 runc exec`` does
    not pin the container's process to CPU 0."""
    first = _cpus()[0]
    b = make_bundle(["sleep", "1000"])
    pin = lambda: os.sched_setaffinity(0, {first})  # noqa: E731
    pyrunc("run", "-d", "-b", b.path, "affr", check=True, preexec_fn=pin)
    try:
        init = pyrunc.state("affr")["pid"]
        with open(f"/proc/{init}/status") as fh:
            assert _allowed(fh.read()) != str(first)
        p = pyrunc("exec", "affr", "grep", "Cpus_allowed_list", "/proc/self/status", check=True, preexec_fn=pin)
        assert _allowed(p.stdout) != str(first)
    finally:
        pyrunc("delete", "--force", "affr")


@pytest.mark.parametrize("aff,message", [
    ({"initial": "0-x"}, "process.execCPUAffinity.initial: '0-x' is not a list such as"),
    ({"final": "2-1"}, "process.execCPUAffinity.final: '2-1': invalid range '2-1'"),
    ({"final": 3}, "process.execCPUAffinity.final: expected a string, got an integer"),
    ({"final": "4000"}, "process.execCPUAffinity.final: sched_setaffinity 4000: invalid argument"),
    ({"initial": "4000"}, "process.execCPUAffinity.initial: sched_setaffinity 4000: invalid argument"),
])
def test_bad_exec_cpu_affinity(pyrunc, make_bundle, tmp_path, aff, message):
    b = make_bundle(["sleep", "1000"])
    pyrunc("run", "-d", "-b", b.path, "affb", check=True)
    try:
        p = pyrunc("exec", "--process", _exec_json(tmp_path, aff, ["true"]), "affb")
        assert p.returncode == 255
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], p.stderr
        assert pyrunc.state("affb")["status"] == "running"
    finally:
        pyrunc("delete", "--force", "affb")


def test_bad_exec_cpu_affinity_in_config_fails_create(pyrunc, make_bundle):
    b = make_bundle(["true"])
    b.config["process"]["execCPUAffinity"] = {"initial": "1,,a"}
    b.write()
    p = pyrunc("create", "-b", b.path, "affcfg")
    assert p.returncode == 1 and "process.execCPUAffinity.initial: '1,,a' is not a list" in p.stderr


# --- linux.intelRdt ------------------------------------------------------------------

def _has_resctrl() -> bool:
    from pyrunc.runtime.linux import resctrl

    return resctrl.mountpoint() is not None


@pytest.mark.parametrize("rdt,message", [
    ({"closID": "a/b"}, "linux.intelRdt.closID: 'a/b' must be \"/\" or a single directory name"),
    ({"closID": ".."}, "linux.intelRdt.closID: '..' must be"),
    ({"memBwSchema": "L3:0=ff"}, "linux.intelRdt.memBwSchema: 'L3:0=ff' must start with \"MB:\""),
    ({"l3CacheSchema": "L3:0=ff\nMB:0=10"}, "linux.intelRdt.l3CacheSchema: must not contain a newline"),
    ({"schemata": ["L3:0=f", "MB:0=1\n"]}, "linux.intelRdt.schemata[1]: must not contain a newline"),
    ({"enableMonitoring": "yes"}, "linux.intelRdt.enableMonitoring: expected a boolean, got a string"),
    ({"closID": "guaranteed_group", "schemata": ["L3:0=7f0"]},
     "linux.intelRdt: resctrl is not mounted on this host (/sys/fs/resctrl)"),
    ({}, "linux.intelRdt: resctrl is not mounted on this host (/sys/fs/resctrl)"),
])
def test_intel_rdt_errors(pyrunc, make_bundle, rdt, message):
    if "not mounted" in message and _has_resctrl():
        pytest.skip("this host has resctrl")
    b = make_bundle(["true"])
    b.config["linux"]["intelRdt"] = rdt
    b.write()
    p = pyrunc("run", "-b", b.path, "rdt")
    assert p.returncode == 1
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and message.replace('"', '\\"') in lines[0], p.stderr
    assert pyrunc("list", "-q").stdout.strip() == ""


@pytest.fixture
def fake_resctrl(tmp_path):
    """A fake resctrl tree (plain directories and files, named so): the root's schemata,
    tasks and info/last_cmd_status, and a pre-made CLOS ``gold``."""
    root = tmp_path / "fake-resctrl"
    (root / "info").mkdir(parents=True)
    (root / "info" / "last_cmd_status").write_text("ok\n")
    (root / "schemata").write_text("L3:0=7ff;1=7ff\nMB:0=100;1=100\n")
    (root / "tasks").write_text("")
    gold = root / "gold"
    (gold / "mon_groups").mkdir(parents=True)
    (gold / "schemata").write_text("    L3:0=07f0;1=01f\n    MB:0= 20;1= 70\n")
    (gold / "tasks").write_text("")
    return root


def _rdt(**kw):
    from pyrunc.spec import resctrl as spec_rdt

    rdt = spec_rdt.IntelRdt("", "", "", [], False)
    for k, v in kw.items():
        setattr(rdt, k, v)
    return rdt


def test_fake_resctrl_group_named_after_the_container(fake_resctrl):
    from pyrunc.runtime.linux import resctrl

    rdt = _rdt(l3_cache_schema="L3:0=f", mem_bw_schema="MB:0=50", schemata=["L2:0=3"], enable_monitoring=True)
    remove = resctrl.apply(str(fake_resctrl), rdt, "ctr1", 4242)
    group = fake_resctrl / "ctr1"
    # l3CacheSchema first, memBwSchema next, schemata last (config-linux.md).
    assert (group / "schemata").read_text() == "L3:0=f\nMB:0=50\nL2:0=3\n"
    assert (group / "tasks").read_text() == "4242"
    mon = group / "mon_groups" / "ctr1"
    assert (mon / "tasks").read_text() == "4242"
    assert remove == [str(mon), str(group)]


def test_fake_resctrl_record_exec_and_release(fake_resctrl, tmp_path):
    from pyrunc.runtime.linux import resctrl

    cdir = tmp_path / "state"
    cdir.mkdir()
    rdt = _rdt(schemata=["MB:0=30"], enable_monitoring=True)
    remove = resctrl.apply(str(fake_resctrl), rdt, "ctr2", 1)
    resctrl.record(str(cdir), str(fake_resctrl), resctrl.group_dir(str(fake_resctrl), rdt, "ctr2"), remove)
    resctrl.add_task(str(cdir), 77)
    assert (fake_resctrl / "ctr2" / "tasks").read_text() == "77"
    assert (fake_resctrl / "ctr2" / "mon_groups" / "ctr2" / "tasks").read_text() == "77"
    resctrl.release(str(cdir))
    assert not (fake_resctrl / "ctr2").exists()


def test_fake_resctrl_existing_closid_is_compared_and_kept(fake_resctrl, tmp_path):
    from pyrunc.runtime.errors import PyruncError
    from pyrunc.runtime.linux import resctrl

    # Same values, other spelling (leading zeros, spaces): it matches; the CLOS stays.
    rdt = _rdt(clos_id="gold", l3_cache_schema="L3:0=7f0;1=1f", mem_bw_schema="MB:0=20;1=70",
               enable_monitoring=True)
    remove = resctrl.apply(str(fake_resctrl), rdt, "ctr3", 5)
    assert remove == [str(fake_resctrl / "gold" / "mon_groups" / "ctr3")]
    assert (fake_resctrl / "gold" / "tasks").read_text() == "5"
    assert "07f0" in (fake_resctrl / "gold" / "schemata").read_text()  # not rewritten
    resctrl.remove_dirs(remove)
    assert (fake_resctrl / "gold").is_dir() and not (fake_resctrl / "gold" / "mon_groups" / "ctr3").exists()
    bad = _rdt(clos_id="gold", l3_cache_schema="L3:0=ff")
    with pytest.raises(PyruncError, match="linux.intelRdt.l3CacheSchema: 'L3:0=ff' does not match the schemata "
                                          "of the existing CLOS 'gold'"):
        resctrl.apply(str(fake_resctrl), bad, "ctr4", 6)


def test_fake_resctrl_preconfigured_closid_must_exist(fake_resctrl):
    from pyrunc.runtime.errors import PyruncError
    from pyrunc.runtime.linux import resctrl

    with pytest.raises(PyruncError, match="linux.intelRdt.closID: .*/silver does not exist"):
        resctrl.apply(str(fake_resctrl), _rdt(clos_id="silver"), "ctr5", 7)
    assert not (fake_resctrl / "silver").exists()
    assert resctrl.apply(str(fake_resctrl), _rdt(clos_id="gold"), "ctr5", 7) == []
    # "/" is the default CLOS: the root's own tasks file.
    assert resctrl.apply(str(fake_resctrl), _rdt(clos_id="/"), "ctr5", 8) == []
    assert (fake_resctrl / "tasks").read_text() == "8"


def test_fake_resctrl_refusal_carries_last_cmd_status(fake_resctrl):
    from pyrunc.runtime.errors import PyruncError
    from pyrunc.runtime.linux import resctrl

    (fake_resctrl / "info" / "last_cmd_status").write_text("Unknown or unsupported resource name 'L9'\n")
    (fake_resctrl / "ctr6").mkdir()
    (fake_resctrl / "ctr6" / "schemata").mkdir()  # a write that fails
    with pytest.raises(PyruncError, match=r"linux.intelRdt: write 'L9:0=1' to .*schemata: is a directory "
                                          r"\(last_cmd_status: Unknown or unsupported resource name 'L9'\)"):
        resctrl.apply(str(fake_resctrl), _rdt(schemata=["L9:0=1"]), "ctr6", 9)


def test_resctrl_mountpoint_from_a_fake_mountinfo(tmp_path):
    from pyrunc.runtime.linux import resctrl

    mi = tmp_path / "fake-mountinfo"
    mi.write_text("22 1 0:20 / /sys rw - sysfs sysfs rw\n"
                  "40 22 0:35 / /sys/fs/resctrl rw,relatime shared:20 - resctrl resctrl rw\n")
    assert resctrl.mountpoint(str(mi)) == "/sys/fs/resctrl"
    mi.write_text("22 1 0:20 / /sys rw - sysfs sysfs rw\n")
    assert resctrl.mountpoint(str(mi)) is None
