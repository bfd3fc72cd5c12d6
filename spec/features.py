"""What this build supports, in features.md's structure (runtime-spec 1.3.0), for
``pyrunc features``: only what is implemented and tested is listed.
Layer: spec (between process and linux: may import linux's pure helpers and the base)."""

from pyrunc.runtime import OCI_VERSION, __version__
from pyrunc.spec import caps, mountopts, numa


def seccomp_features() -> dict:
    """features-linux.md "Seccomp": what a config may name.  The architectures are those
    the installed libseccomp builds filters for; every known flag is supported (the
    filter is loaded with seccomp(2) by pyrunc itself; WAIT_KILLABLE_RECV needs Linux
    5.19 and a notify rule)."""
    from pyrunc.runtime.errors import PyruncError
    from pyrunc.spec import seccomp

    try:
        from pyrunc.runtime.linux import seccomp as libseccomp

        archs = libseccomp.supported_architectures()
    except PyruncError:
        return {"enabled": False}
    return {"enabled": True, "actions": sorted(seccomp.ACTIONS), "operators": sorted(seccomp.OPERATORS),
            "archs": archs, "knownFlags": list(seccomp.FLAGS), "supportedFlags": list(seccomp.FLAGS)}


def features() -> dict:
    options = sorted(set(mountopts.FLAGS) | set(mountopts.PROPAGATION) | mountopts.EXTENSIONS
                     | set(mountopts.RECURSIVE))
    return {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": OCI_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": options,
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
            "capabilities": list(caps.NAMES),
            "cgroup": {"v1": True, "v2": True, "systemd": True, "systemdUser": False, "rdma": True},
            "seccomp": seccomp_features(),
            "netDevices": {"enabled": True},  # features-linux.md "NetDevices"
            "apparmor": {"enabled": False},
            "selinux": {"enabled": False},
            # features-linux.md "Intel RDT": linux.intelRdt is implemented (schemata and
            # enableMonitoring included) but exercised only against a fake tree: not enabled.
            "intelRdt": {"enabled": False, "schemata": True, "monitoring": True},
            # features-linux.md "MemoryPolicy": every mode and flag config-linux.md names.
            "memoryPolicy": {"modes": list(numa.MODES), "flags": list(numa.FLAGS)},
            # features-linux.md "MountExtensions": idmapped bind mounts (a mount's own maps).
            "mountExtensions": {"idmap": {"enabled": True}},
        },
        "annotations": {"org.opencontainers.pyrunc.version": __version__},
        # features.md: annotations that may change what the runtime does (runc's list).
        "potentiallyUnsafeConfigAnnotations": ["bundle", "org.systemd.property.", "org.criu.config"],
    }
