"""What this build supports, in features.md's structure (runtime-spec 1.3.0), for
``pyrunc features``: only what is implemented and tested is listed."""

from pyrunc.runtime import OCI_VERSION, __version__
from pyrunc.spec import caps, mountopts


def features() -> dict:
    options = sorted(set(mountopts.FLAGS) | set(mountopts.PROPAGATION) | mountopts.EXTENSIONS)
    return {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": OCI_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": options,
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
            "capabilities": list(caps.NAMES),
            "cgroup": {"v1": True, "v2": True, "systemd": False, "systemdUser": False, "rdma": True},
            "seccomp": {"enabled": False},
            "apparmor": {"enabled": False},
            "selinux": {"enabled": False},
            "intelRdt": {"enabled": False},
        },
        "annotations": {"org.opencontainers.pyrunc.version": __version__},
    }
