"""spec.load: real config.json bodies (runc's template, its rootless rewrite, Docker's,
Podman's and the CRI's shapes) become the Plan the lower layers consume (config.md,
config-linux.md), and read_config's errors for a file that is not a config."""

import json
import os

import pytest
from pyrunc.runtime.errors import ConfigError, PyruncError
from pyrunc.runtime.linux import consts as c
from pyrunc.spec import load
from pyrunc.spec.caps import NUMBERS

from unit import configs


def caps(*names: str) -> list[int]:
    return [NUMBERS[n] for n in names]


def mount(plan, dest: str):
    (m,) = [m for m in plan.mounts if m.destination == dest]
    return m


def test_runc_template(build, bundle):
    plan = build(configs.runc_template())
    assert plan.oci_version == "1.3.0" and plan.bundle == bundle
    assert plan.rootfs == os.path.join(bundle, "rootfs") and plan.root_readonly
    assert plan.hostname == "runc" and plan.domainname is None
    assert [(n.type, n.flag, n.path) for n in plan.namespaces] == [
        ("pid", c.CLONE_NEWPID, ""), ("network", c.CLONE_NEWNET, ""), ("ipc", c.CLONE_NEWIPC, ""),
        ("uts", c.CLONE_NEWUTS, ""), ("mount", c.CLONE_NEWNS, ""), ("cgroup", c.CLONE_NEWCGROUP, "")]
    p = plan.process
    assert (p.terminal, p.uid, p.gid, p.args, p.cwd, p.no_new_privileges) == (True, 0, 0, ["sh"], "/", True)
    assert p.env == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"]
    want = caps("CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE")
    assert (p.capabilities.bounding, p.capabilities.effective, p.capabilities.permitted) == (want, want, want)
    assert p.capabilities.inheritable == p.capabilities.ambient == p.capabilities.unknown == []
    assert [(r.name, r.resource, r.soft, r.hard) for r in p.rlimits] == [("RLIMIT_NOFILE", 7, 1024, 1024)]
    assert p.umask is None and p.oom_score_adj is None and p.scheduler is None and p.seccomp is None
    # Mount options: flags set, filesystem data passed on as written (config.md "Mounts").
    dev = mount(plan, "/dev")
    assert (dev.type, dev.source, dev.flags, dev.data) == ("tmpfs", "tmpfs", c.MS_NOSUID | c.MS_STRICTATIME,
                                                          "mode=755,size=65536k")
    pts = mount(plan, "/dev/pts")
    assert pts.flags == c.MS_NOSUID | c.MS_NOEXEC
    assert pts.data == "newinstance,ptmxmode=0666,mode=0620,gid=5"
    assert mount(plan, "/sys").flags == c.MS_NOSUID | c.MS_NOEXEC | c.MS_NODEV | c.MS_RDONLY
    assert mount(plan, "/sys/fs/cgroup").flags == c.MS_NOSUID | c.MS_NOEXEC | c.MS_NODEV | c.MS_RELATIME | c.MS_RDONLY
    assert not any(m.is_bind or m.propagation or m.extensions or m.idmap for m in plan.mounts)
    # The template's lists, whole and in order (no host-global file named here).
    template = configs.runc_template()["linux"]
    assert plan.masked_paths == template["maskedPaths"] and plan.readonly_paths == template["readonlyPaths"]
    assert plan.hooks == {} and plan.sysctl == {} and plan.annotations == {} and plan.cgroups_path == ""


def test_runc_template_on_a_v1_host_has_no_cgroup_namespace(build):
    plan = build(configs.runc_template(cgroupns=False))
    assert plan.namespace("cgroup") is None and plan.namespace("mount") is not None


def test_rootless_template(build):
    """runc spec --rootless: a user namespace mapping the caller to 0, no network
    namespace, /sys bound from the host, no gid= option left."""
    plan = build(configs.rootless_template())
    assert [n.type for n in plan.namespaces] == ["pid", "ipc", "uts", "mount", "user"]
    assert [(m.container_id, m.host_id, m.size) for m in plan.uid_mappings] == [(0, 1000, 1)]
    assert [(m.container_id, m.host_id, m.size) for m in plan.gid_mappings] == [(0, 1000, 1)]
    sys_ = mount(plan, "/sys")
    assert sys_.is_bind and sys_.source == "/sys"
    assert sys_.flags == c.MS_BIND | c.MS_REC | c.MS_NOSUID | c.MS_NOEXEC | c.MS_NODEV | c.MS_RDONLY
    assert "gid=5" not in mount(plan, "/dev/pts").data


def test_docker_shape(build, bundle):
    plan = build(configs.engine("docker"))
    assert [n.type for n in plan.namespaces] == ["mount", "network", "uts", "pid", "ipc"]
    assert plan.cgroups_path == "/docker-t0k3n/ctr1" and plan.hostname == "0123456789ab"
    assert not plan.root_readonly
    p = plan.process
    want = caps(*configs.engines.DOCKER_CAPS)
    assert p.capabilities.bounding == p.capabilities.inheritable == want and p.capabilities.ambient == []
    assert p.oom_score_adj == 0
    shm = mount(plan, "/dev/shm")
    # rbind + rprivate: a recursive bind, made recursively private after the mount.
    assert shm.is_bind and shm.flags == c.MS_BIND | c.MS_REC and shm.propagation == [c.MS_PRIVATE | c.MS_REC]
    assert shm.source == os.path.join(bundle, "tmp")
    assert mount(plan, "/etc/hostname").source == os.path.join(bundle, "config.json")
    assert mount(plan, "/proc").flags == c.MS_NOSUID | c.MS_NOEXEC | c.MS_NODEV
    assert plan.masked_paths == configs.engines.MASKED and plan.readonly_paths == configs.engines.READONLY
    sc = plan.seccomp
    assert (sc.default_action, sc.default_errno_ret) == ("SCMP_ACT_ERRNO", 1)
    assert sc.architectures == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    # No "flags" key: runc's SPEC_ALLOW (Docker relies on it).
    assert sc.flags == ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"] and not sc.notify
    assert [r.action for r in sc.rules] == ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO"]
    assert (sc.rules[1].names, sc.rules[1].errno_ret, sc.rules[1].path) == (["clone3"], 38,
                                                                            "linux.seccomp.syscalls[1]")
    assert "mount" not in sc.rules[0].names
    # Container-wide settings the process steps apply are handed to the process.
    assert p.seccomp is sc


def test_podman_shape(build):
    plan = build(configs.engine("podman"))
    p = plan.process
    assert [(r.name, r.soft, r.hard) for r in p.rlimits] == [("RLIMIT_NOFILE", 1048576, 1048576),
                                                             ("RLIMIT_NPROC", 4194304, 4194304)]
    assert p.capabilities.bounding == caps(*configs.engines.PODMAN_CAPS) and p.capabilities.inheritable == []
    assert plan.sysctl == {"net.ipv4.ping_group_range": "0 0"}
    assert plan.annotations == {"io.container.manager": "libpod", "org.opencontainers.image.stopSignal": "15"}
    shm = mount(plan, "/dev/shm")
    assert shm.flags == c.MS_BIND | c.MS_NOSUID | c.MS_NOEXEC | c.MS_NODEV
    assert shm.propagation == [c.MS_PRIVATE | c.MS_REC]
    cg = mount(plan, "/sys/fs/cgroup")
    assert cg.type == "cgroup" and not cg.is_bind and cg.propagation == [c.MS_PRIVATE | c.MS_REC]
    assert plan.cgroups_path == "/libpod_parent-t0k3n/libpod-ctr1"
    assert plan.seccomp.default_errno_ret is None  # runc then answers EPERM


def test_cri_sandbox_and_container_shapes(build, bundle):
    sandbox = build(configs.engine("cri-sandbox"))
    p = sandbox.process
    assert (p.uid, p.gid, p.oom_score_adj, p.additional_gids) == (65535, 65535, -998, [])
    assert sandbox.root_readonly and sandbox.cgroups_path == "/kubepods-t0k3n/besteffort/pod-t0k3n/ctr1"
    assert sandbox.annotations["io.kubernetes.cri.sandbox-id"] == "ctr1"
    ctr = build(configs.engine("cri-container"))
    p = ctr.process
    assert (p.uid, p.gid, p.oom_score_adj, p.additional_gids) == (0, 0, 1000, [0, 10])
    assert ctr.rootfs_propagation == "rslave"
    hosts = mount(ctr, "/etc/hosts")
    assert hosts.flags == c.MS_BIND | c.MS_REC and hosts.propagation == [c.MS_PRIVATE | c.MS_REC]
    assert hosts.source == os.path.join(bundle, "config.json")


def test_load_reads_the_bundle(bundle):
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(configs.runc_template(), f)
    plan = load.load(os.path.relpath(bundle))
    assert plan.bundle == bundle and plan.rootfs == os.path.join(bundle, "rootfs")


def test_bind_source_relative_to_the_bundle_and_rootfs_normalised(build, bundle):
    cfg = configs.runc_template()
    cfg["root"]["path"] = "./x/../rootfs/"
    cfg["mounts"].append({"destination": "/data", "type": "bind", "source": "vol", "options": ["rbind"]})
    cfg["mounts"].append({"destination": "/abs", "source": "/srv", "options": ["bind"]})
    plan = build(cfg)
    assert plan.rootfs == os.path.join(bundle, "rootfs")
    assert mount(plan, "/data").source == os.path.join(bundle, "vol")
    absm = mount(plan, "/abs")
    assert absm.source == "/srv" and absm.is_bind and absm.type == ""


@pytest.mark.parametrize("content,message", [
    (None, "JSON specification file config.json not found"),
    (b'{"ociVersion": "1.0.2",\n "root": }', "config.json: invalid JSON at line 2 column 10: Expecting value"),
    (b'["not", "an", "object"]', "config.json: expected a JSON object at the top level"),
    (b'{"hostname": "\xff"}', "config.json: not valid UTF-8"),
    (b"[" * 100000 + b"]" * 100000, "config.json: invalid JSON at line 1 column 1: nested too deeply"),
])
def test_read_config_errors(bundle, content, message):
    if content is not None:
        with open(os.path.join(bundle, "config.json"), "wb") as f:
            f.write(content)
    with pytest.raises(PyruncError) as e:
        load.read_config(bundle)
    assert str(e.value) == message


def test_read_config_of_a_directory(bundle):
    os.mkdir(os.path.join(bundle, "config.json"))
    with pytest.raises(PyruncError, match="^config.json: is a directory$"):
        load.read_config(bundle)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_read_config_unreadable(bundle):
    path = os.path.join(bundle, "config.json")
    with open(path, "w") as f:
        f.write("{}")
    os.chmod(path, 0)
    with pytest.raises(PyruncError) as e:
        load.read_config(bundle)
    assert str(e.value) == f"open {path}: permission denied"


def test_rootfs_problems(build, bundle):
    cfg = configs.runc_template()
    cfg["root"]["path"] = "missing"
    with pytest.raises(PyruncError) as e:
        build(cfg)
    assert str(e.value) == f"invalid rootfs: stat {bundle}/missing: no such file or directory"
    open(os.path.join(bundle, "file"), "w").close()
    cfg["root"]["path"] = "file"
    with pytest.raises(PyruncError, match=f"^invalid rootfs: {bundle}/file: not a directory$"):
        build(cfg)
    os.symlink("rootfs", os.path.join(bundle, "link"))
    cfg["root"]["path"] = "link"
    with pytest.raises(PyruncError, match="^invalid rootfs: not an absolute path, or a symlink$"):
        build(cfg)


def test_process_json_for_exec():
    """exec --process: checked like config.json's process, errors named process.*."""
    p = load.load_process_json(json.dumps({"args": ["ls", "-l"], "cwd": "/tmp", "env": ["A=1"],
                                           "user": {"uid": 5, "gid": 6, "additionalGids": [7]},
                                           "capabilities": {"bounding": ["CAP_KILL", "NET_RAW", "cap_chown"]},
                                           "execCPUAffinity": {"initial": "0-1", "final": "1"},
                                           "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 4}}))
    assert (p.args, p.cwd, p.env, p.uid, p.gid, p.additional_gids) == (["ls", "-l"], "/tmp", ["A=1"], 5, 6, [7])
    # Names with or without CAP_, any case (runc's capability parsing).
    assert p.capabilities.bounding == caps("CAP_KILL", "CAP_NET_RAW", "CAP_CHOWN")
    assert p.exec_cpu_affinity == ([0, 1], [1])
    assert p.io_priority == 2 << 13 | 4
    with pytest.raises(ConfigError, match=r"^process.args: must contain at least one entry$"):
        load.load_process_json('{"args": [], "cwd": "/"}')
    with pytest.raises(PyruncError, match=r"^process: invalid JSON: Expecting value$"):
        load.load_process_json('{"args": }')
    with pytest.raises(PyruncError, match=r"^p.json: invalid JSON: nested too deeply$"):
        load.load_process_json("[" * 100000 + "]" * 100000, "p.json")


def test_unknown_capability_is_kept_for_a_warning(build):
    cfg = configs.runc_template()
    cfg["process"]["capabilities"]["ambient"] = ["CAP_KILL", "CAP_NOT_A_CAP"]
    caps_ = build(cfg).process.capabilities
    # config.md 1.3.0: unknown capabilities are a warning (with their JSON path), not an error.
    assert caps_.ambient == caps("CAP_KILL")
    assert caps_.unknown == [("process.capabilities.ambient[1]", "CAP_NOT_A_CAP")]


def test_warnings_at_load(build, capfd):
    """runc's warning for a relative mount destination; another architecture's image."""
    cfg = configs.runc_template()
    cfg["mounts"].append({"destination": "data", "type": "tmpfs", "source": "tmpfs"})
    cfg["annotations"] = {"org.opencontainers.image.architecture": "not-this-one"}
    build(cfg)
    err = capfd.readouterr().err
    assert "mount destination data is not absolute. Support for non-absolute mount destinations will be " \
           "removed in a future release." in err
    assert "annotations.org.opencontainers.image.architecture: the image is for 'not-this-one'" in err


def test_process_attributes(build):
    cfg = configs.runc_template()
    p = cfg["process"]
    p["scheduler"] = {"policy": "SCHED_FIFO", "priority": 10, "flags": ["SCHED_FLAG_RESET_ON_FORK"]}
    p["user"]["umask"] = 0o22
    p["oomScoreAdj"] = -1000
    p["consoleSize"] = {"height": 24, "width": 80}
    cfg["linux"]["personality"] = {"domain": "LINUX32"}
    cfg["linux"]["timeOffsets"] = {"monotonic": {"secs": 86400}, "boottime": {"secs": -5, "nanosecs": 7}}
    cfg["linux"]["namespaces"].append({"type": "time"})
    plan = build(cfg)
    s = plan.process.scheduler
    assert (s.policy_name, s.policy, s.priority, s.nice, s.flags) == ("SCHED_FIFO", 1, 10, 0, 0x01)
    assert plan.process.umask == 0o22 and plan.process.oom_score_adj == -1000
    assert plan.process.console_size == (24, 80)
    assert plan.personality == plan.process.personality == 0x0008
    assert plan.time_offsets == {"monotonic": (86400, 0), "boottime": (-5, 7)}


def test_devices_hooks_and_namespace_paths(build, tmp_path):
    hook = tmp_path / "hook"
    hook.write_text("#!/bin/sh\n")
    hook.chmod(0o755)
    cfg = configs.runc_template()
    cfg["linux"]["devices"] = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
                                "fileMode": 0o20666, "uid": 0, "gid": 0},
                               {"path": "/dev/pipe", "type": "p"}]
    cfg["linux"]["namespaces"][1] = {"type": "network", "path": "/var/run/netns/x"}
    cfg["hooks"] = {"createRuntime": [{"path": str(hook), "args": ["hook", "a"], "env": ["X=1"], "timeout": 5}],
                    "startContainer": [{"path": "/in/the/container"}]}
    plan = build(cfg)
    fuse, pipe = plan.devices
    # Podman sends the host node's whole st_mode: only the permission bits are kept (runc).
    assert (fuse.path, fuse.type, fuse.major, fuse.minor, fuse.file_mode) == ("/dev/fuse", "c", 10, 229, 0o666)
    assert (pipe.type, pipe.major, pipe.minor, pipe.file_mode) == ("p", 0, 0, 0o666)
    assert plan.namespace("network").path == "/var/run/netns/x"
    (h,) = plan.hooks["createRuntime"]
    assert (h.path, h.args, h.env, h.timeout, h.where) == (str(hook), ["hook", "a"], ["X=1"], 5,
                                                           "hooks.createRuntime[0]")
    # startContainer runs in the container: its path is not checked on the host.
    assert plan.hooks["startContainer"][0].path == "/in/the/container"


def test_sysctl_slash_spelling_and_namespaces(build):
    assert load.sysctl_dotted("net/ipv4/conf/eth0.1/rp_filter") == "net.ipv4.conf.eth0/1.rp_filter"
    assert load.sysctl_dotted("net.ipv4.ip_forward") == "net.ipv4.ip_forward"
    cfg = configs.runc_template()
    cfg["linux"]["sysctl"] = {"kernel.shmmax": "1", "fs.mqueue.queues_max": "2", "net/ipv4/ip_forward": "1",
                              "kernel.domainname": "d"}
    assert build(cfg).sysctl == cfg["linux"]["sysctl"]


def test_personality_flags_are_a_warning(build, capfd):
    """config-linux.md: "Currently no flag values are supported"; runc ignores them, warning."""
    cfg = configs.runc_template()
    cfg["linux"]["personality"] = {"domain": "LINUX", "flags": ["ADDR_NO_RANDOMIZE"]}
    assert build(cfg).personality == 0
    assert "linux.personality.flags: ignored (no personality flag is supported)" in capfd.readouterr().err


def test_user_sysctl_with_a_user_namespace(build):
    cfg = configs.rootless_template()
    cfg["linux"]["sysctl"] = {"user.max_user_namespaces": "10"}
    assert build(cfg).sysctl == {"user.max_user_namespaces": "10"}
