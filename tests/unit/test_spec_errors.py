"""Every kind of config.json error spec.load reports, each on runc's template with one
change: the exact message, which names the JSON path of the value at fault (config.md,
config-linux.md; runc's validator where it decides)."""

import copy
import os
import re

import pytest
from pyrunc.runtime.errors import ConfigError, PyruncError

from unit import configs

_MISSING = object()


def put(path: str, value=_MISSING):
    """A change: set (or, without a value, delete) the value at a JSON path such as
    ``linux.namespaces[0].type``; missing objects on the way are made."""
    keys: list = []
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        keys.append(int(index) if index else name)

    def change(cfg: dict) -> None:
        node = cfg
        for k in keys[:-1]:
            if isinstance(k, str) and k not in node:
                node[k] = {}
            node = node[k]
        if value is _MISSING:
            del node[keys[-1]]
        elif isinstance(node, list) and keys[-1] == len(node):
            node.append(copy.deepcopy(value))
        else:
            node[keys[-1]] = copy.deepcopy(value)

    return change


def both(*changes):
    def change(cfg: dict) -> None:
        for ch in changes:
            ch(cfg)
    return change


USERNS = both(put("linux.namespaces[6]", {"type": "user"}),
              put("linux.uidMappings", [{"containerID": 0, "hostID": 100000, "size": 65536}]),
              put("linux.gidMappings", [{"containerID": 0, "hostID": 100000, "size": 65536}]))
TIME_NS = put("linux.namespaces[6]", {"type": "time"})

CASES = [
    # --- the JSON itself, and the check module's typed access (spec/check.py) ---
    (put("hostname", "a\x00b"), "hostname: contains a NUL character"),
    (put("annotations", {"k\ud800": "v"}), "annotations.k\ud800: contains a lone UTF-16 surrogate, not valid UTF-8"),
    (put("process.args[1]", "ok\x00"), "process.args[1]: contains a NUL character"),
    (put("ociVersion"), "ociVersion: is required"),
    (put("ociVersion", 1), "ociVersion: expected a string, got an integer"),
    (put("ociVersion", "banana"), "ociVersion: 'banana' is not a valid SemVer version"),
    (put("ociVersion", "1.04.0"), "ociVersion: '1.04.0' is not a valid SemVer version"),
    (put("ociVersion", "1.3.0-"), "ociVersion: '1.3.0-' is not a valid SemVer version"),
    (put("ociVersion", "1.4.0"), "ociVersion: unsupported version '1.4.0': pyrunc supports 1.0.0 to 1.3.0"),
    (put("ociVersion", "2.0.0"), "ociVersion: unsupported version '2.0.0': pyrunc supports 1.0.0 to 1.3.0"),
    (put("root"), "root: is required on Linux"),
    (put("root", []), "root: expected an object, got an array"),
    (put("root.path"), "root.path: is required"),
    (put("root.readonly", "yes"), "root.readonly: expected a boolean, got a string"),
    (put("process", "sh"), "process: expected an object, got a string"),
    (put("process.terminal", 1), "process.terminal: expected a boolean, got an integer"),
    (put("process.args", "sh"), "process.args: expected an array, got a string"),
    (put("process.args", []), "process.args: must contain at least one entry"),
    (put("process.args", ["sh", None]), "process.args[1]: expected a string, got null"),
    (put("process.env[2]", "NOEQUALS"), "process.env[2]: 'NOEQUALS' is not of the form KEY=value"),
    (put("process.cwd", "tmp"), "process.cwd: 'tmp' must be an absolute path"),
    (put("process.user.uid", "root"), "process.user.uid: expected an integer, got a string"),
    (put("process.user.uid", 1.5), "process.user.uid: expected an integer, got a number"),
    (put("process.user.uid", -1), "process.user.uid: -1 is out of range (minimum 0)"),
    (put("process.user.gid", 2**32), "process.user.gid: 4294967296 is out of range (maximum 4294967295)"),
    (put("process.user.umask", 0o10000), "process.user.umask: 4096 is out of range (maximum 4095)"),
    (put("process.user.additionalGids", [1, "wheel"]),
     "process.user.additionalGids[1]: expected an integer, got a string"),
    (put("process.consoleSize", {"height": 70000}),
     "process.consoleSize.height: 70000 is out of range (maximum 65535)"),
    (put("process.oomScoreAdj", 1001), "process.oomScoreAdj: 1001 is out of range (maximum 1000)"),
    # --- process.rlimits, capabilities, scheduler, ioPriority, LSM ---
    (put("process.rlimits[1]", {"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}),
     "process.rlimits[1].type: unknown rlimit 'RLIMIT_BOGUS'"),
    (put("process.rlimits[1]", {"type": "RLIMIT_NOFILE", "soft": 1, "hard": 1}),
     "process.rlimits[1].type: duplicate rlimit 'RLIMIT_NOFILE'"),
    (put("process.rlimits[0].soft"), "process.rlimits[0].soft: is required"),
    (put("process.rlimits[0].hard", 2**64), "process.rlimits[0].hard: 18446744073709551616 is out of range "
                                            "(maximum 18446744073709551615)"),
    (put("process.capabilities.bounding", "CAP_KILL"),
     "process.capabilities.bounding: expected an array, got a string"),
    (put("process.scheduler", {"nice": 1}), "process.scheduler.policy: is required"),
    (put("process.scheduler", {"policy": "SCHED_FAST"}), "process.scheduler.policy: unknown scheduler policy "
                                                         "'SCHED_FAST'"),
    (put("process.scheduler", {"policy": "SCHED_ISO"}), "process.scheduler.policy: SCHED_ISO is not implemented "
                                                        "by Linux"),
    (put("process.scheduler", {"policy": "SCHED_OTHER", "nice": 20}),
     "process.scheduler.nice: 20 is out of range for SCHED_OTHER (-20..19)"),
    (put("process.scheduler", {"policy": "SCHED_RR"}), "process.scheduler.priority: SCHED_RR needs a priority "
                                                       "in 1..99, got 0"),
    (put("process.scheduler", {"policy": "SCHED_BATCH", "priority": 1}),
     "process.scheduler.priority: can only be set for SCHED_FIFO or SCHED_RR"),
    (put("process.scheduler", {"policy": "SCHED_OTHER", "flags": ["SCHED_FLAG_FAST"]}),
     "process.scheduler.flags[0]: unknown scheduler flag 'SCHED_FLAG_FAST'"),
    (put("process.scheduler", {"policy": "SCHED_OTHER", "runtime": 5}),
     "process.scheduler: runtime, deadline and period can only be set for SCHED_DEADLINE"),
    (put("process.ioPriority", {"class": "IOPRIO_CLASS_NONE", "priority": 0}),
     "process.ioPriority.class: unknown I/O priority class 'IOPRIO_CLASS_NONE'"),
    (put("process.ioPriority", {"class": "IOPRIO_CLASS_BE", "priority": 8}),
     "process.ioPriority.priority: 8 is out of range (maximum 7)"),
    (put("process.ioPriority", {"class": "IOPRIO_CLASS_BE"}), "process.ioPriority.priority: is required"),
    (put("process.execCPUAffinity", {"initial": "1-0"}), "process.execCPUAffinity.initial: '1-0': invalid "
                                                         "range '1-0'"),
    # --- mounts ---
    (put("mounts[7]", {"destination": ""}), "mounts[7].destination: must not be empty"),
    (put("mounts[7]", {"destination": 5}), "mounts[7].destination: expected a string, got an integer"),
    (put("mounts[7]", {"source": "/x"}), "mounts[7].destination: is required"),
    (put("mounts[7]", {"destination": "/x", "options": ["rbind"]}), "mounts[7].source: a bind mount needs a source"),
    (put("mounts[7]", {"destination": "/x", "type": "bind"}), "mounts[7].source: a bind mount needs a source"),
    (put("mounts[7]", {"destination": "/x", "source": "x"}),
     "mounts[7].type: is required for a mount that is not a bind mount"),
    (put("mounts[7]", {"destination": "/x", "type": "tmpfs", "options": ["nosuid", "rsync"]}),
     "mounts[7].options[1]: unknown recursive mount option 'rsync'"),
    (put("mounts[7]", {"destination": "/x", "type": "tmpfs", "options": ["idmap"]}),
     "mounts[7].options: idmapped mounts are only supported for bind mounts"),
    (put("mounts[7]", {"destination": "/x", "type": "bind", "source": "/y",
                       "uidMappings": [{"containerID": 0, "hostID": 1, "size": 1}]}),
     "mounts[7].gidMappings: uidMappings and gidMappings must be specified together"),
    (put("mounts[7]", {"destination": "/x", "type": "bind", "source": "/y", "options": ["ridmap"]}),
     "mounts[7].options: ridmap without uidMappings and gidMappings needs a user namespace to take the "
     "mapping from"),
    # --- hooks (runtime.md: the ones run in the runtime's namespaces must exist now) ---
    (put("hooks", {"prestartt": []}), "hooks.prestartt: unknown hook kind 'prestartt'"),
    (put("hooks", {"poststop": [{"path": "rel"}]}), "hooks.poststop[0].path: 'rel' must be an absolute path"),
    (put("hooks", {"poststop": [{"args": []}]}), "hooks.poststop[0].path: is required"),
    (put("hooks", {"poststop": [{"path": "/bin/true", "timeout": 0}]}),
     "hooks.poststop[0].timeout: 0 must be greater than zero"),
    (put("hooks", {"poststop": [{"path": "/bin/true", "timeout": 2**31}]}),
     "hooks.poststop[0].timeout: 2147483648 seconds is out of range"),
    (put("hooks", {"createRuntime": [{"path": "/no/such/hook"}]}),
     "hooks.createRuntime[0].path: /no/such/hook does not exist"),
    (put("hooks", {"prestart": [{"path": "/"}]}), "hooks.prestart[0].path: / is not an executable file"),
    # --- annotations ---
    (put("annotations", {"": "x"}), "annotations: keys must not be empty"),
    (put("annotations", {"a": 1}), "annotations.a: expected a string, got an integer"),
    (put("annotations", {"org.opencontainers.image.os": "windows"}),
     "annotations.org.opencontainers.image.os: the image is for 'windows', this runtime runs linux"),
    (put("annotations", {"org.opencontainers.image.stopSignal": "SIGNOPE"}),
     'annotations.org.opencontainers.image.stopSignal: unknown signal "SIGNOPE"'),
    # --- linux: namespaces, id maps, time offsets, devices, paths ---
    (put("linux.namespaces[6]", {"type": "bogus"}), "linux.namespaces[6].type: unknown namespace type 'bogus'"),
    (put("linux.namespaces[6]", {"type": "pid"}), "linux.namespaces[6].type: duplicate namespace 'pid'"),
    (put("linux.namespaces[6]", {"path": "/x"}), "linux.namespaces[6].type: is required"),
    (put("linux.namespaces[1].path", "netns"), "linux.namespaces[1].path: 'netns' must be an absolute path"),
    (put("linux.namespaces", [{"type": "pid"}]), "linux.namespaces: a mount namespace is required"),
    (both(put("linux.namespaces", [{"type": "mount"}]), put("hostname", "h")),
     "hostname: cannot set a hostname without a private UTS namespace"),
    (both(put("linux.namespaces", [{"type": "mount"}]), put("hostname"), put("domainname", "d")),
     "domainname: cannot set a domainname without a private UTS namespace"),
    (put("linux.uidMappings", [{"containerID": 0, "hostID": 1, "size": 1}]),
     "linux.uidMappings: user namespace mappings given without a user namespace"),
    (put("linux.namespaces[6]", {"type": "user"}), "linux.uidMappings: a new user namespace needs uidMappings "
                                                   "and gidMappings"),
    (both(USERNS, put("linux.uidMappings[0].size", 0)), "linux.uidMappings[0].size: 0 is out of range (minimum 1)"),
    (both(USERNS, put("linux.gidMappings[0].hostID")), "linux.gidMappings[0].hostID: is required"),
    (both(USERNS, put("linux.uidMappings[1]", {"containerID": 10, "hostID": 300000, "size": 1})),
     "linux.uidMappings[1]: containerID range overlaps linux.uidMappings[0]"),
    (both(USERNS, put("linux.uidMappings[1]", {"containerID": 70000, "hostID": 100005, "size": 1})),
     "linux.uidMappings[1]: hostID range overlaps linux.uidMappings[0]"),
    (both(USERNS, put("linux.uidMappings[0].containerID", 4294967295)),
     "linux.uidMappings[0]: the range runs past the largest 32-bit id"),
    (both(USERNS, put("linux.uidMappings", [{"containerID": i, "hostID": 100000 + i, "size": 1}
                                            for i in range(341)])),
     "linux.uidMappings: 341 ranges: the kernel takes at most 340"),
    (put("linux.timeOffsets", {"monotonic": {"secs": 1}}), "linux.timeOffsets: requires a new time namespace"),
    (both(TIME_NS, put("linux.timeOffsets", {"realtime": {"secs": 1}})),
     "linux.timeOffsets.realtime: unknown clock 'realtime'"),
    (both(TIME_NS, put("linux.timeOffsets", {"boottime": {"nanosecs": 10**9}})),
     "linux.timeOffsets.boottime.nanosecs: 1000000000 is out of range (maximum 999999999)"),
    (put("linux.devices", [{"path": "dev/x", "type": "c", "major": 1, "minor": 1}]),
     "linux.devices[0].path: 'dev/x' must be an absolute path"),
    (put("linux.devices", [{"path": "/dev/x", "type": "q", "major": 1, "minor": 1}]),
     "linux.devices[0].type: unknown device type 'q'"),
    (put("linux.devices", [{"path": "/dev/x", "type": "c", "major": 1}]),
     "linux.devices[0]: device /dev/x: major and minor are required for type 'c'"),
    (put("linux.devices", [{"path": "/dev/x", "type": "b", "major": 1, "minor": 1, "fileMode": -1}]),
     "linux.devices[0].fileMode: -1 is out of range (minimum 0)"),
    (put("linux.maskedPaths[11]", "proc/x"), "linux.maskedPaths[11]: 'proc/x' must be an absolute path"),
    (put("linux.readonlyPaths[0]", "/./.."), "linux.readonlyPaths[0]: '/./..' names the container's root"),
    (put("linux.rootfsPropagation", "sideways"), "linux.rootfsPropagation: unknown propagation 'sideways'"),
    (put("linux.cgroupsPath", ["/a"]), "linux.cgroupsPath: expected a string, got an array"),
    # --- linux.sysctl: each key must belong to a namespace of the container ---
    (put("linux.sysctl", {"kernel.shmmax": 1}), "linux.sysctl.kernel.shmmax: expected a string, got an integer"),
    (put("linux.sysctl", {"vm.swappiness": "1"}), "linux.sysctl.vm.swappiness: sysctl is not in a separate "
                                                  "kernel namespace"),
    (both(put("linux.namespaces", [{"type": "mount"}]), put("hostname"), put("linux.sysctl", {"kernel.msgmax": "1"})),
     "linux.sysctl.kernel.msgmax: sysctl is not in a separate kernel namespace (needs an ipc namespace)"),
    (both(put("linux.namespaces", [{"type": "mount"}]), put("hostname"), put("linux.sysctl", {"net/ipv4/x": "1"})),
     "linux.sysctl.net/ipv4/x: sysctl is not in a separate kernel namespace (needs a network namespace)"),
    (both(put("linux.namespaces", [{"type": "mount"}]), put("hostname"),
          put("linux.sysctl", {"kernel.hostname": "h"})),
     "linux.sysctl.kernel.hostname: sysctl is not in a separate kernel namespace (needs a uts namespace)"),
    (put("linux.sysctl", {"user.max_user_namespaces": "1"}),
     "linux.sysctl.user.max_user_namespaces: sysctl is not in a separate kernel namespace (needs a user namespace)"),
    # --- linux.netDevices, personality, memoryPolicy, intelRdt (their load checks) ---
    (put("linux.netDevices", {"eth0:1": {}}), "linux.netDevices.eth0:1: 'eth0:1' contains '/', ':' or white space"),
    (put("linux.netDevices", {"": {}}), "linux.netDevices.: must not be empty"),
    (put("linux.netDevices", {"averyveryverylongname": {}}),
     "linux.netDevices.averyveryverylongname: 'averyveryverylongname' is longer than 15 bytes"),
    (put("linux.netDevices", {"..": {}}), "linux.netDevices...: '..' is not a valid interface name"),
    (put("linux.netDevices", {"eth%d": {}}),
     "linux.netDevices.eth%d: 'eth%d': a %d template is only for the name in the container"),
    (put("linux.netDevices", {"eth0": {"name": "net%s"}}),
     "linux.netDevices.eth0.name: 'net%s': the only template is one %d"),
    (put("linux.netDevices", {"eth0": {"name": "x"}, "eth1": {"name": "x"}}),
     "linux.netDevices.eth1.name: 'x' is also the name of linux.netDevices.eth0 in the container"),
    (both(put("linux.namespaces[1]"), put("linux.netDevices", {"eth0": {}})),
     "linux.netDevices: moving network devices needs a network namespace of the container (linux.namespaces: "
     "network)"),
    (put("linux.personality", {"domain": "LINUX64"}), "linux.personality.domain: unknown personality domain "
                                                      "'LINUX64'"),
    (put("linux.personality", {}), "linux.personality.domain: is required"),
    (put("linux.memoryPolicy", {"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_NUMA_BALANCING",
                                                                            "MPOL_F_X"]}),
     "linux.memoryPolicy.flags[1]: unknown memory policy flag 'MPOL_F_X'"),
    (put("linux.intelRdt", {"closID": "a/b"}), "linux.intelRdt.closID: 'a/b' must be \"/\" or a single directory "
                                               "name"),
    (put("linux.intelRdt", {"closID": "a\nb"}), "linux.intelRdt.closID: must not contain a newline"),
    (put("linux.intelRdt", {"schemata": ["L3:0=f", 3]}), "linux.intelRdt.schemata[1]: expected a string, got an "
                                                         "integer"),
]


@pytest.mark.parametrize("change,message", CASES, ids=[m.split(":")[0] for _, m in CASES])
def test_config_error(build, change, message):
    cfg = configs.runc_template()
    change(cfg)
    with pytest.raises(PyruncError) as e:
        build(cfg)
    assert str(e.value) == message
    if isinstance(e.value, ConfigError):
        assert message.startswith(e.value.path + ": ")


def test_every_message_is_one_line():
    assert all("\n" not in m for _, m in CASES)


def test_a_hostile_value_does_not_become_the_message(build):
    """A 300 000-character path is cut: the message stays one readable line."""
    cfg = configs.runc_template()
    cfg["process"]["cwd"] = "x" * 300_000
    with pytest.raises(ConfigError) as e:
        build(cfg)
    assert str(e.value).startswith("process.cwd: 'xxx") and str(e.value).endswith("more characters)")
    assert len(str(e.value)) < 1100


def test_checks_that_ask_the_host(build):
    """An LSM label needs that LSM on this host, a mountLabel needs SELinux, moving network
    devices needs root: each one's answer depends on the host (or the user), both are checked."""
    cases = [
        (put("process.apparmorProfile", "docker-default"), os.path.isdir("/sys/kernel/security/apparmor"),
         "process.apparmorProfile: AppArmor is not enabled on this host (/sys/kernel/security/apparmor is absent)"),
        (put("process.selinuxLabel", "system_u:system_r:container_t:s0"), os.path.isdir("/sys/fs/selinux"),
         "process.selinuxLabel: SELinux is not enabled on this host (/sys/fs/selinux is absent)"),
        (put("linux.mountLabel", "system_u:object_r:container_file_t:s0"), os.path.isdir("/sys/fs/selinux"),
         "linux.mountLabel: SELinux is not enabled on this host"),
        (put("linux.netDevices", {"eth0": {}}), os.geteuid() == 0,
         "linux.netDevices: network devices are not supported for rootless containers"),
    ]
    for change, accepted, message in cases:
        cfg = configs.runc_template()
        change(cfg)
        if accepted:
            build(cfg)
        else:
            with pytest.raises(ConfigError) as e:
                build(cfg)
            assert str(e.value) == message
