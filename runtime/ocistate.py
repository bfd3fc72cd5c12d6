"""The container's state as runtime.md "State" draws it, built in one place: what hooks
read on stdin (config.md "POSIX-platform Hooks") and what a seccomp agent receives with a
notify listener (config-linux.md "The Container Process State").  Pure data: every layer
that hands the state to someone (container/ for poststart and poststop, process/ for the
hooks of create and of the init, and for the listener) builds it with these.
Layer: base (any layer may import it; it imports only the base).

runc's ``state`` and ``list --format json`` print more (rootfs, created, owner, the pid
always): :func:`runc_state`, for container.Container.oci_state.
"""

from pyrunc.runtime import OCI_VERSION


def state(cid: str, status: str, pid: int, bundle: str, annotations: dict | None) -> dict:
    """ociVersion, id, status, pid (when there is a process), bundle, annotations (when
    any), in runc's order."""
    out: dict = {"ociVersion": OCI_VERSION, "id": cid, "status": status}
    if pid:
        out["pid"] = pid
    out["bundle"] = bundle
    if annotations:
        out["annotations"] = annotations
    return out


def state_json(cid: str, status: str, pid: int, bundle: str, annotations: dict | None) -> str:
    from pyrunc.runtime.jsonout import dumps

    return dumps(state(cid, status, pid, bundle, annotations))


def runc_state(cid: str, pid: int, status: str, bundle: str, rootfs: str, created: str,
               annotations: dict | None) -> dict:
    """runtime.md "State" plus runc's fields, in runc's order (``pyrunc state``)."""
    out: dict = {"ociVersion": OCI_VERSION, "id": cid, "pid": pid, "status": status, "bundle": bundle,
                 "rootfs": rootfs, "created": created}
    if annotations:
        out["annotations"] = annotations
    out["owner"] = ""
    return out
