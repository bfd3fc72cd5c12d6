"""Configs shaped like the ones Docker (20.10), Podman (4.3) and containerd's CRI (1.6)
generate: their cgroupsPath forms, capability sets, masked and readonly paths, devices
with fileMode, resources with zeros, seccomp allow lists; plus the CRI's pod (a sandbox,
and a container joining its namespaces by path)."""

import copy
import json
import os
import re
import subprocess

from harness import Call, Scenario, Shell, WaitOutput, WaitStopped, field
from scenarios_config import ROOT_PROPAGATION

DOCKER_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
               "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
               "CAP_KILL", "CAP_AUDIT_WRITE"]
PODMAN_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_NET_BIND_SERVICE",
               "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT"]
MASKED = ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
          "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"]
PODMAN_MASKED = MASKED + ["/sys/fs/selinux", "/sys/dev/block", "/sys/devices/virtual/powercap",
                          "/proc/interrupts"]
# Docker's read-only paths, with a namespaced file (the container's own hostname) in place of
# the host-global trigger file Docker lists: a runtime that got this wrong must not be able
# to reach the host.
READONLY = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sys/kernel/hostname"]
DEVICE_RULES = [{"allow": False, "access": "rwm"}] + [
    {"allow": True, "type": "c", "major": ma, "minor": mi, "access": "rwm"}
    for ma, mi in ((1, 5), (1, 3), (1, 9), (1, 8), (5, 0), (5, 1), (1, 7))] + [
    {"allow": False, "type": "c", "major": 10, "minor": 229, "access": "rwm"},
    {"allow": True, "type": "c", "major": 10, "minor": 200, "access": "rwm"},
    {"allow": True, "type": "c", "major": 136, "minor": -1, "access": "rwm"},
    {"allow": True, "type": "c", "major": 5, "minor": 2, "access": "rwm"}]


def _syscall_names() -> list[str]:
    """Every syscall name this host's kernel headers know (an engine's allow list is built
    the same way: everything known when the profile was written, minus a few)."""
    try:
        with open("/usr/include/x86_64-linux-gnu/asm/unistd_64.h") as f:
            return sorted(set(re.findall(r"#define __NR_(\w+) \d+", f.read())))
    except OSError:
        return ["read", "write", "exit", "exit_group"]


DENIED = {"mount", "umount2", "reboot", "swapon", "swapoff", "kexec_load", "kexec_file_load", "init_module",
          "finit_module", "delete_module", "pivot_root", "open_by_handle_at", "bpf", "perf_event_open",
          "add_key", "keyctl", "request_key", "unshare", "setns", "clone3", "acct", "quotactl", "lookup_dcookie",
          "move_mount", "fsopen", "fsmount", "fsconfig", "fspick", "open_tree", "userfaultfd", "ptrace",
          "syslog", "vhangup", "settimeofday", "clock_settime", "adjtimex", "clock_adjtime", "nfsservctl",
          "create_module", "get_kernel_syms", "query_module", "uselib", "iopl", "ioperm", "mkdir"}


def seccomp_allowlist(default: str = "SCMP_ACT_ERRNO", errno: int | None = 1) -> dict:
    prof = {"defaultAction": default, "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [{"names": [n for n in _syscall_names() if n not in DENIED], "action": "SCMP_ACT_ALLOW"},
                         {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}
    if errno is not None:
        prof["defaultErrnoRet"] = errno
    return prof


def docker(c: dict) -> None:
    p = c["process"]
    p["capabilities"] = {k: list(DOCKER_CAPS) for k in ("bounding", "effective", "inheritable", "permitted")}
    p["oomScoreAdj"] = 0
    p["env"] = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=0123456789ab"]
    c["hostname"] = "0123456789ab"
    c["root"]["readonly"] = False
    c["mounts"] = [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["ro", "nosuid", "noexec", "nodev"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev/shm", "type": "bind", "source": "{tmp}", "options": ["rbind", "rprivate"]},
        {"destination": "/etc/hostname", "type": "bind", "source": "{bundle}/config.json",
         "options": ["rbind", "rprivate"]},
    ]
    lx = c["linux"]
    lx["resources"] = {"devices": copy.deepcopy(DEVICE_RULES), "memory": {"disableOOMKiller": False},
                       "cpu": {"shares": 0}, "blockIO": {"weight": 0}, "pids": {"limit": 0}}
    lx["cgroupsPath"] = "/docker-{cgtoken}/{id}"
    lx["namespaces"] = [{"type": t} for t in ("mount", "network", "uts", "pid", "ipc")]
    lx["maskedPaths"] = list(MASKED)
    lx["readonlyPaths"] = list(READONLY)
    lx["seccomp"] = seccomp_allowlist()


def podman(c: dict) -> None:
    p = c["process"]
    p["capabilities"] = {k: list(PODMAN_CAPS) for k in ("bounding", "effective", "permitted")}
    p["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 1048576, "soft": 1048576},
                    {"type": "RLIMIT_NPROC", "hard": 4194304, "soft": 4194304}]
    p["env"] = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "container=podman",
                "HOME=/root", "HOSTNAME=podhost"]
    c["hostname"] = "podhost"
    c["root"]["readonly"] = False
    c["mounts"] = [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev/shm", "type": "bind", "source": "{tmp}",
         "options": ["bind", "rprivate", "nosuid", "noexec", "nodev"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["rprivate", "nosuid", "noexec", "nodev", "relatime", "ro"]},
    ]
    lx = c["linux"]
    lx["sysctl"] = {"net.ipv4.ping_group_range": "0 0"}
    lx["resources"] = {"pids": {"limit": 2048}, "devices": [{"allow": False, "access": "rwm"}]}
    lx["cgroupsPath"] = "/libpod_parent-{cgtoken}/libpod-{id}"
    lx["namespaces"] = [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount", "cgroup")]
    lx["maskedPaths"] = list(PODMAN_MASKED)
    lx["readonlyPaths"] = list(READONLY)
    lx["seccomp"] = seccomp_allowlist(errno=None)
    c["annotations"] = {"io.container.manager": "libpod", "org.opencontainers.image.stopSignal": "15"}


def cri_sandbox(c: dict) -> None:
    p = c["process"]
    p["user"] = {"uid": 65535, "gid": 65535}
    p["capabilities"] = {k: list(DOCKER_CAPS) for k in ("bounding", "effective", "permitted")}
    p["oomScoreAdj"] = -998
    p["noNewPrivileges"] = True
    c["root"]["readonly"] = True
    c["hostname"] = "sandbox-host"
    lx = c["linux"]
    lx["cgroupsPath"] = "/kubepods-{cgtoken}/besteffort/pod-{cgtoken}/{id}"
    lx["resources"] = {"devices": [{"allow": False, "access": "rwm"}], "cpu": {"shares": 2}}
    lx["namespaces"] = [{"type": t} for t in ("pid", "ipc", "uts", "mount", "network")]
    lx["maskedPaths"] = list(MASKED) + ["/sys/devices/virtual/powercap"]
    lx["readonlyPaths"] = list(READONLY)
    lx["seccomp"] = seccomp_allowlist(errno=None)
    c["annotations"] = {"io.kubernetes.cri.container-type": "sandbox", "io.kubernetes.cri.sandbox-id": "{id}"}


def cri_container(c: dict) -> None:
    cri_sandbox(c)
    c["process"]["user"] = {"uid": 0, "gid": 0, "additionalGids": [0, 10]}
    c["process"]["oomScoreAdj"] = 1000
    c["root"]["readonly"] = False
    c["linux"]["resources"] = {"devices": [{"allow": False, "access": "rwm"}],
                               "cpu": {"shares": 2, "quota": 0, "period": 100000},
                               "memory": {"limit": 0, "swap": 0}}
    c["mounts"].append({"destination": "/etc/hosts", "type": "bind", "source": "{bundle}/config.json",
                        "options": ["rbind", "rprivate", "rw"]})
    c["linux"]["rootfsPropagation"] = "rslave"
    c["annotations"] = {"io.kubernetes.cri.container-type": "container"}


def _join_sandbox(v: dict) -> None:
    """Point the container's ipc/uts/network namespaces at the running sandbox {id2}."""
    out = subprocess.run([v["prog"], "--root", v["root"], "state", v["id2"]], capture_output=True, text=True,
                         timeout=30).stdout
    try:
        pid = json.loads(out)["pid"]
    except (ValueError, KeyError):
        return
    path = os.path.join(v["bundle"], "config.json")
    with open(path) as f:
        c = json.load(f)
    for n in c["linux"]["namespaces"]:
        if n["type"] in ("ipc", "uts", "network"):
            n["path"] = f"/proc/{pid}/ns/{n['type']}"
    c["hostname"] = ""
    c["linux"]["cgroupsPath"] = c["linux"]["cgroupsPath"].replace("{id}", v["id"])
    with open(path, "w") as f:
        json.dump(c, f)


def _sandbox_bundle(v: dict) -> None:
    """The sandbox runs from the same bundle with the pause-like process (sleep)."""
    path = os.path.join(v["bundle"], "config.json")
    with open(path) as f:
        c = json.load(f)
    v["saved_config"] = json.dumps(c)
    c["process"]["args"] = ["sleep", "600"]
    c["linux"]["cgroupsPath"] = c["linux"]["cgroupsPath"].rsplit("/", 1)[0] + "/" + v["id2"]
    with open(path, "w") as f:
        json.dump(c, f)


def _restore_bundle(v: dict) -> None:
    with open(os.path.join(v["bundle"], "config.json"), "w") as f:
        f.write(v["saved_config"])


def _with(base, change):
    def both(c):
        base(c)
        change(c)
    return both


def _set(path: list[str], value):
    def change(c):
        d = c
        for p in path[:-1]:
            d = d.setdefault(p, {})
        d[path[-1]] = value
    return change


SCENARIOS: list[Scenario] = [
    Scenario("docker-default", field(), change=docker),
    Scenario("docker-readonly-rootfs", field(), change=_with(docker, _set(["root", "readonly"], True))),
    Scenario("docker-privileged", field(), change=_with(docker, lambda c: (
        c["process"].update(capabilities={k: list(DOCKER_CAPS) + ["CAP_SYS_ADMIN", "CAP_NET_ADMIN"]
                                          for k in ("bounding", "effective", "permitted")}),
        c["linux"].update(maskedPaths=[], readonlyPaths=[], resources={"devices": [{"allow": True,
                                                                                   "access": "rwm"}]}),
        c["linux"].pop("seccomp")))),
    Scenario("docker-user", field(), change=_with(docker, _set(["process", "user"], {"uid": 1000, "gid": 1000,
                                                                                  "additionalGids": [1000]}))),
    Scenario("docker-memory", field(), change=_with(docker, _set(["linux", "resources", "memory"],
                                                                 {"limit": 67108864, "swap": 134217728,
                                                                  "reservation": 0, "kernel": 0, "kernelTCP": 0,
                                                                  "swappiness": 18446744073709551615}))),
    Scenario("docker-cpu", field(), change=_with(docker, _set(["linux", "resources", "cpu"],
                                                              {"shares": 512, "quota": 50000, "period": 100000,
                                                               "cpus": "", "mems": "", "realtimeRuntime": 0,
                                                               "realtimePeriod": 0}))),
    Scenario("docker-pids", field(), change=_with(docker, _set(["linux", "resources", "pids"], {"limit": 100}))),
    Scenario("docker-blkio-zeros", field(), change=_with(docker, _set(["linux", "resources", "blockIO"],
                                                                      {"weight": 0, "leafWeight": 0}))),
    Scenario("docker-device-fuse", field(), change=_with(docker, lambda c: (
        c["linux"].setdefault("devices", []).append({"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
                                                     "fileMode": 0o666, "uid": 0, "gid": 0}),
        c["linux"]["resources"]["devices"].append({"allow": True, "type": "c", "major": 10, "minor": 229,
                                                   "access": "rwm"})))),
    Scenario("docker-sysctl", field(), change=_with(docker, _set(["linux", "sysctl"],
                                                                 {"net.ipv4.ip_unprivileged_port_start": "0"}))),
    Scenario("docker-no-seccomp", field(), change=_with(docker, lambda c: c["linux"].pop("seccomp"))),
    Scenario("docker-seccomp-allow-default", field(), change=_with(docker, _set(
        ["linux", "seccomp"], seccomp_allowlist(default="SCMP_ACT_ALLOW", errno=None)))),
    Scenario("docker-seccomp-kill-default", field(), change=_with(docker, _set(
        ["linux", "seccomp"], seccomp_allowlist(default="SCMP_ACT_KILL_PROCESS", errno=None)))),
    Scenario("docker-host-network", field(), change=_with(docker, lambda c: c["linux"].update(
        namespaces=[n for n in c["linux"]["namespaces"] if n["type"] != "network"]))),
    Scenario("docker-ulimits", field(), change=_with(docker, _set(["process", "rlimits"], [
        {"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512}, {"type": "RLIMIT_CORE", "hard": 0, "soft": 0}]))),
    Scenario("docker-tmpfs", field(), change=_with(docker, lambda c: c["mounts"].append(
        {"destination": "/run", "type": "tmpfs", "source": "tmpfs",
         "options": ["rw", "nosuid", "nodev", "noexec", "relatime", "size=65536k"]}))),
    Scenario("podman-default", field(), change=podman),
    Scenario("podman-rlimits-host", field(), change=_with(podman, _set(["process", "rlimits"], [
        {"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]))),
    Scenario("podman-device-filemode", field(), change=_with(podman, lambda c: (
        c["linux"].setdefault("devices", []).append({"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
                                                     "fileMode": 0o620, "uid": 0, "gid": 5}),
        c["linux"]["resources"]["devices"].append({"allow": True, "type": "c", "major": 10, "minor": 229,
                                                   "access": "rwm"})))),
    Scenario("podman-no-cgroupns", field(), change=_with(podman, lambda c: c["linux"].update(
        namespaces=[n for n in c["linux"]["namespaces"] if n["type"] != "cgroup"]))),
    Scenario("podman-user", field(), change=_with(podman, _set(["process", "user"], {"uid": 1000, "gid": 1000,
                                                                                  "umask": 0o22}))),
    Scenario("podman-systemd-cgroups-path", field(), change=_with(podman, _set(
        ["linux", "cgroupsPath"], "machine-{cgtoken}.slice:libpod:{id}"))),
    Scenario("cri-sandbox", field(), change=cri_sandbox),
    Scenario("cri-container", field(), change=cri_container),
    Scenario("cri-container-rshared", field(), change=_with(cri_container, _set(["linux", "rootfsPropagation"],
                                                                                 "rshared")),
             deliberate={"container.mountinfo": ROOT_PROPAGATION, "container.mountinfo.cgroup": ROOT_PROPAGATION}),
    Scenario("cri-container-cpuset", field(), change=_with(cri_container, _set(
        ["linux", "resources", "cpu"], {"shares": 2, "cpus": "0", "mems": ""}))),
    Scenario("cri-pod", [
        Shell(_sandbox_bundle),
        Call(["create", "--bundle", "{bundle}", "{id2}"]),
        Call(["start", "{id2}"]),
        Shell(_restore_bundle),
        Shell(_join_sandbox),
        Call(["create", "--bundle", "{bundle}", "{id}"]),
        Call(["start", "{id}"]),
        WaitOutput(),
        WaitStopped(),
        Call(["delete", "{id}"]),
        Call(["kill", "{id2}", "KILL"]),
        WaitStopped("{id2}"),
        Call(["delete", "{id2}"]),
    ], change=cri_container),
]
