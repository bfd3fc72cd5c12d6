"""The Plan (spec/plan.py), the seam between spec/ and the layers below: what it holds
for them once spec.load has checked a config, and its defaults (config.md,
config-linux.md: what an absent field means)."""

import os

from pyrunc.runtime.linux import consts as c
from pyrunc.spec.plan import Mount, Plan

from unit import configs


def test_an_empty_plan():
    p = Plan()
    assert p.process is None and p.hostname is None and p.domainname is None
    assert p.mounts == p.namespaces == p.uid_mappings == p.devices == p.masked_paths == []
    assert p.hooks == p.sysctl == p.annotations == p.time_offsets == p.net_devices == {}
    assert p.seccomp is None and p.memory_policy is None and p.intel_rdt is None and p.personality is None
    assert p.namespace("pid") is None and not p.root_readonly


def test_namespace_lookup(build):
    plan = build(configs.engine("podman"))
    ns = plan.namespace("cgroup")
    assert (ns.type, ns.flag, ns.path) == ("cgroup", c.CLONE_NEWCGROUP, "")
    assert plan.namespace("user") is None and plan.namespace("time") is None


def test_is_bind_from_the_type_or_the_options():
    by_type = Mount("mounts[0]", "/a", "bind", "/src", [], 0, [], "", set())
    by_flag = Mount("mounts[1]", "/b", "none", "/src", ["rbind"], c.MS_BIND | c.MS_REC, [], "", set())
    other = Mount("mounts[2]", "/c", "tmpfs", "tmpfs", [], c.MS_NOSUID, [], "", set())
    assert by_type.is_bind and by_flag.is_bind and not other.is_bind
    assert (by_type.idmap, by_type.uid_mappings, by_type.rec_set, by_type.rec_clr) == ("", [], 0, 0)


def test_mount_paths_and_recursive_attributes(build):
    cfg = configs.runc_template()
    cfg["mounts"].append({"destination": "/vol", "type": "bind", "source": "/srv", "options": ["rbind", "rro",
                                                                                             "rnosuid"]})
    plan = build(cfg)
    vol = plan.mounts[-1]
    assert vol.path == "mounts[7]"  # the kernel's later refusal is reported with it
    assert vol.options == ["rbind", "rro", "rnosuid"] and vol.flags == c.MS_BIND | c.MS_REC
    assert vol.rec_set == 0x1 | 0x2 and vol.rec_clr == 0


def test_container_wide_settings_reach_the_process(build):
    cfg = configs.engine("docker")
    cfg["linux"]["personality"] = {"domain": "LINUX"}
    plan = build(cfg)
    assert plan.process.seccomp is plan.seccomp and plan.seccomp is not None
    assert plan.process.personality == plan.personality == 0


def test_without_a_process(build):
    """config.md: process is optional (a container that only holds namespaces)."""
    cfg = configs.runc_template()
    del cfg["process"]
    plan = build(cfg)
    assert plan.process is None and plan.namespace("mount") is not None


def test_process_defaults(build):
    cfg = configs.runc_template()
    cfg["process"] = {"args": ["true"], "cwd": "/"}
    p = build(cfg).process
    assert (p.terminal, p.uid, p.gid, p.env, p.rlimits, p.capabilities) == (False, 0, 0, [], [], None)
    assert (p.no_new_privileges, p.umask, p.console_size, p.exec_cpu_affinity) == (False, None, None, None)
    cfg["process"]["execCPUAffinity"] = {"initial": "", "final": ""}
    assert build(cfg).process.exec_cpu_affinity is None  # both empty is unset


def test_id_mappings_and_mount_mappings(build, bundle):
    cfg = configs.rootless_template()
    cfg["mounts"].append({"destination": "/data", "type": "bind", "source": "data", "options": ["rbind", "idmap"],
                          "uidMappings": [{"containerID": 0, "hostID": 2000, "size": 10}],
                          "gidMappings": [{"containerID": 0, "hostID": 3000, "size": 10}]})
    plan = build(cfg)
    data = plan.mounts[-1]
    assert data.idmap == "idmap" and data.source == os.path.join(bundle, "data")
    assert [(m.container_id, m.host_id, m.size) for m in data.gid_mappings] == [(0, 3000, 10)]
    assert plan.namespace("user").flag == c.CLONE_NEWUSER
