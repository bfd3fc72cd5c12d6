"""linux.resources as spec.load checks it (config-linux.md "Control groups"): the shape of
every field, with its JSON path, before anything is made; and the engines' real bodies
(Docker's zeros, Podman's pids limit, the CRI's shares) accepted.

Only the load's behaviour is asserted here (errors and acceptance), not the form the Plan
holds the resources in: that form is the cgroup manager's input (issue 21 point 1).
"""

import pytest
from pyrunc.runtime.errors import ConfigError

from unit import configs


def with_resources(res: dict) -> dict:
    cfg = configs.runc_template()
    cfg["linux"]["resources"] = res
    return cfg


@pytest.mark.parametrize("name", ["docker", "podman", "cri-sandbox", "cri-container"])
def test_engine_resources_load(build, name):
    assert build(configs.engine(name)).resources


@pytest.mark.parametrize("res", [
    {"memory": {"limit": -1, "swap": -1, "reservation": 0, "swappiness": 2**64 - 1, "disableOOMKiller": True}},
    {"cpu": {"shares": 1024, "quota": -1, "period": 100000, "burst": 0, "idle": 1, "cpus": "0-1,3", "mems": "0",
             "realtimeRuntime": 0, "realtimePeriod": 0}},
    {"blockIO": {"weight": 500, "leafWeight": 100, "weightDevice": [{"major": 8, "minor": 0, "weight": 10}],
                 "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 2**64 - 1}]}},
    {"hugepageLimits": [{"pageSize": "2MB", "limit": 0}], "network": {"classID": 1, "priorities": []},
     "rdma": {"mlx5_1": {"hcaHandles": 3}}, "unified": {"memory.high": "max"}, "pids": {"limit": -1}},
    {"devices": [{"allow": True}, {"allow": False, "type": "b", "major": 8, "minor": -1, "access": "rw"}]},
    {"memory": {"limit": 1}, "somethingNew": {"x": [1]}},  # unknown fields are left alone
])
def test_accepted(build, res):
    assert build(with_resources(res)).resources


@pytest.mark.parametrize("res,message", [
    ("all", "linux.resources: expected an object, got a string"),
    ({"memory": []}, "linux.resources.memory: expected an object, got array"),
    ({"memory": {"limit": "1G"}}, "linux.resources.memory.limit: expected an integer, got string"),
    ({"memory": {"limit": True}}, "linux.resources.memory.limit: expected an integer, got boolean"),
    ({"memory": {"swap": 1.5}}, "linux.resources.memory.swap: expected an integer, got number"),
    ({"memory": {"limit": 2**64}}, "linux.resources.memory.limit: 18446744073709551616 does not fit in 64 bits"),
    ({"memory": {"limit": -(2**63) - 1}},
     "linux.resources.memory.limit: -9223372036854775809 does not fit in 64 bits"),
    ({"memory": {"disableOOMKiller": 1}}, "linux.resources.memory.disableOOMKiller: expected a boolean, got integer"),
    ({"cpu": {"cpus": 3}}, "linux.resources.cpu.cpus: expected a string, got integer"),
    ({"devices": {"allow": True}}, "linux.resources.devices: expected an array, got object"),
    ({"devices": [None]}, "linux.resources.devices[0]: expected a value, got null"),
    ({"devices": [{"allow": "yes"}]}, "linux.resources.devices[0].allow: expected a boolean, got string"),
    ({"devices": [{"allow": True, "type": "x"}]}, "linux.resources.devices[0].type: unknown device type 'x'"),
    ({"devices": [{"allow": True}, {"allow": False, "access": "rwx"}]},
     "linux.resources.devices[1].access: 'rwx' is not a subset of \"rwm\""),
    ({"blockIO": {"weightDevice": [{"major": "8"}]}},
     "linux.resources.blockIO.weightDevice[0].major: expected an integer, got string"),
    ({"blockIO": {"throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": [1]}]}},
     "linux.resources.blockIO.throttleWriteIOPSDevice[0].rate: expected an integer, got array"),
    ({"hugepageLimits": [{"pageSize": 2, "limit": 1}]},
     "linux.resources.hugepageLimits[0].pageSize: expected a string, got integer"),
    ({"network": {"priorities": [{"name": "eth0", "priority": "1"}]}},
     "linux.resources.network.priorities[0].priority: expected an integer, got string"),
    ({"rdma": {"mlx5_1": None}}, "linux.resources.rdma.mlx5_1: expected an object, got null"),
    ({"rdma": {"mlx5_1": {"hcaObjects": "many"}}},
     "linux.resources.rdma.mlx5_1.hcaObjects: expected an integer, got string"),
    ({"unified": {"memory.high": 5}}, "linux.resources.unified.memory.high: expected a string, got integer"),
    ({"pids": {"limit": None, "x": 1}, "pids2": 1, "cpu": {"idle": "1"}},
     "linux.resources.cpu.idle: expected an integer, got string"),
])
def test_refused_with_its_path(build, res, message):
    with pytest.raises(ConfigError) as e:
        build(with_resources(res))
    assert str(e.value) == message


def test_update_resources_checked_the_same_way():
    """``update -r``'s JSON goes through the same check, its errors named --resources."""
    from pyrunc.spec import resources

    with pytest.raises(ConfigError, match=r"^--resources.cpu.quota: expected an integer, got string$"):
        resources.check({"cpu": {"quota": "50%"}}, "--resources")
