"""What this build supports, in features.md's structure (runtime-spec 1.3.0), for
``pyrunc features``: only what is implemented and tested is listed."""

from pyrunc.runtime import OCI_VERSION, __version__
from pyrunc.spec import caps, mountopts


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
            "cgroup": {"v1": True, "v2": True, "systemd": False, "systemdUser": False, "rdma": True},
            "seccomp": seccomp_features(),
            "apparmor": {"enabled": False},
            "selinux": {"enabled": False},
            "intelRdt": {"enabled": False},
        },
        "annotations": {"org.opencontainers.pyrunc.version": __version__},
    }
