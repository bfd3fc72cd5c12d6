"""Scenarios over config.json: runc's default, then every field runc 1.1.5 implements, one
at a time, with a typical value and the edges (empty, zero, the largest, missing files,
symlinks in the rootfs).  Each runs create / start / delete with the probe as the process
(harness.field), so the CLI, the container and the host are all compared."""

import os

from harness import Call, Collect, Scenario, Shell, WaitOutput, WaitStopped, field, lifecycle, run_once


def put(path: str, value) -> list[dict]:
    """A JSON patch setting one field (made if missing)."""
    return [{"op": "add", "path": path, "value": value}]


def drop(path: str) -> list[dict]:
    return [{"op": "remove", "path": path}]


def F(name: str, change, **kw) -> Scenario:
    """One field's scenario."""
    return Scenario(name, kw.pop("steps", None) or field(), change=change, **kw)


def _ns_without(t: str):
    def change(c):
        c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != t]
    return change


def _ns_add(entry: dict):
    def change(c):
        c["linux"]["namespaces"].append(entry)
    return change


USERNS_MAPS = [{"op": "add", "path": "/linux/uidMappings", "value": [{"containerID": 0, "hostID": 200000,
                                                                        "size": 65536}]},
               {"op": "add", "path": "/linux/gidMappings", "value": [{"containerID": 0, "hostID": 200000,
                                                                        "size": 65536}]}]


def _userns(c):
    c["linux"]["namespaces"].append({"type": "user"})
    for op in USERNS_MAPS:
        c["linux"][op["path"].split("/")[-1]] = op["value"]


def _chown_rootfs(uid: int):
    def change(rootfs: str) -> None:
        for d, dirs, files in os.walk(rootfs):
            os.lchown(d, uid, uid)
            for x in dirs + files:
                os.lchown(os.path.join(d, x), uid, uid)
    return change


def _mount(m: dict):
    def change(c):
        c["mounts"].append(m)
    return change


def _symlink(target: str, link: str):
    def change(rootfs: str) -> None:
        p = os.path.join(rootfs, link.lstrip("/"))
        if os.path.isdir(p) and not os.path.islink(p):
            os.rmdir(p)
        os.symlink(target, p)
    return change


def _file(path: str, text: str = "x\n", mode: int = 0o644):
    def change(rootfs: str) -> None:
        p = os.path.join(rootfs, path.lstrip("/"))
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)
    return change


def _res(section: str, value):
    def change(c):
        c["linux"].setdefault("resources", {})[section] = value
    return change


def _cap_set(caps: list[str]):
    def change(c):
        c["process"]["capabilities"] = {k: list(caps) for k in ("bounding", "effective", "permitted")}
    return change


ALL_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
            "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
            "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
            "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
            "CAP_SYS_NICE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
            "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
            "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
            "CAP_CHECKPOINT_RESTORE"]

ROOT_PROPAGATION = (
    "config-linux.md (Rootfs Mount Propagation): rootfsPropagation is the propagation of the container's "
    "root; pyrunc sets it on / after pivot_root (recursively for an r* value), as runc does since its fix "
    "of issue 1755 (PR 4724, 1.2.x backport PR 4791); runc 1.1.5 leaves the new root private, so its "
    "mountinfo shows no shared:N peer group")
SPEC13 = "a runtime-spec 1.3.0 field runc 1.1.5 does not know (it ignores it); pyrunc implements it"

SCENARIOS: list[Scenario] = [
    Scenario("default-run", run_once()),
    Scenario("default-run-detach", [*run_once("--detach"), *lifecycle()[4:]], hold=True),
    Scenario("default-lifecycle", lifecycle(), hold=True),
    Scenario("default-field", field()),
]

# ---------------------------------------------------------------- process.user
for name, change in [
    ("user-1000", [{"op": "replace", "path": "/process/user", "value": {"uid": 1000, "gid": 1000}}]),
    ("user-nobody", [{"op": "replace", "path": "/process/user", "value": {"uid": 65534, "gid": 65534}}]),
    ("user-uid-only", [{"op": "replace", "path": "/process/user", "value": {"uid": 1000}}]),
    ("user-gid-only", [{"op": "replace", "path": "/process/user", "value": {"gid": 1000}}]),
    ("user-additional-gids", put("/process/user/additionalGids", [5, 100, 65534])),
    ("user-additional-gids-empty", put("/process/user/additionalGids", [])),
    ("user-1000-additional-gids", [{"op": "replace", "path": "/process/user",
                                    "value": {"uid": 1000, "gid": 1000, "additionalGids": [5]}}]),
    ("user-largest-uid", [{"op": "replace", "path": "/process/user", "value": {"uid": 4294967294, "gid": 0}}]),
    ("user-umask-0", put("/process/user/umask", 0)),
    ("user-umask-077", put("/process/user/umask", 0o77)),
    ("user-umask-0777", put("/process/user/umask", 0o777)),
    ("user-missing", drop("/process/user")),
]:
    SCENARIOS.append(F(name, change))

# ---------------------------------------------------------------- process.args / env / cwd
for name, change, kw in [
    ("args-relative-in-path", put("/process/args", ["sh", "/probe.sh"]), {}),
    ("args-missing-program", put("/process/args", ["/nosuch"]), {"probe": False}),
    ("args-missing-in-path", put("/process/args", ["nosuch"]), {"probe": False}),
    ("args-directory", put("/process/args", ["/tmp"]), {"probe": False}),
    ("args-not-executable", put("/process/args", ["/etc/passwd"]), {"probe": False}),
    ("args-empty", put("/process/args", []), {"probe": False}),
    ("args-missing", drop("/process/args"), {"probe": False}),
    ("args-dot-slash", put("/process/args", ["./bin/sh", "/probe.sh"]), {}),
    ("env-empty", put("/process/env", []), {"token": False}),
    ("env-missing", drop("/process/env"), {"token": False}),
    ("env-no-path", put("/process/env", ["TERM=xterm"]), {}),
    ("env-duplicate", put("/process/env", ["A=1", "A=2", "PATH=/bin"]), {}),
    ("env-no-equals", put("/process/env", ["NOEQUALS", "PATH=/bin"]), {}),
    ("env-empty-value", put("/process/env", ["EMPTY=", "PATH=/bin"]), {}),
    ("env-long", put("/process/env", ["LONG=" + "x" * 100000, "PATH=/bin"]), {}),
    ("cwd-tmp", put("/process/cwd", "/tmp"), {}),
    ("cwd-missing-dir", put("/process/cwd", "/made/by/runtime"), {}),
    ("cwd-relative", put("/process/cwd", "tmp"), {}),
    ("cwd-empty", put("/process/cwd", ""), {}),
    ("cwd-file", put("/process/cwd", "/etc/passwd"), {}),
    ("cwd-symlink-dir", put("/process/cwd", "/lnk"), {"rootfs": _symlink("tmp", "lnk")}),
    ("cwd-symlink-out", put("/process/cwd", "/lnk"), {"rootfs": _symlink("/../../../../etc", "lnk")}),
    ("cwd-root-as-1000", [{"op": "replace", "path": "/process/user", "value": {"uid": 1000, "gid": 1000}},
                          *put("/process/cwd", "/root")],
     {"rootfs": lambda r: os.chmod(os.path.join(r, "root"), 0o700)}),
]:
    SCENARIOS.append(F(name, change, **kw))

# ---------------------------------------------------------------- process.capabilities
for name, change in [
    ("caps-none", put("/process/capabilities", {})),
    ("caps-missing", drop("/process/capabilities")),
    ("caps-all", _cap_set(ALL_CAPS)),
    ("caps-sys-admin", _cap_set(["CAP_SYS_ADMIN"])),
    ("caps-unknown-name", _cap_set(["CAP_FOO", "CAP_KILL"])),
    ("caps-sys-resource", _cap_set(["CAP_SYS_RESOURCE", "CAP_KILL"])),
    ("caps-effective-not-permitted", put("/process/capabilities",
                                         {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL", "CAP_CHOWN"],
                                          "permitted": ["CAP_KILL"]})),
    ("caps-inheritable-ambient", put("/process/capabilities",
                                     {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"],
                                      "inheritable": ["CAP_KILL"], "ambient": ["CAP_KILL"]})),
    ("caps-bounding-only", put("/process/capabilities", {"bounding": ["CAP_KILL", "CAP_CHOWN"]})),
    ("caps-user-1000-ambient", [{"op": "replace", "path": "/process/user", "value": {"uid": 1000, "gid": 1000}},
                                *put("/process/capabilities",
                                     {"bounding": ["CAP_NET_RAW"], "effective": ["CAP_NET_RAW"],
                                      "permitted": ["CAP_NET_RAW"], "inheritable": ["CAP_NET_RAW"],
                                      "ambient": ["CAP_NET_RAW"]})]),
    ("caps-user-1000-no-ambient", [{"op": "replace", "path": "/process/user", "value": {"uid": 1000, "gid": 1000}},
                                   *put("/process/capabilities/ambient", [])]),
]:
    SCENARIOS.append(F(name, change))

# ---------------------------------------------------------------- process.rlimits, noNewPrivileges, oomScoreAdj
for name, change in [
    ("rlimits-empty", put("/process/rlimits", [])),
    ("rlimits-missing", drop("/process/rlimits")),
    ("rlimits-nofile-low", put("/process/rlimits", [{"type": "RLIMIT_NOFILE", "hard": 64, "soft": 32}])),
    ("rlimits-core-zero", put("/process/rlimits", [{"type": "RLIMIT_CORE", "hard": 0, "soft": 0}])),
    ("rlimits-nproc", put("/process/rlimits", [{"type": "RLIMIT_NPROC", "hard": 100, "soft": 50}])),
    ("rlimits-stack-unlimited", put("/process/rlimits", [{"type": "RLIMIT_STACK", "hard": 18446744073709551615,
                                                           "soft": 18446744073709551615}])),
    ("rlimits-many", put("/process/rlimits", [{"type": t, "hard": 1000, "soft": 1000} for t in
                                              ("RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_MSGQUEUE", "RLIMIT_SIGPENDING",
                                               "RLIMIT_LOCKS", "RLIMIT_MEMLOCK")])),
    ("rlimits-soft-above-hard", put("/process/rlimits", [{"type": "RLIMIT_NOFILE", "hard": 10, "soft": 20}])),
    ("rlimits-unknown-type", put("/process/rlimits", [{"type": "RLIMIT_FOO", "hard": 1, "soft": 1}])),
    ("rlimits-duplicate", put("/process/rlimits", [{"type": "RLIMIT_NOFILE", "hard": 100, "soft": 100},
                                                    {"type": "RLIMIT_NOFILE", "hard": 200, "soft": 200}])),
    ("rlimits-above-host-hard", put("/process/rlimits", [{"type": "RLIMIT_NOFILE", "hard": 1 << 30,
                                                           "soft": 1 << 30}])),
    ("nnp-false", put("/process/noNewPrivileges", False)),
    ("nnp-missing", drop("/process/noNewPrivileges")),
    ("oom-score-adj-500", put("/process/oomScoreAdj", 500)),
    ("oom-score-adj-min", put("/process/oomScoreAdj", -1000)),
    ("oom-score-adj-max", put("/process/oomScoreAdj", 1000)),
    ("oom-score-adj-zero", put("/process/oomScoreAdj", 0)),
    ("oom-score-adj-too-large", put("/process/oomScoreAdj", 1001)),
    ("apparmor-unconfined", put("/process/apparmorProfile", "unconfined")),
    ("apparmor-missing-profile", put("/process/apparmorProfile", "no-such-profile")),
    ("selinux-label", put("/process/selinuxLabel", "system_u:system_r:container_t:s0")),
]:
    SCENARIOS.append(F(name, change))

for name, change in [
    ("io-priority", put("/process/ioPriority", {"class": "IOPRIO_CLASS_BE", "priority": 4})),
    ("scheduler", put("/process/scheduler", {"policy": "SCHED_BATCH"})),

    ("personality-linux32", put("/linux/personality", {"domain": "LINUX32"})),
]:
    SCENARIOS.append(F(name, change))  # deliberate differences: _DELIBERATE below
# execCPUAffinity is the affinity of an exec'd process (config.md, runtime-spec 1.2+)
SCENARIOS.append(Scenario("exec-cpu-affinity", [
    Call(["create", "--bundle", "{bundle}", "{id}"]), Call(["start", "{id}"]), WaitOutput(),
    Call(["exec", "{id}", "grep", "Cpus_allowed_list", "/proc/self/status"]),
    Call(["kill", "{id}", "KILL"]), WaitStopped(), Call(["delete", "{id}"])], hold=True,
    change=put("/process/execCPUAffinity", {"initial": "0", "final": "0"})))

# ---------------------------------------------------------------- root, hostname, domainname, annotations
for name, change, kw in [
    ("root-writable", put("/root/readonly", False), {}),
    ("root-readonly-missing", drop("/root/readonly"), {}),
    ("root-path-missing", put("/root/path", "nosuch"), {"probe": False}),
    ("root-path-absolute", put("/root/path", "{bundle}/rootfs"), {}),
    ("root-path-file", put("/root/path", "config.json"), {"probe": False}),
    ("root-path-symlink", put("/root/path", "rootfs-link"), {"steps": None}),
    ("hostname-empty", put("/hostname", ""), {}),
    ("hostname-largest", put("/hostname", "h" * 64), {}),
    ("hostname-too-long", put("/hostname", "h" * 65), {}),
    ("hostname-missing", drop("/hostname"), {}),
    ("hostname-without-uts", [*put("/hostname", "x")], {"change2": _ns_without("uts")}),
    ("domainname", put("/domainname", "example.org"), {}),
    ("domainname-without-uts", put("/domainname", "example.org"), {"change2": _ns_without("uts")}),
    ("annotations", put("/annotations", {"org.example.a": "1", "b": ""}), {}),
    ("annotations-empty", put("/annotations", {}), {}),
]:
    change2 = kw.pop("change2", None)
    if change2 is not None:
        patch = change

        def both(c, patch=patch, change2=change2):
            from harness import apply_patch
            apply_patch(c, patch)
            change2(c)
        change = both
    if name == "root-path-symlink":
        kw["rootfs"] = lambda r: os.symlink("rootfs", os.path.join(os.path.dirname(r), "rootfs-link"))
    SCENARIOS.append(F(name, change, **kw))

# ---------------------------------------------------------------- mounts
for name, m, kw in [
    ("mount-bind-dir-ro", {"destination": "/mnt", "type": "bind", "source": "{tmp}", "options": ["bind", "ro"]}, {}),
    ("mount-rbind", {"destination": "/mnt", "type": "none", "source": "{tmp}", "options": ["rbind"]}, {}),
    ("mount-bind-no-type", {"destination": "/mnt", "source": "{tmp}", "options": ["bind"]}, {}),
    ("mount-bind-file", {"destination": "/etc/hostname", "type": "bind", "source": "{bundle}/config.json",
                         "options": ["bind", "ro"]}, {}),
    ("mount-bind-missing-source", {"destination": "/mnt", "type": "bind", "source": "/nonexistent/x",
                                   "options": ["bind"]}, {}),
    ("mount-bind-dest-missing", {"destination": "/made/here", "type": "bind", "source": "{tmp}",
                                 "options": ["bind"]}, {}),
    ("mount-bind-nosuid-nodev-noexec", {"destination": "/mnt", "type": "bind", "source": "{tmp}",
                                        "options": ["bind", "nosuid", "nodev", "noexec"]}, {}),
    ("mount-bind-rprivate", {"destination": "/mnt", "type": "bind", "source": "{tmp}",
                             "options": ["rbind", "rprivate"]}, {}),
    ("mount-bind-rslave", {"destination": "/mnt", "type": "bind", "source": "{tmp}",
                           "options": ["rbind", "rslave"]}, {}),
    ("mount-bind-rshared", {"destination": "/mnt", "type": "bind", "source": "{tmp}",
                            "options": ["rbind", "rshared"]}, {}),
    ("mount-tmpfs", {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}, {}),
    ("mount-tmpfs-mode", {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                          "options": ["mode=1777", "nosuid", "nodev", "size=65536k"]}, {}),
    ("mount-tmpfs-noatime", {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                             "options": ["noatime", "nodiratime"]}, {}),
    ("mount-tmpfs-strictatime", {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                                 "options": ["strictatime"]}, {}),
    ("mount-tmpfs-unknown-option", {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                                    "options": ["nosuchoption"]}, {}),
    ("mount-dest-symlink-in-rootfs", {"destination": "/lnk", "type": "tmpfs", "source": "tmpfs"},
     {"rootfs": _symlink("tmp", "lnk")}),
    ("mount-dest-symlink-out", {"destination": "/lnk", "type": "tmpfs", "source": "tmpfs"},
     {"rootfs": _symlink("/../../../../../../tmp", "lnk")}),
    ("mount-dest-relative", {"destination": "mnt", "type": "tmpfs", "source": "tmpfs"}, {}),
    ("mount-dest-dotdot", {"destination": "/tmp/../mnt", "type": "tmpfs", "source": "tmpfs"}, {}),
    ("mount-proc-twice", {"destination": "/mnt", "type": "proc", "source": "proc"}, {}),
    ("mount-mqueue-extra", {"destination": "/mnt", "type": "mqueue", "source": "mqueue"}, {}),
    ("mount-devpts-extra", {"destination": "/mnt", "type": "devpts", "source": "devpts",
                            "options": ["newinstance", "ptmxmode=0666"]}, {}),
    ("mount-unknown-type", {"destination": "/mnt", "type": "nosuchfs", "source": "x"}, {}),
    ("mount-sysfs-proc-symlink", {"destination": "/mnt", "type": "tmpfs", "source": "tmpfs"},
     {"rootfs": _symlink("mnt", "proc")}),
    ("mount-bind-ro-recursive", {"destination": "/mnt", "type": "bind", "source": "{tmp}",
                                 "options": ["rbind", "ro"]}, {}),
    ("mount-bind-remount-flags", {"destination": "/mnt", "type": "bind", "source": "{tmp}",
                                  "options": ["bind", "ro", "nosuid", "relatime"]}, {}),
]:
    SCENARIOS.append(F(name, _mount(m), **kw))

SCENARIOS += [
    F("mounts-empty", put("/mounts", [])),
    F("mounts-missing", drop("/mounts")),
    F("mount-sys-symlink", None, rootfs=_symlink("tmp", "sys")),
    F("mount-dev-symlink", None, rootfs=_symlink("tmp", "dev")),
    F("mount-over-file-with-dir", _mount({"destination": "/etc/passwd", "type": "tmpfs", "source": "tmpfs"})),
]

# ---------------------------------------------------------------- namespaces and id mappings
for t in ("pid", "network", "ipc", "uts", "mount"):
    SCENARIOS.append(F(f"ns-without-{t}", _ns_without(t)))
SCENARIOS += [
    F("ns-cgroup", _ns_add({"type": "cgroup"})),
    F("ns-user", _userns, rootfs=_chown_rootfs(200000)),
    F("ns-user-no-maps", _ns_add({"type": "user"})),
    F("ns-maps-without-user", USERNS_MAPS),
    F("ns-time", _ns_add({"type": "time"})),
    F("ns-unknown", _ns_add({"type": "nosuch"})),
    F("ns-duplicate", _ns_add({"type": "pid"})),
    F("ns-net-host-path", lambda c: [n.update(path="/proc/1/ns/net") for n in c["linux"]["namespaces"]
                                     if n["type"] == "network"]),
    F("ns-path-missing", lambda c: [n.update(path="/nonexistent/ns") for n in c["linux"]["namespaces"]
                                    if n["type"] == "network"]),
    F("ns-path-not-ns", lambda c: [n.update(path="/etc/hostname") for n in c["linux"]["namespaces"]
                                   if n["type"] == "network"]),
    F("ns-path-wrong-type", lambda c: [n.update(path="/proc/1/ns/uts") for n in c["linux"]["namespaces"]
                                       if n["type"] == "network"]),
    F("ns-user-size-zero", lambda c: (_userns(c), c["linux"]["uidMappings"][0].update(size=0)),
      rootfs=_chown_rootfs(200000)),
    F("ns-user-two-ranges", lambda c: (_userns(c), c["linux"].update(
        uidMappings=[{"containerID": 0, "hostID": 200000, "size": 1000},
                     {"containerID": 1000, "hostID": 300000, "size": 1000}])), rootfs=_chown_rootfs(200000)),
    F("ns-user-without-mount-ns", lambda c: (_userns(c), _ns_without("mount")(c)), rootfs=_chown_rootfs(200000)),
]

# ---------------------------------------------------------------- sysctl
for name, value in [
    ("sysctl-ip-forward", {"net.ipv4.ip_forward": "1"}),
    ("sysctl-ping-group-range", {"net.ipv4.ping_group_range": "0 2147483647"}),
    ("sysctl-shmmax", {"kernel.shmmax": "1000000"}),
    ("sysctl-msgmax", {"kernel.msgmax": "4096"}),
    ("sysctl-mqueue", {"fs.mqueue.msg_max": "20"}),
    ("sysctl-not-namespaced", {"kernel.pid_max": "40000"}),
    ("sysctl-unknown", {"net.ipv4.nosuch": "1"}),
    ("sysctl-empty", {}),
    ("sysctl-slash-form", {"net/ipv4/ip_forward": "1"}),
    ("sysctl-bad-value", {"net.ipv4.ip_forward": "notanumber"}),
]:
    SCENARIOS.append(F(name, put("/linux/sysctl", value)))
SCENARIOS.append(F("sysctl-net-without-netns", lambda c: (c["linux"].update(sysctl={"net.ipv4.ip_forward": "1"}),
                                                          _ns_without("network")(c))))
SCENARIOS.append(F("sysctl-ipc-without-ipcns", lambda c: (c["linux"].update(sysctl={"kernel.shmmax": "1000000"}),
                                                          _ns_without("ipc")(c))))

# ---------------------------------------------------------------- masked and readonly paths, propagation
for name, change, kw in [
    ("masked-empty", put("/linux/maskedPaths", []), {}),
    ("masked-missing", drop("/linux/maskedPaths"), {}),
    ("masked-file", put("/linux/maskedPaths", ["/etc/passwd"]), {}),
    ("masked-dir", put("/linux/maskedPaths", ["/home"]), {}),
    ("masked-nonexistent", put("/linux/maskedPaths", ["/nosuch/path"]), {}),
    ("masked-symlink", put("/linux/maskedPaths", ["/lnk"]), {"rootfs": _symlink("/etc/passwd", "lnk")}),
    ("readonly-empty", put("/linux/readonlyPaths", []), {}),
    ("readonly-missing", drop("/linux/readonlyPaths"), {}),
    ("readonly-dir", put("/linux/readonlyPaths", ["/home"]), {}),
    ("readonly-file", put("/linux/readonlyPaths", ["/etc/passwd"]), {}),
    ("readonly-nonexistent", put("/linux/readonlyPaths", ["/nosuch"]), {}),
    ("propagation-private", put("/linux/rootfsPropagation", "private"), {}),
    ("propagation-rprivate", put("/linux/rootfsPropagation", "rprivate"), {}),
    ("propagation-slave", put("/linux/rootfsPropagation", "slave"), {}),
    ("propagation-rslave", put("/linux/rootfsPropagation", "rslave"), {}),
    ("propagation-shared", put("/linux/rootfsPropagation", "shared"),
     {"deliberate": {"container.mountinfo": ROOT_PROPAGATION}}),
    ("propagation-unbindable", put("/linux/rootfsPropagation", "unbindable"), {}),
    ("propagation-bad", put("/linux/rootfsPropagation", "sideways"), {}),
    ("mount-label", put("/linux/mountLabel", "system_u:object_r:container_file_t:s0"), {}),
]:
    SCENARIOS.append(F(name, change, **kw))

# ---------------------------------------------------------------- devices
for name, devs in [
    ("devices-fuse", [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438,
                       "uid": 0, "gid": 0}]),
    ("devices-no-filemode", [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]),
    ("devices-owner", [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o600,
                        "uid": 1000, "gid": 5}]),
    ("devices-block-loop", [{"path": "/dev/loop-diff", "type": "b", "major": 7, "minor": 0, "fileMode": 0o660}]),
    ("devices-in-subdir", [{"path": "/dev/net/tun", "type": "c", "major": 10, "minor": 200, "fileMode": 0o666}]),
    ("devices-default-path", [{"path": "/dev/null", "type": "c", "major": 1, "minor": 3}]),
    ("devices-fifo", [{"path": "/dev/diff-fifo", "type": "p"}]),
    ("devices-bad-type", [{"path": "/dev/x", "type": "z", "major": 1, "minor": 1}]),
    ("devices-outside-dev", [{"path": "/tmp/fuse", "type": "c", "major": 10, "minor": 229}]),
    ("devices-empty", []),
]:
    SCENARIOS.append(F(name, put("/linux/devices", devs)))

for name, rules in [
    ("device-rules-allow-all", [{"allow": True, "access": "rwm"}]),
    ("device-rules-empty", []),
    ("device-rules-fuse", [{"allow": False, "access": "rwm"},
                           {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"}]),
    ("device-rules-deny-null", [{"allow": False, "access": "rwm"},
                                {"allow": False, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]),
    ("device-rules-wildcard", [{"allow": False, "access": "rwm"},
                               {"allow": True, "type": "c", "major": 4, "access": "r"}]),
    ("device-rules-bad-access", [{"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwx"}]),
]:
    SCENARIOS.append(F(name, put("/linux/resources/devices", rules)))

# ---------------------------------------------------------------- resources
for name, section, value in [
    ("memory-limit", "memory", {"limit": 67108864}),
    ("memory-limit-unlimited", "memory", {"limit": -1}),
    ("memory-reservation", "memory", {"reservation": 33554432}),
    ("memory-swap", "memory", {"limit": 67108864, "swap": 134217728}),
    ("memory-swap-below-limit", "memory", {"limit": 134217728, "swap": 67108864}),
    ("memory-swappiness-0", "memory", {"swappiness": 0}),
    ("memory-swappiness-100", "memory", {"swappiness": 100}),
    ("memory-swappiness-101", "memory", {"swappiness": 101}),
    ("memory-kernel-tcp", "memory", {"kernelTCP": 67108864}),
    ("memory-disable-oom-killer", "memory", {"disableOOMKiller": True}),
    ("memory-tiny", "memory", {"limit": 4096}),
    ("memory-zeros", "memory", {"limit": 0, "reservation": 0, "swap": 0}),
    ("cpu-shares", "cpu", {"shares": 512}),
    ("cpu-shares-max", "cpu", {"shares": 262144}),
    ("cpu-shares-1", "cpu", {"shares": 1}),
    ("cpu-quota", "cpu", {"quota": 50000, "period": 100000}),
    ("cpu-quota-unlimited", "cpu", {"quota": -1}),
    ("cpu-period-only", "cpu", {"period": 50000}),
    ("cpu-cpus", "cpu", {"cpus": "0"}),
    ("cpu-cpus-range", "cpu", {"cpus": "0-1"}),
    ("cpu-cpus-absent-cpu", "cpu", {"cpus": "7"}),
    ("cpu-mems", "cpu", {"mems": "0"}),
    ("cpu-realtime", "cpu", {"realtimeRuntime": 1000, "realtimePeriod": 1000000}),
    ("cpu-zeros", "cpu", {"shares": 0, "quota": 0, "period": 0}),
    ("pids-limit", "pids", {"limit": 10}),
    ("pids-unlimited", "pids", {"limit": -1}),
    ("pids-zero", "pids", {"limit": 0}),
    ("blkio-weight", "blockIO", {"weight": 500}),
    ("blkio-weight-zero", "blockIO", {"weight": 0}),
    ("blkio-weight-bad", "blockIO", {"weight": 5}),
    ("blkio-throttle", "blockIO", {"throttleReadBpsDevice": [{"major": 1, "minor": 3, "rate": 1048576}]}),
    # no major/minor: runc writes Go's zeros ("0:0"), which the kernel refuses (no such device)
    ("blkio-throttle-no-device", "blockIO", {"throttleReadBpsDevice": [{"rate": 1048576}]}),
    ("blkio-weight-device-no-device", "blockIO", {"weightDevice": [{"weight": 100}]}),
    ("cpu-quota-negative", "cpu", {"quota": -5}),  # any negative quota is no limit (the kernel's reading)
    ("hugepage-limits", "hugepageLimits", [{"pageSize": "2MB", "limit": 2097152}]),
    ("network-classid", "network", {"classID": 1048577}),
    ("resources-empty", "memory", {}),
]:
    SCENARIOS.append(F(name, _res(section, value)))
SCENARIOS.append(F("resources-missing", drop("/linux/resources")))


def _frozen(v: dict) -> None:
    """A freezer cgroup, frozen, for cgroupsPath to name."""
    d = f"/sys/fs/cgroup/freezer/diff-{v['cgtoken']}-frozen"
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "freezer.state"), "w") as f:
        f.write("FROZEN")


SCENARIOS.append(Scenario("cgroups-path-frozen", [Shell(_frozen), Call(["create", "--bundle", "{bundle}", "{id}"],
                                                                       timeout=10), Call(["delete", "-f", "{id}"])],
                          change=put("/linux/cgroupsPath", "/diff-{cgtoken}-frozen")))
SCENARIOS.append(F("resources-unified-on-v1", _res("unified", {"memory.max": "1000000"})))

# ---------------------------------------------------------------- cgroupsPath
for name, path in [
    ("cgroups-path-absolute", "/diff-{cgtoken}"),
    ("cgroups-path-relative", "diff-{cgtoken}"),
    ("cgroups-path-deep", "/diff-{cgtoken}/a/b/c"),
    ("cgroups-path-systemd-form", "diff.slice:{cgtoken}:x"),
    ("cgroups-path-empty", ""),
]:
    SCENARIOS.append(F(name, put("/linux/cgroupsPath", path)))

# ---------------------------------------------------------------- hooks
HOOK = {"path": "/bin/sh", "args": ["sh", "-c", "cat > {tmp}/hook-%s.json"]}


def _hooks(*kinds: str, fail: str = ""):
    def change(c):
        hooks = {}
        for k in kinds:
            h = {**HOOK, "args": [HOOK["args"][0], HOOK["args"][1], HOOK["args"][2] % k]}
            if k == fail:
                h["args"] = ["sh", "-c", "echo hook says no >&2; exit 3"]
            hooks.setdefault(k, []).append(h)
        c["hooks"] = hooks
    return change


for kinds, fail in [
    (("prestart",), ""), (("createRuntime",), ""), (("createContainer",), ""), (("startContainer",), ""),
    (("poststart",), ""), (("poststop",), ""),
    (("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"), ""),
    (("createRuntime",), "createRuntime"), (("prestart",), "prestart"), (("poststart",), "poststart"),
    (("poststop",), "poststop"), (("startContainer",), "startContainer"),
]:
    nm = "hooks-" + ("all" if len(kinds) > 1 else kinds[0]) + ("-fails" if fail else "")
    SCENARIOS.append(F(nm, _hooks(*kinds, fail=fail)))
SCENARIOS += [
    F("hooks-missing-program", put("/hooks", {"prestart": [{"path": "/nonexistent/hook"}]})),
    F("hooks-relative-path", put("/hooks", {"prestart": [{"path": "bin/true"}]})),
    F("hooks-timeout", put("/hooks", {"prestart": [{"path": "/bin/sleep", "args": ["sleep", "5"], "timeout": 1}]})),
    F("hooks-env", put("/hooks", {"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "env > {tmp}/hook-env"],
                                                     "env": ["A=1", "B=2"]}]})),
    F("hooks-empty", put("/hooks", {})),
]

# fds the caller passes without close-on-exec (``script``, ``exec 7<``): runc's create and run
# mark every fd from 3 close-on-exec before they spawn anything (libcontainer's start,
# utils.CloseExecFrom(3)), so its createRuntime, prestart and poststart hooks (run during
# create) get stdin, stdout and stderr only; delete does not, and its poststop hooks see
# them.  In-container hooks (createContainer, startContainer) are left out: runc's see its
# init's own fds (sync socket, log pipe, FIFO).
CALLER_FDS = (7, 10, 251)
# And stdout and stderr are two pipes (exec.Cmd's two buffers), not one.
_FD_HOOK = ('ls /proc/$$/fd > {tmp}/hook-fds-%s; [ "$(readlink /proc/$$/fd/1)" = "$(readlink /proc/$$/fd/2)" ] '
            '&& echo stdout is stderr >> {tmp}/hook-fds-%s || echo stdout and stderr apart >> {tmp}/hook-fds-%s')
_FD_HOOKS = put("/hooks", {k: [{"path": "/bin/sh", "args": ["sh", "-c", _FD_HOOK % (k, k, k)]}]
                           for k in ("createRuntime", "prestart", "poststart", "poststop")})
SCENARIOS += [
    F("hooks-caller-fds", _FD_HOOKS, steps=[
        Call(["create", "--bundle", "{bundle}", "{id}"], fds=CALLER_FDS), Call(["start", "{id}"], fds=CALLER_FDS),
        WaitOutput(), WaitStopped(), Call(["delete", "{id}"], fds=CALLER_FDS), Collect("hook-fds-*")]),
    F("hooks-caller-fds-run", _FD_HOOKS,
      steps=[Call(["run", "--bundle", "{bundle}", "{id}"], fds=CALLER_FDS), Collect("hook-fds-*")]),
]

# ---------------------------------------------------------------- seccomp
DENY_MKDIR = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}
#: Measured: this allow list plus fstatfs runs under runc too.
SECCOMP_AFTER_FILTER = (
    "runc 1.1.5+ds1 (its CVE-2024-21626 backport) checks that /proc/self/fd is procfs with fstatfs "
    "after loading the filter; under a profile without fstatfs its init exits ('ensure /proc/self/fd "
    "is on procfs: operation not permitted') before the program runs. pyrunc closes the fds it does not "
    "pass down before the filter (a close over the fd numbers, no /proc lookup; config-linux.md: the "
    "filter is the container process's), so the profile needs only what the program calls; with "
    "fstatfs allowed both run the program alike")
for name, profile in [
    ("seccomp-errno-mkdir", DENY_MKDIR),
    ("seccomp-errno-ret", {"defaultAction": "SCMP_ACT_ALLOW",
                           "syscalls": [{"names": ["mkdir", "chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}),
    ("seccomp-kill-mkdir", {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"],
                                                                             "action": "SCMP_ACT_KILL"}]}),
    ("seccomp-log", {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_LOG"}]}),
    ("seccomp-trace", {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"],
                                                                        "action": "SCMP_ACT_TRACE"}]}),
    ("seccomp-default-errno", {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
                               "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}]}),
    ("seccomp-arch", {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86",
                                                                           "SCMP_ARCH_X32"],
                      "syscalls": [{"names": ["chmod"], "action": "SCMP_ACT_ERRNO"}]}),
    ("seccomp-args", {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 0, "value": 4294967295, "op": "SCMP_CMP_EQ"}]}]}),
    ("seccomp-flags-log", {"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG"],
                           "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}),
    ("seccomp-unknown-syscall", {"defaultAction": "SCMP_ACT_ALLOW",
                                 "syscalls": [{"names": ["nosuchcall", "mkdir"], "action": "SCMP_ACT_ERRNO"}]}),
    ("seccomp-unknown-action", {"defaultAction": "SCMP_ACT_NOSUCH"}),
    ("seccomp-empty", {"defaultAction": "SCMP_ACT_ALLOW"}),
    ("seccomp-empty-syscalls", {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": []}),
    ("seccomp-notify-write", {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "{tmp}/seccomp.sock",
                              "syscalls": [{"names": ["write"], "action": "SCMP_ACT_NOTIFY"}]}),
    ("seccomp-notify-no-listener", {"defaultAction": "SCMP_ACT_ALLOW",
                                    "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}),
    ("seccomp-allowlist-enosys", {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read", "write", "open", "openat", "close", "fstat", "newfstatat", "stat", "lstat", "mmap",
                   "mprotect", "munmap", "brk", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "ioctl", "pread64",
                   "access", "pipe", "pipe2", "dup2", "dup3", "getpid", "getppid", "fork", "vfork", "clone", "execve",
                   "exit", "exit_group", "wait4", "uname", "fcntl", "getcwd", "chdir", "readlink", "readlinkat",
                   "getuid", "getgid", "geteuid", "getegid", "getgroups", "arch_prctl", "set_tid_address",
                   "set_robust_list", "prlimit64", "getdents64", "lseek", "mkdir", "chmod", "faccessat2",
                   "statx", "getrandom", "rseq", "sysinfo", "umask", "getpgrp", "setpgid", "getpgid",
                   "sigaltstack", "futex", "nanosleep", "clock_nanosleep", "poll", "ppoll", "select", "pselect6",
                   "kill", "tgkill", "getrlimit", "personality", "unshare", "mount", "clone3", "writev", "readv",
                   "sendfile", "gettid", "getsid", "setsid", "prctl", "capget", "times", "getrusage",
                   "epoll_pwait2", "landlock_restrict_self"], "action": "SCMP_ACT_ALLOW"}]}),
]:
    SCENARIOS.append(F(name, put("/linux/seccomp", profile),
                       deliberate=dict.fromkeys(("container*", "probe.*"), SECCOMP_AFTER_FILTER)
                       if name == "seccomp-allowlist-enosys" else {}))

SCENARIOS += [
    F("intel-rdt", put("/linux/intelRdt", {"closID": "diff"})),
    F("time-offsets", put("/linux/timeOffsets", {"monotonic": {"secs": 10}})),
    F("net-devices", put("/linux/netDevices", {"nosuch0": {}}),
      deliberate={"call*": SPEC13, "container*": SPEC13, "host.*": SPEC13, "probe.*": SPEC13}),
    F("oci-version-old", put("/ociVersion", "1.0.0")),
    F("oci-version-bad", put("/ociVersion", "not-a-version")),
    F("oci-version-missing", drop("/ociVersion")),
    F("process-missing", drop("/process"), probe=False),
    F("linux-missing", drop("/linux")),
    F("unknown-top-level-field", put("/nosuchfield", {"a": 1})),
]

# ---------------------------------------------------------------- deliberate differences, by scenario
ALL = ("call*", "container*", "host.*", "probe.*", "file *")
NO_PROC = ("runc's init needs /proc mounted to close its own fds ('error closing exec fds'); runtime-spec "
           "1.3.0 requires no /proc mount and pyrunc's init needs none, so the container runs")
UID_RANGE = ("runc 1.5 dropped 1.1.5's 0-2147483647 check: a uid is a uint32 (config.md, User), and the "
             "kernel takes it")
MAPS_NO_USERNS = ("runc 1.5 refuses id mappings without a user namespace ('user namespace mappings specified, "
                  "but user namespace isn't enabled'); 1.1.5 ignored them")
TIME_NS = ("the time namespace (runtime-spec 1.2+, config-linux.md; runc 1.2+ implements it): runc 1.1.5 "
           "does not know the type")
NO_CAPS = ("runc 1.5 leaves the capabilities as they are when process.capabilities is absent (1.1.5 "
           "cleared every set); config.md makes the field optional")
DOMAIN = "linux domainname (runtime-spec 1.1+): runc 1.5 sets it, 1.1.5 ignores the field"
POSTSTART = ("runtime.md (Lifecycle, step 9): poststart hooks run after the user process has started, "
             "before `start` returns, with status running; runc runs them in `create` (status created), "
             "so their failure fails create")
POSTSTOP = ("runtime.md (Lifecycle): a poststop hook's failure is a warning, the delete goes on; runc "
            "1.1.5 fails the delete")
RDT = ("runc 1.5 refuses intelRdt where Intel RDT is not enabled ('intelRdt is specified in config, but "
       "Intel RDT is not enabled'); 1.1.5 ignored the field")
OFFSETS = ("runc 1.5 refuses timeOffsets without a time namespace ('time namespace offsets specified, but "
           "time namespace isn't enabled'); 1.1.5 ignored them")
SECCOMP_FLAGS = "runc 1.5 implements linux.seccomp.flags (runtime-spec 1.3.0); runc 1.1.5 refused any flag"
UNBINDABLE = ("config-linux.md lists unbindable among rootfsPropagation's values; runc 1.1.5 fails to apply "
              "it (EINVAL from its bind of the rootfs)")
SEMVER = "config.md: ociVersion is REQUIRED and MUST be a SemVer 2.0.0 version; runc does not check it"
ACCESS = "config-linux.md: a device rule's access is made of r, w and m; runc 1.1.5 takes 'rwx'"
RELATIVE = ("runc 1.1.5 also logs its validator's 'invalid configuration' (a Go struct dump) after the "
            "warning; runc 1.5 logs the warning only, as pyrunc")
_DELIBERATE = {
    "intel-rdt": {g: RDT for g in ALL},
    "time-offsets": {g: OFFSETS for g in ALL},
    "seccomp-flags-log": {g: SECCOMP_FLAGS for g in ALL},
    "propagation-unbindable": {g: UNBINDABLE for g in ALL},
    "oci-version-bad": {g: SEMVER for g in ALL},
    "oci-version-missing": {g: SEMVER for g in ALL},
    "device-rules-bad-access": {g: ACCESS for g in ALL},
    "mount-dest-relative": {"call0 create.stderr": RELATIVE},
    "mounts-empty": {g: NO_PROC for g in ALL},
    "mounts-missing": {g: NO_PROC for g in ALL},
    "user-largest-uid": {g: UID_RANGE for g in ALL},
    "ns-maps-without-user": {g: MAPS_NO_USERNS for g in ALL},
    "ns-time": {g: TIME_NS for g in ALL},
    "caps-missing": {"container.status": NO_CAPS},
    "domainname": {"container.hostname": DOMAIN},
    "domainname-without-uts": {g: DOMAIN for g in ALL},
    "hooks-poststart": {"file hook-poststart.json": POSTSTART},
    "hooks-all": {"file hook-poststart.json": POSTSTART},
    "hooks-poststart-fails": {g: POSTSTART for g in ALL},
    "hooks-poststop-fails": {"call* delete.*": POSTSTOP},
    "io-priority": {"container.sched": SPEC13},
    "scheduler": {"container.sched": SPEC13},
    "exec-cpu-affinity": {"call* exec.stdout": SPEC13},
    "personality-linux32": {"container.personality": SPEC13},
}
for _s in SCENARIOS:
    if _s.name in _DELIBERATE:
        _s.deliberate = _DELIBERATE[_s.name]
    if _s.name == "ns-without-pid":
        _s.ignore = ["container.procs"]  # the host's own processes, changing under the probe
