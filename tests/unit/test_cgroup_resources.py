"""linux.resources translated without a kernel: config.json's object into typed
Resources (spec/resources.py: check, then runc's unset rule), and the typed values into
the files each cgroup driver writes (runtime/linux/cgroups v1.py and v2.py), with the
JSON path of every refused value.  No root, no cgroup: pure functions, plus a temporary
directory standing for a cgroup where a driver looks at which files exist."""

import pytest
from pyrunc.runtime.errors import ConfigError
from pyrunc.runtime.linux.cgroups import convert, manager, v1, v2
from pyrunc.spec import resources as cr


def files(writes):
    return [(w[1], w[2]) for w in writes]


# -- JSON -> Resources -------------------------------------------------------------------

def test_every_section_is_typed():
    res = cr.load({
        "devices": [{"allow": False, "access": "rwm"}, {"allow": True, "type": "c", "major": 1, "minor": -1}],
        "memory": {"limit": 100, "reservation": 50, "swap": 300, "kernelTCP": 7, "swappiness": 10,
                   "disableOOMKiller": True, "useHierarchy": True, "checkBeforeUpdate": False},
        "cpu": {"shares": 512, "quota": 1000, "period": 10000, "burst": 5, "realtimeRuntime": 1,
                "realtimePeriod": 2, "cpus": "0-1", "mems": "0", "idle": 1},
        "pids": {"limit": 9},
        "blockIO": {"weight": 300, "leafWeight": 20, "weightDevice": [{"major": 8, "minor": 0, "weight": 100}],
                    "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1024}]},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 4096}],
        "network": {"classID": 17, "priorities": [{"name": "eth0", "priority": 3}]},
        "rdma": {"mlx5_0": {"hcaHandles": 2}},
        "unified": {"memory.high": "90"},
    })
    assert res.devices == [cr.DeviceRule(allow=False, type="a", major=None, minor=None, access="rwm"),
                           cr.DeviceRule(allow=True, type="c", major=1, minor=None, access="rwm")]
    assert res.memory == cr.Memory(limit=100, reservation=50, swap=300, kernel_tcp=7, swappiness=10,
                                   disable_oom_killer=True, use_hierarchy=True, check_before_update=False)
    assert res.cpu == cr.CPU(shares=512, quota=1000, period=10000, burst=5, realtime_runtime=1, realtime_period=2,
                             cpus="0-1", mems="0", idle=1)
    assert res.pids == cr.Pids(limit=9)
    assert res.block_io.weight == 300 and res.block_io.leaf_weight == 20
    assert res.block_io.weight_device == [cr.WeightDevice(major=8, minor=0, weight=100)]
    assert res.block_io.throttle_read_bps_device == [cr.ThrottleDevice(major=8, minor=0, rate=1024)]
    assert res.block_io.throttle_write_bps_device is None
    assert res.hugepage_limits == [cr.HugepageLimit(page_size="2MB", limit=4096)]
    assert res.network == cr.Network(class_id=17, priorities=[cr.InterfacePriority(name="eth0", priority=3)])
    assert res.rdma == {"mlx5_0": cr.Rdma(hca_handles=2)}
    assert res.unified == {"memory.high": "90"}
    assert not res.is_empty()


def test_absent_and_null_are_unset():
    assert cr.load({}).is_empty() and cr.parse(None).is_empty()
    assert cr.load({}).devices is None  # the drivers still apply runc's default allow list
    res = cr.load({"memory": {"limit": None}, "cpu": {"cpus": None}})
    assert res.memory.limit is None and res.cpu.cpus is None


def test_zeros_docker_sends_are_unset():
    """runc 1.1's Set functions skip a zero (Docker sends 0 for what the user did not set)."""
    res = cr.load({"memory": {"limit": 0, "reservation": 0, "swap": 0, "kernel": 0, "kernelTCP": 0,
                              "swappiness": 2**64 - 1},
                   "cpu": {"shares": 0, "quota": 0, "period": 0, "realtimeRuntime": 0, "realtimePeriod": 0,
                           "cpus": "", "mems": ""},
                   "blockIO": {"weight": 0, "leafWeight": 0,
                               "weightDevice": [{"major": 8, "minor": 0, "weight": 0, "leafWeight": 0}]},
                   "pids": {"limit": 0}, "network": {"classID": 0}})
    assert res.memory == cr.Memory() and res.cpu == cr.CPU() and res.pids == cr.Pids()
    assert res.block_io.weight is None and res.block_io.weight_device == [cr.WeightDevice(major=8, minor=0)]
    assert res.network.class_id is None
    assert cr.load({"memory": {"swappiness": -1}}).memory.swappiness is None
    # Not zeros: -1, a false boolean, cpu.idle 0 and burst 0 are values.
    res = cr.load({"memory": {"limit": -1, "disableOOMKiller": False}, "cpu": {"idle": 0, "burst": 0},
                   "pids": {"limit": -1}})
    assert res.memory.limit == -1 and res.memory.disable_oom_killer is False
    assert res.cpu.idle == 0 and res.cpu.burst == 0 and res.pids.limit == -1


def test_update_lifts_swap_with_an_unlimited_memory():
    """runc's setMemoryAndSwap: update's memory -1 alone makes memory+swap -1 too."""
    assert cr.load({"memory": {"limit": -1}}, update=True).memory.swap == -1
    assert cr.load({"memory": {"limit": -1}}).memory.swap is None
    assert cr.load({"memory": {"limit": -1, "swap": 500}}, update=True).memory.swap == 500


@pytest.mark.parametrize("res, where", [
    ({"memory": {"limit": "1g"}}, "linux.resources.memory.limit: expected an integer, got string"),
    ({"memory": {"limit": 2**64}}, "linux.resources.memory.limit: 18446744073709551616 does not fit in 64 bits"),
    ({"cpu": {"cpus": 3}}, "linux.resources.cpu.cpus: expected a string, got integer"),
    ({"devices": [{"allow": True, "type": "x"}]}, "linux.resources.devices[0].type: unknown device type 'x'"),
    ({"devices": [{"allow": True, "access": "rwx"}]}, "linux.resources.devices[0].access"),
    ({"blockIO": {"weightDevice": [None]}}, "linux.resources.blockIO.weightDevice[0]: expected a value, got null"),
    ({"rdma": {"mlx5_0": None}}, "linux.resources.rdma.mlx5_0: expected an object, got null"),
])
def test_bad_values_are_named_by_their_json_path(res, where):
    with pytest.raises(ConfigError) as e:
        cr.load(res)
    assert where in str(e.value)


def test_update_errors_name_the_flag():
    with pytest.raises(ConfigError, match=r"--resources\.pids\.limit: expected an integer"):
        cr.load({"pids": {"limit": True}}, "--resources", update=True)


def test_records_compare_and_refuse_unknown_fields():
    assert cr.Pids(limit=3) == cr.Pids(limit=3) != cr.Pids(limit=4)
    assert cr.Pids(limit=3) != cr.Rdma()
    assert repr(cr.Memory(limit=5)) == "Memory(limit=5)"
    with pytest.raises(TypeError):
        cr.Pids(limt=3)


# -- Resources -> v1 files (the fs driver) -------------------------------------------------

def test_v1_files_in_runcs_order():
    res = cr.load({"memory": {"limit": 100, "reservation": 50, "swap": 300, "swappiness": 10,
                              "disableOOMKiller": True},
                   "cpu": {"shares": 512, "quota": 1000, "period": 10000, "burst": 5, "realtimeRuntime": 1,
                           "realtimePeriod": 2, "idle": 1, "cpus": "0-1", "mems": "0"},
                   "pids": {"limit": -1},
                   "blockIO": {"weight": 300, "leafWeight": 20,
                               "weightDevice": [{"major": 8, "minor": 0, "weight": 100, "leafWeight": 50}],
                               "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 9}]},
                   "hugepageLimits": [{"pageSize": "2MB", "limit": 4096}],
                   "network": {"classID": 17, "priorities": [{"name": "eth0", "priority": 3}]},
                   "rdma": {"mlx5_0": {"hcaHandles": 2, "hcaObjects": 3}}})
    assert files(v1.limit_writes(res)) == [
        ("memory.limit_in_bytes", "100"), ("memory.soft_limit_in_bytes", "50"), ("memory.memsw.limit_in_bytes", "300"),
        ("memory.swappiness", "10"), ("memory.oom_control", "1"),
        ("cpu.shares", "512"), ("cpu.cfs_period_us", "10000"), ("cpu.cfs_quota_us", "1000"),
        ("cpu.cfs_burst_us", "5"), ("cpu.rt_period_us", "2"), ("cpu.rt_runtime_us", "1"), ("cpu.idle", "1"),
        ("cpuset.cpus", "0-1"), ("cpuset.mems", "0"), ("pids.max", "max"),
        ("blkio.weight", "300"), ("blkio.leaf_weight", "20"), ("blkio.weight_device", "8:0 100"),
        ("blkio.leaf_weight_device", "8:0 50"), ("blkio.throttle.write_iops_device", "8:0 9"),
        ("hugetlb.2MB.limit_in_bytes", "4096"), ("net_cls.classid", "17"), ("net_prio.ifpriomap", "eth0 3"),
        ("rdma.max", "mlx5_0 hca_handle=2 hca_object=3")]
    controllers = {w[0] for w in v1.limit_writes(res)}
    assert controllers == {"memory", "cpu", "cpuset", "pids", "blkio", "hugetlb", "net_cls", "net_prio", "rdma"}


@pytest.mark.parametrize("cpus", ["0-1:1/2", "0-N", "N", "0,N", "0-1,", "0,,1", "1-0", "zero"])
def test_cpuset_lists_go_to_the_kernel_as_written(cpus):
    """runc writes cpu.cpus/mems verbatim and the kernel judges them (strides, "N", empty
    elements are its grammar; "1-0" and "zero" it refuses at the write): nothing refused
    at load, nothing rewritten (tests/test_runc_parity.py runs them beside runc)."""
    w = v1.limit_writes(cr.load({"cpu": {"cpus": cpus, "mems": cpus}}))
    assert ("cpuset", "cpuset.cpus", cpus) in [t[:3] for t in w]
    assert ("cpuset", "cpuset.mems", cpus) in [t[:3] for t in w]


def test_v1_writes_nothing_for_nothing():
    assert v1.limit_writes(cr.load({})) == []
    assert v1.limit_writes(cr.load({"memory": {}, "cpu": {}, "blockIO": {}})) == []


@pytest.mark.parametrize("res, where", [
    ({"unified": {"memory.max": "1"}}, "linux.resources.unified: cannot use unified on cgroup v1"),
    ({"memory": {"swappiness": 300}}, "linux.resources.memory.swappiness: 300 is out of range (0-100)"),
    ({"memory": {"limit": -2}}, "linux.resources.memory.limit: -2 is out of range (minimum -1)"),
    ({"blockIO": {"weight": -5}}, "linux.resources.blockIO.weight: -5 is out of range (minimum 0)"),
])
def test_v1_refusals_name_the_json_path(res, where):
    with pytest.raises(ConfigError) as e:
        v1.limit_writes(cr.load(res))
    assert where in str(e.value)


def test_v1_device_rules_fold_into_runcs_emulator():
    """Deny all, then the config's allow, then runc's defaults, written as one default and
    its sorted exceptions (runc 1.1's device emulator)."""
    rules = cr.load({"devices": [{"allow": False, "access": "rwm"},
                                 {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"}]}).devices
    out = files(v1.device_writes(rules))
    assert out[0] == ("devices.deny", "a")
    assert ("devices.allow", "c 10:229 rw") in out and ("devices.allow", "c 1:3 rwm") in out
    assert ("devices.allow", "b *:* m") in out and ("devices.allow", "c 136:* rwm") in out
    assert files(v1.device_writes([])) == out[:1] + [w for w in out[1:] if w[1] != "c 10:229 rw"]
    # Allow-all first: the defaults are inside it, nothing to except.
    assert files(v1.device_writes(cr.load({"devices": [{"allow": True, "access": "rwm"}]}).devices)) == [
        ("devices.allow", "a")]


def test_v1_device_hole_in_a_wildcard_is_refused():
    rules = cr.load({"devices": [{"allow": True, "access": "rwm"},
                                 {"allow": False, "type": "c", "access": "rwm"},
                                 {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "r"}]}).devices
    # Allow-all with a "deny c *:*" exception: allowing c 1:3 back would be a hole in it.
    with pytest.raises(ConfigError, match=r"linux.resources.devices\[2\]: unable to remove 'deny' exception"):
        v1.device_writes(rules)


def test_v1_weights_go_to_bfq_without_blkio_weight(tmp_path):
    """runc 1.1.5 (fs/blkio.go): a blkio cgroup without blkio.weight (no CFQ since Linux
    5.0) takes the weights in BFQ's files.  A temporary directory stands for the cgroup."""
    writes = v1.limit_writes(cr.load({"blockIO": {"weight": 300, "weightDevice": [{"major": 8, "minor": 0,
                                                                                    "weight": 100}],
                                                  "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1}]}}))
    assert files(v1._bfq_names(str(tmp_path), writes)) == [
        ("blkio.bfq.weight", "300"), ("blkio.bfq.weight_device", "8:0 100"),
        ("blkio.throttle.read_bps_device", "8:0 1")]
    (tmp_path / "blkio.weight").write_text("")
    assert v1._bfq_names(str(tmp_path), writes) == writes
    assert v1._bfq_names(None, writes) == writes  # no blkio hierarchy: write_all names the error


# -- Resources -> v2 files (the fs2 driver) ------------------------------------------------

def test_v2_files_with_runcs_conversions():
    res = cr.load({"memory": {"limit": 100, "swap": 300, "reservation": 50},
                   "cpu": {"shares": 1024, "quota": 5000, "period": 10000, "cpus": "0-1", "burst": 7, "idle": 1},
                   "pids": {"limit": 5}, "blockIO": {"weight": 500,
                                                     "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 9}]},
                   "hugepageLimits": [{"pageSize": "1GB", "limit": 0}],
                   "unified": {"memory.high": "90"}})
    assert files(v2.limit_writes(res)) == [
        ("memory.max", "100"), ("memory.low", "50"), ("memory.swap.max", "200"),
        ("cpu.weight", "39"), ("cpu.max", "5000 10000"), ("cpu.max.burst", "7"), ("cpu.idle", "1"),
        ("cpuset.cpus", "0-1"), ("pids.max", "5"), ("io.weight", "default 4950"), ("io.max", "8:0 rbps=9"),
        ("hugetlb.1GB.max", "0"), ("memory.high", "90")]
    assert {w[0] for w in v2.limit_writes(res)} == {""}  # the one unified tree
    assert files(v2.limit_writes(cr.load({"cpu": {"quota": 1000}}))) == [("cpu.max", "1000 100000")]
    assert files(v2.limit_writes(cr.load({"cpu": {"period": 50000}}))) == [("cpu.max", "max 50000")]
    assert files(v2.limit_writes(cr.load({"memory": {"limit": -1, "swap": -1}}))) == [
        ("memory.max", "max"), ("memory.swap.max", "max")]


@pytest.mark.parametrize("res, where", [
    ({"memory": {"swap": 300}}, "linux.resources.memory.swap: on cgroup v2 a swap limit needs memory.limit too"),
    ({"memory": {"limit": 500, "swap": 300}}, "linux.resources.memory.swap: 300 is below memory.limit 500"),
    ({"unified": {"../memory.max": "1"}}, "linux.resources.unified.../memory.max: not a cgroup file name"),
    ({"unified": {".hidden": "1"}}, "linux.resources.unified..hidden: not a cgroup file name"),
])
def test_v2_refusals_name_the_json_path(res, where):
    with pytest.raises(ConfigError) as e:
        v2.limit_writes(cr.load(res))
    assert where in str(e.value)


def test_v2_weight_goes_to_bfq_where_it_exists(tmp_path):
    """runc 1.1.5 (fs2/io.go): io.bfq.weight takes the blkio weight as it is."""
    res = cr.load({"blockIO": {"weight": 500}})
    writes = v2.limit_writes(res)
    assert v2._bfq_weight(str(tmp_path), res, writes) == writes
    (tmp_path / "io.bfq.weight").write_text("")
    assert files(v2._bfq_weight(str(tmp_path), res, writes)) == [("io.bfq.weight", "500")]


def test_v2_device_filter_rules_end_with_runcs_defaults():
    rules = v2.device_rules_with_defaults(cr.load({"devices": [{"allow": False, "access": "rwm"}]}).devices)
    assert rules[0] == {"allow": False, "type": "a", "major": None, "minor": None, "access": "rwm"}
    assert {"allow": True, "type": "c", "major": 136, "minor": None, "access": "rwm"} in rules
    assert {"allow": True, "type": "b", "major": None, "minor": None, "access": "m"} in rules
    assert len(rules) == 1 + len(convert.DEFAULT_MKNOD) + len(convert.DEFAULT_ALLOWED)


def test_conversions():
    assert convert.shares_to_weight(2) == 1 and convert.shares_to_weight(262144) == 10000
    assert convert.shares_to_weight(1024) == 39 and convert.shares_to_weight(0) == 0
    assert convert.blkio_weight_to_io_weight(10) == 1 and convert.blkio_weight_to_io_weight(1000) == 10000


# -- the factory ------------------------------------------------------------------------------

def test_load_picks_the_recorded_driver():
    m = manager.load(["/sys/fs/cgroup/pids/x"], ["/sys/fs/cgroup/pids/x"], "fs")
    assert isinstance(m, v1.FsManager) and m.driver == "fs" and m.made == ["/sys/fs/cgroup/pids/x"]
    m = manager.load(["/sys/fs/cgroup/x"], [], "fs2")
    assert isinstance(m, v2.Fs2Manager) and m.driver == "fs2" and not m.lenient and not m.rootless


def test_rootless_is_lenient_only_without_a_path():
    assert manager.new("", "c1", rootless=True).lenient
    m = manager.new("/mine/c1", "c1", rootless=True)
    assert m.rootless and not m.lenient
    with pytest.raises(Exception, match="linux.cgroupsPath: must not contain '..'"):
        manager.new("/a/../b", "c1")
