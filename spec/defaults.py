"""The config.json that ``pyrunc spec`` writes: runc 1.5's default (runtime-spec 1.3.0),
with its default capabilities and no ambient set, runc's masked and readonly paths, and
a cgroup namespace where runc's template has one (only on a cgroup v2-only host).
Layer: spec (between process and linux: may import linux's pure helpers and the base)."""

CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]


def default_config(cgroupns: bool = True) -> dict:
    """The template; ``cgroupns`` False leaves the cgroup namespace out, as runc's
    ``spec`` does on a v1 or hybrid host (its template adds one only when
    /sys/fs/cgroup is cgroup2: a v1 hierarchy gives no cgroupns-relative view of
    every controller)."""
    cfg = {
        "ociVersion": "1.3.0",
        "process": {
            "terminal": True,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {"bounding": list(CAPS), "effective": list(CAPS), "permitted": list(CAPS)},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "runc",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
        ],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"},
                           {"type": "mount"}] + ([{"type": "cgroup"}] if cgroupns else []),
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                            "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                            "/proc/scsi", "/sys/devices/virtual/powercap"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
        },
    }
    return cfg


def to_rootless(cfg: dict, euid: int, egid: int) -> dict:
    """``spec --rootless``: runc's rewrite of the default config for a container that an
    unprivileged user runs (config-linux.md "User namespace mappings": the caller's own
    euid and egid become 0 inside, size 1, the only mapping it may write itself).

    A new user namespace, no network namespace (an unprivileged user could not give it
    any device); /sys bound from the host (a sysfs mount needs the network namespace's
    owner to be ours); no ``uid=``/``gid=`` mount options (gid 5 is not mapped); no
    ``linux.resources`` (no cgroup is writable without delegation)."""
    out = dict(cfg)
    linux = {"uidMappings": [{"containerID": 0, "hostID": euid, "size": 1}],
             "gidMappings": [{"containerID": 0, "hostID": egid, "size": 1}]}
    linux.update((k, v) for k, v in cfg["linux"].items() if k != "resources")
    linux["namespaces"] = [ns for ns in cfg["linux"]["namespaces"] if ns["type"] not in ("network", "user")]
    linux["namespaces"].append({"type": "user"})
    out["linux"] = linux
    mounts = []
    for m in cfg["mounts"]:
        if m["destination"].rstrip("/") == "/sys":
            mounts.append({"destination": "/sys", "type": "none", "source": "/sys",
                           "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]})
            continue
        m = dict(m)
        if "options" in m:
            m["options"] = [o for o in m["options"] if not o.startswith(("uid=", "gid="))]
        mounts.append(m)
    out["mounts"] = mounts
    return out
