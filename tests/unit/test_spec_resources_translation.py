"""linux.resources into cgroup file writes, v1 and v2: spec/resources.py types the object,
the fs and fs2 drivers (runtime/linux/cgroups/v1.py, v2.py) name the files
(config-linux.md "Control groups"; runc 1.1's fs and fs2 managers decide the conversions
and what counts as unset): the engines' real bodies, runc's device emulator, update.

The translation is reached only through the adapters below (writes_for,
v2_device_rules, shares_to_weight, blkio_weight_to_io_weight, kernel_major_minor): spec/
types the object, the cgroup manager's fs and fs2 drivers (runtime/linux/cgroups) name the
files.
"""

import pytest
from pyrunc.runtime.errors import ConfigError
from pyrunc.runtime.linux.cgroups import convert, v1, v2
from pyrunc.spec import resources as cr

from unit import configs


def writes_for(res: dict, v2: bool, part: str = "all", update: bool = False) -> list[tuple[str, str, str, str]]:
    """(controller, file, value, JSON path) for each write of ``res`` ("limits", "devices", "all"):
    spec/ checks and types the object, the host's fs or fs2 driver names the files; an
    update leaves the device rules alone (runc)."""
    typed = cr.load(res, update=update)
    limits = (globals()["v2"] if v2 else v1).limit_writes(typed)
    devices = [] if v2 or update else v1.device_writes(typed.devices or [])
    if update or part == "limits":
        return limits
    if part == "devices":
        return devices
    return devices + limits


def v2_device_rules(devices: list[dict]) -> list[dict]:
    return v2.device_rules_with_defaults(cr.load({"devices": devices}).devices or [])


shares_to_weight = convert.shares_to_weight
blkio_weight_to_io_weight = convert.blkio_weight_to_io_weight
kernel_major_minor = convert.kernel_major_minor

DEFAULT_DEVICES = ["c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
                   "c 5:0 rwm", "c 5:2 rwm", "c 10:200 rwm", "c 136:* rwm"]


def files(writes) -> list[tuple[str, str, str]]:
    return [(ctrl, f, v) for ctrl, f, v, _path in writes]


def devices(writes) -> tuple[str, list[str]]:
    """(the default written first, the exceptions as a set of rules, sorted as written)."""
    (first, *rest) = [w for w in writes if w[0] == "devices"]
    assert first[1:3] in (("devices.deny", "a"), ("devices.allow", "a")), first
    return first[1], [w[2] for w in rest]


def test_runc_template_devices_as_runc_writes_them():
    """Deny all, then runc's default allow list, folded and sorted as runc 1.1's emulator
    leaves them (devices.list then reads as under runc)."""
    res = configs.runc_template()["linux"]["resources"]
    default, rules = devices(writes_for(res, v2=False, part="devices"))
    assert default == "devices.deny"
    assert sorted(rules) == sorted(DEFAULT_DEVICES) and len(rules) == len(DEFAULT_DEVICES)
    assert writes_for(res, v2=False, part="limits") == []


def test_docker_resources():
    """Docker sends zeros for what the user did not set: nothing is written for them; its
    device rules fold into the defaults (its deny of c 10:229, never allowed, is no-op)."""
    res = configs.engine("docker")["linux"]["resources"]
    assert writes_for(res, v2=False, part="limits") == []
    assert writes_for(res, v2=True, part="limits") == []
    default, rules = devices(writes_for(res, v2=False, part="devices"))
    assert default == "devices.deny" and "c 5:1 rwm" in rules and not any("10:229" in r for r in rules)
    assert set(DEFAULT_DEVICES) <= set(rules)


def test_podman_and_cri_resources():
    podman = configs.engine("podman")["linux"]["resources"]
    assert files(writes_for(podman, v2=False, part="limits")) == [("pids", "pids.max", "2048")]
    assert files(writes_for(podman, v2=True, part="limits")) == [("", "pids.max", "2048")]
    cri = configs.engine("cri-container")["linux"]["resources"]
    # quota 0 and the memory zeros are unset; the period stays.
    assert files(writes_for(cri, v2=False, part="limits")) == [("cpu", "cpu.shares", "2"),
                                                                  ("cpu", "cpu.cfs_period_us", "100000")]
    # v2: shares 2 is the lowest weight; a period alone keeps the quota at max.
    assert files(writes_for(cri, v2=True, part="limits")) == [("", "cpu.weight", "1"),
                                                                 ("", "cpu.max", "max 100000")]


def test_v1_files_and_their_json_paths():
    res = {"memory": {"limit": 64 << 20, "reservation": 32 << 20, "swap": 128 << 20, "swappiness": 10,
                      "disableOOMKiller": True},
           "cpu": {"shares": 512, "quota": 20000, "period": 100000, "cpus": "0", "mems": "0"},
           "pids": {"limit": -1},
           "blockIO": {"weight": 100, "weightDevice": [{"major": 8, "minor": 0, "weight": 10, "leafWeight": 20}],
                       "throttleReadBpsDevice": [{"major": 8, "minor": 16, "rate": 1048576}]},
           "hugepageLimits": [{"pageSize": "2MB", "limit": 4 << 20}],
           "network": {"classID": 0x100001, "priorities": [{"name": "eth0", "priority": 5}]}}
    writes = writes_for(res, v2=False, part="limits")
    assert files(writes) == [
        ("memory", "memory.limit_in_bytes", str(64 << 20)), ("memory", "memory.soft_limit_in_bytes", str(32 << 20)),
        ("memory", "memory.memsw.limit_in_bytes", str(128 << 20)), ("memory", "memory.swappiness", "10"),
        ("memory", "memory.oom_control", "1"),
        ("cpu", "cpu.shares", "512"), ("cpu", "cpu.cfs_period_us", "100000"), ("cpu", "cpu.cfs_quota_us", "20000"),
        ("cpuset", "cpuset.cpus", "0"), ("cpuset", "cpuset.mems", "0"), ("pids", "pids.max", "max"),
        ("blkio", "blkio.weight", "100"), ("blkio", "blkio.weight_device", "8:0 10"),
        ("blkio", "blkio.leaf_weight_device", "8:0 20"), ("blkio", "blkio.throttle.read_bps_device", "8:16 1048576"),
        ("hugetlb", "hugetlb.2MB.limit_in_bytes", str(4 << 20)), ("net_cls", "net_cls.classid", str(0x100001)),
        ("net_prio", "net_prio.ifpriomap", "eth0 5")]
    # The period is written before the quota (the kernel checks the quota against it).
    paths = {f: p for _c, f, _v, p in writes}
    assert paths["memory.memsw.limit_in_bytes"] == "linux.resources.memory.swap"
    assert paths["blkio.weight_device"] == "linux.resources.blockIO.weightDevice[0]"
    assert paths["hugetlb.2MB.limit_in_bytes"] == "linux.resources.hugepageLimits[0]"


def test_v2_conversions():
    writes = writes_for({"memory": {"limit": 100, "swap": 100, "reservation": -1},
                            "cpu": {"quota": 5000, "burst": 1000, "idle": 1},
                            "blockIO": {"weight": 10, "throttleWriteIOPSDevice": [{"major": 8, "minor": 0,
                                                                                   "rate": 50}]},
                            "hugepageLimits": [{"pageSize": "1GB", "limit": 0}],
                            "unified": {"memory.oom.group": "1"}}, v2=True, part="limits")
    # v1's swap is memory+swap; v2's memory.swap.max is swap alone: equal means no swap.
    assert files(writes) == [("", "memory.max", "100"), ("", "memory.low", "max"), ("", "memory.swap.max", "0"),
                             ("", "cpu.max", "5000 100000"), ("", "cpu.max.burst", "1000"), ("", "cpu.idle", "1"),
                             ("", "io.weight", "default 1"), ("", "io.max", "8:0 wiops=50"),
                             ("", "hugetlb.1GB.max", "0"), ("", "memory.oom.group", "1")]
    assert shares_to_weight(2) == 1 and shares_to_weight(262144) == 10000 and shares_to_weight(1024) == 39
    assert blkio_weight_to_io_weight(1000) == 10000


@pytest.mark.parametrize("res,v2,message", [
    ({"memory": {"swap": 100}}, True, "linux.resources.memory.swap: on cgroup v2 a swap limit needs memory.limit too"),
    ({"memory": {"limit": 200, "swap": 100}}, True, "linux.resources.memory.swap: 100 is below memory.limit 200"),
    ({"unified": {"../cpu.max": "1"}}, True, "linux.resources.unified.../cpu.max: not a cgroup file name"),
    ({"unified": {"memory.high": "1"}}, False, "linux.resources.unified: cannot use unified on cgroup v1"),
    ({"memory": {"swappiness": 101}}, False, "linux.resources.memory.swappiness: 101 is out of range (0-100)"),
    ({"devices": [{"allow": False, "access": "rwm"}, {"allow": True, "type": "c", "access": "rwm"},
                  {"allow": False, "type": "c", "major": 1, "minor": 3, "access": "rw"}]}, False,
     "linux.resources.devices[2]: unable to remove 'allow' exception: requested rule not supported by devices "
     "cgroupv1 (cannot punch hole in existing wildcard rule)"),
])
def test_translation_errors(res, v2, message):
    with pytest.raises(ConfigError) as e:
        writes_for(res, v2=v2)
    assert str(e.value) == message


def test_use_hierarchy_false_on_a_recent_kernel():
    if kernel_major_minor() < (5, 11):
        pytest.skip("this kernel still takes memory.use_hierarchy 0")
    with pytest.raises(ConfigError, match=r"^linux.resources.memory.useHierarchy: false is not supported by "
                                          r"kernels since 5.11$"):
        writes_for({"memory": {"useHierarchy": False}}, v2=False)


def test_device_rules_allow_all_then_deny():
    """A default allow ("a") with deny exceptions: written as runc does, allow a first."""
    res = {"devices": [{"allow": True, "access": "rwm"}, {"allow": False, "type": "b", "major": 8, "minor": 0,
                                                          "access": "w"}]}
    default, rules = devices(writes_for(res, v2=False, part="devices"))
    assert (default, rules) == ("devices.allow", ["b 8:0 w"])


def test_v2_device_filter_rules_get_runcs_defaults():
    rules = v2_device_rules([{"allow": False, "access": "rwm"}])
    assert (rules[0]["allow"], rules[0]["type"], rules[0]["access"]) == (False, "a", "rwm")  # typed: "a" for no type
    assert {"allow": True, "type": "c", "major": 136, "minor": None, "access": "rwm"} in rules
    assert {"allow": True, "type": "b", "major": None, "minor": None, "access": "m"} in rules
    assert len(rules) == 1 + len(DEFAULT_DEVICES)


def test_update_semantics():
    """runc update: the device rules are left alone; a memory limit of -1 alone lifts
    memory+swap too (setMemoryAndSwap); zeros are still unset."""
    writes = writes_for({"memory": {"limit": -1}, "cpu": {"shares": 0}, "devices": [{"allow": True}]},
                           v2=False, update=True)
    assert files(writes) == [("memory", "memory.limit_in_bytes", "-1"), ("memory", "memory.memsw.limit_in_bytes",
                                                                          "-1")]
    # At create both are already unlimited: the limit alone.
    assert files(writes_for({"memory": {"limit": -1}}, v2=False, part="limits")) == [
        ("memory", "memory.limit_in_bytes", "-1")]


def test_kernel_memory_is_one_warning(capfd):
    """runc warns once per create for kernel/kernelTCP (spec/ does, at load) and writes nothing."""
    res = {"memory": {"kernel": 1 << 20, "kernelTCP": 1 << 20}}
    typed = cr.load(res)
    err = capfd.readouterr().err
    assert err.count("Kernel memory settings are ignored and will be removed") == 1
    assert v1.limit_writes(typed) == [] and v1.device_writes(typed.devices or []) != []


def test_translation_leaves_its_input_alone():
    res = configs.engine("docker")["linux"]["resources"]
    before = repr(res)
    writes_for(res, v2=False)
    writes_for(res, v2=True, update=True)
    assert repr(res) == before


def test_v1_files_of_the_rarer_controllers():
    res = {"blockIO": {"leafWeight": 50}, "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 4}},
           "memory": {"swap": -1}}
    assert files(writes_for(res, v2=False, part="limits")) == [
        ("memory", "memory.memsw.limit_in_bytes", "-1"), ("blkio", "blkio.leaf_weight", "50"),
        ("rdma", "rdma.max", "mlx5_1 hca_handle=3 hca_object=4")]
    assert files(writes_for({"memory": {"swap": -1}}, v2=True, part="limits")) == [
        ("", "memory.swap.max", "max")]


@pytest.mark.parametrize("res,where", [
    ({"memory": {"limit": -2}}, "linux.resources.memory.limit: -2 is out of range (minimum -1)"),
    ({"cpu": {"shares": -1}}, "linux.resources.cpu.shares: -1 is out of range (minimum 0)"),
    ({"blockIO": {"weight": 70000}}, "linux.resources.blockIO.weight: 70000 is out of range (maximum 65535)"),
    ({"blockIO": {"throttleReadBpsDevice": [{"major": -1, "minor": 0, "rate": 1}]}},
     "linux.resources.blockIO.throttleReadBpsDevice[0].major: -1 is out of range (minimum 0)"),
    ({"unified": {"../cpu.max": "1"}}, "linux.resources.unified.../cpu.max: not a cgroup file name"),
])
def test_config_ranges_are_refused_at_load_for_every_driver(res, where):
    """The config's shape and ranges are spec/'s (refused at load, before any driver is
    chosen), so fs and fs2 cannot disagree on them."""
    with pytest.raises(ConfigError) as e:
        cr.load(res)
    assert str(e.value) == where


@pytest.mark.parametrize("entry, v1_value, v2_value", [
    ({"rate": 1048576}, "0:0 1048576", "0:0 rbps=1048576"),
    ({"major": 8, "rate": 1}, "8:0 1", "8:0 rbps=1"),
    ({"major": 8, "minor": 0}, "8:0 0", "8:0 rbps=0"),
])
def test_throttle_entry_missing_numbers_are_zero_on_both_drivers(entry, v1_value, v2_value):
    """runc 1.1.5 reads a missing major/minor/rate as Go's zero value and writes it: the
    kernel refuses "0:0" (no such device).  v1 used to refuse the entry at translation,
    v2 wrote "None:None"; both now write what runc writes."""
    res = {"blockIO": {"throttleReadBpsDevice": [entry]}}
    assert files(writes_for(res, v2=False, part="limits")) == [("blkio", "blkio.throttle.read_bps_device",
                                                                 v1_value)]
    assert files(writes_for(res, v2=True, part="limits")) == [("", "io.max", v2_value)]
    wd = {"blockIO": {"weightDevice": [{"weight": 10}]}}
    assert files(writes_for(wd, v2=False, part="limits")) == [("blkio", "blkio.weight_device", "0:0 10")]


def test_negative_cpu_quota_is_unlimited_as_runc_takes_it():
    """runc 1.1.5 takes any negative quota (an int64; the kernel reads it as no limit): it
    was refused below -1 by the v1 driver."""
    assert files(writes_for({"cpu": {"quota": -5}}, v2=False, part="limits")) == [("cpu", "cpu.cfs_quota_us", "-5")]
    assert files(writes_for({"cpu": {"quota": -5}}, v2=True, part="limits")) == [("", "cpu.max", "max 100000")]
