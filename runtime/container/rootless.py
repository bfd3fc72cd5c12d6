"""Cgroups for a container whose runtime may lack permission over them (``--rootless``,
runc's rules): a hierarchy that refuses us is left out with one warning, not an error;
a limit for a controller left out is an error (the container would run without it);
device rules are not expected to work and their errors are ignored.

config-linux.md "Control groups": the runtime applies ``linux.resources`` to the
container's cgroup; it cannot apply them to a cgroup it could not make or join.
"""

from pyrunc.runtime import log
from pyrunc.runtime.errors import PyruncError


def check_limits(resources: dict, dirs: list[str]) -> None:
    """runc's error when a limit is set for a controller the container could not join."""
    if not resources:
        return
    from pyrunc.runtime.linux import cgroups
    from pyrunc.spec import resources as spec_resources

    have = cgroups.by_controller(dirs)
    for ctrl, _file, _value, _path in spec_resources.writes_for(resources, cgroups.is_pure_v2(), "limits"):
        if ctrl not in have:
            raise PyruncError(f"cannot set {ctrl or 'unified'} limit: container could not join or create cgroup")


def warn_skipped(refused: list[str], own_pidns: bool) -> None:
    """One warning for every hierarchy left out."""
    from pyrunc.runtime.linux import cgroups

    names = sorted(c or "unified" for c in cgroups.by_controller(refused))
    msg = (f"rootless: no permission to create or join the container's cgroups (not delegated), "
           f"running without them: {', '.join(names)}")
    if not own_pidns:
        # runc's warning: without a cgroup or a pid namespace of its own, nothing can
        # find and kill every process of the container.
        msg += "; with no cgroup and no private pid namespace, not every process of the container can be killed"
    log.warn(msg)


def set_devices(dirs: list[str], resources: dict, replaced: frozenset[str] = frozenset()) -> None:
    """Device rules where we can; errors ignored (runc, rootless)."""
    from pyrunc.runtime.container.container import set_resources

    if not dirs:
        return
    try:
        set_resources(dirs, resources, part="devices", replaced=replaced)
    except (PyruncError, OSError) as e:
        log.debug(f"rootless: device rules not applied: {e}")
