"""The first thing create and run do, before their config is read or the rest of create
is imported: start the grace period of the kernel's cgroup migration lock, so that it has
passed by the time the container joins its cgroups (linux/cgroups/warm.py).  A module of
its own, so that nothing else is loaded before it starts.
Layer: container (may import process, spec, linux and the base)."""


def warm_up(systemd: bool) -> int:
    """Start the kernel's grace period for the first cgroup join now, so that it passes
    while the config loads: the warming child's pid (for ``CreateOptions.warm_pid``, and
    ``reap``), 0 for none.  Not with --systemd-cgroup: systemd places the init itself."""
    if systemd:
        return 0
    from pyrunc.runtime.linux.cgroups import warm

    return warm.start()


def reap(pid: int, timeout: float = 1.0) -> bool:
    """Reap the warming child, waiting at most ``timeout`` seconds (0: only if it has
    exited); True once it is reaped (or for 0)."""
    if not pid:
        return True
    from pyrunc.runtime.linux.cgroups import warm

    return warm.reap(pid, timeout)
