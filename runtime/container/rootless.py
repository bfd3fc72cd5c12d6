"""Cgroups for a container whose runtime may lack permission over them (``--rootless``,
runc's rules): a hierarchy that refuses us is left out silently (a --debug line), not an error;
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
            if "memory" not in have and "" not in have:
                # runc's failed start asks the memory cgroup for its OOM kills, and warns
                # that it has none to ask (runc 1.1.5's words).
                log.warn("unable to get oom kill count", error="no directory specified for memory.oom_control")
            # runc's chain: the limits are set at the init's hooks step (procHooks).
            raise PyruncError("unable to start container process: error during container init: error setting "
                              f"cgroup config for procHooks process: cannot set {ctrl or 'unified'} limit: "
                              "container could not join or create cgroup")


def warn_skipped(refused: list[str], own_pidns: bool) -> None:
    """One line for every hierarchy left out: --debug, or a warning when nothing could
    kill every process of the container."""
    from pyrunc.runtime.linux import cgroups

    names = sorted(c or "unified" for c in cgroups.by_controller(refused))
    msg = (f"rootless: no permission to create or join the container's cgroups (not delegated), "
           f"running without them: {', '.join(names)}")
    if own_pidns:
        # runc 1.1.5 and 1.5 say nothing of cgroups they may not use (rootless, that is
        # the rule): a --debug line only.
        log.debug(msg)
        return
    # Without a cgroup or a pid namespace of its own, nothing can find and kill every
    # process of the container: that is worth a warning.
    log.warn(msg + "; with no cgroup and no private pid namespace, not every process of the container can be killed")


def set_devices(dirs: list[str], resources: dict, replaced: frozenset[str] = frozenset()) -> None:
    """Device rules where we can; errors ignored (runc, rootless)."""
    from pyrunc.runtime.container.container import set_resources

    if not dirs:
        return
    try:
        set_resources(dirs, resources, part="devices", replaced=replaced)
    except (PyruncError, OSError) as e:
        log.debug(f"rootless: device rules not applied: {e}")
