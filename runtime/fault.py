"""The fault-injection switch: make one named setup step fail, for the reliability tests.
Layer: base (any layer may import it; it imports only the base).

``PYRUNC_FAULT=<step>`` in the runtime's environment makes ``point(step)`` raise where
that step has just been done (so its cleanup is exercised too).  It is read once, when
this module is first imported; unset (always, outside tests) a point costs one string
comparison.  The container never sees the variable: its environment comes from
config.json.

The steps of ``create``, in the order they happen (``STEPS``); a step that has a real
cause (a missing mount source, a hook that exits 1, a limit the kernel refuses, a full
state directory, a missing binary) is tested with that cause as well.
"""

import os

_STEP = os.environ.get("PYRUNC_FAULT", "")

#: Every injection point, for the tests and the README.  ``mounts[i]`` and
#: ``namespace-<type>`` stand for one point per mount and per namespace of the config.
STEPS = (
    "state-dir",        # <root>/<id> made
    "lock",             # the container's lock taken
    "state-write",      # the first state file written (before anything is made)
    "cgroup-create",    # cgroup directories made
    "cgroup-limits",    # linux.resources written
    "cgroup-self-join",  # the setup child in its v1 cgroups by its own write (setup child side)
    "cgroup-join",      # the setup child placed in the cgroups
    "namespace-<type>",  # each namespace joined or created (in the setup child)
    "id-maps",          # uid_map/gid_map written by the runtime
    "init-fork",        # the init forked (setup child side)
    "init-pid",         # the init's pid received, not yet in the state (runtime side)
    "mounts[i]",        # each config mount made (in the init)
    "devices",          # /dev nodes and links made
    "readonly-paths",   # linux.readonlyPaths mounted
    "masked-paths",     # linux.maskedPaths mounted
    "sysctl",           # linux.sysctl written
    "pivot_root",       # the root changed
    "hostname",         # hostname and domainname set
    "rootfs-readonly",  # root.readonly applied
    "seccomp",          # the seccomp filter loaded
    "exec",             # the program found, just before the init reports ready
    "device-rules",     # the cgroup device rules written (after the init made its nodes)
)


def point(step: str) -> None:
    """Raise the injected failure if ``step`` is the one named by PYRUNC_FAULT;
    ``stop@<step>`` stops the process there instead (SIGSTOP), for a test to SIGKILL
    the runtime at a known point of create."""
    if _STEP and _STEP == step:
        from pyrunc.runtime.errors import PyruncError

        raise PyruncError(f"fault injected at {step} (PYRUNC_FAULT)")
    if _STEP and _STEP == "stop@" + step:
        os.kill(os.getpid(), 19)  # SIGSTOP


def active() -> bool:
    return bool(_STEP)
