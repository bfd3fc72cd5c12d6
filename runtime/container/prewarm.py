"""The first thing create and run do, before their config is read or the rest of create
is imported: start the grace period of the kernel's cgroup migration lock, so that it has
passed by the time the container joins its cgroups (linux/cgroups/warm.py).  A module of
its own, so that nothing else is loaded before it starts.
Layer: container (may import process, spec, linux and the base)."""


class warming:
    """``with warming(systemd):`` around create's or run's whole work: the warming thread
    starts on entry and its file is closed on the way out, whatever happens.  Not with
    --systemd-cgroup: systemd places the init itself."""

    __slots__ = ("started",)

    def __init__(self, systemd: bool) -> None:
        self.started = False
        if not systemd:
            from pyrunc.runtime.linux.cgroups import warm

            self.started = warm.start()

    def __enter__(self) -> "warming":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.started:
            from pyrunc.runtime.linux.cgroups import warm

            warm.finish()
