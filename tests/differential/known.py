"""Differences the tier finds that are owned elsewhere and not fixed on this branch yet:
(scenario glob, field glob, who fixes it and what).  A scenario whose only differences
are listed here is reported as an expected failure (xfail), with the list; once the fix
lands the scenario passes and the line should go (the test prints it as fixed).
``DIFF_STRICT=1`` turns these into failures, to see what is still open after a merge.

These are NOT deliberate differences: each one is a place where pyrunc is still wrong."""

KNOWN: list[tuple[str, str, str]] = [
    # The engines issue (docker helper): without a cgroup namespace runc bind-mounts each v1
    # hierarchy's directory of the container, on a writable tmpfs, and no cgroup2 on a hybrid host.
    ("*", "container.mountinfo", "docker helper: cgroup bind-mounts without a cgroup namespace"),
    ("*", "container.cgroupfs", "docker helper: cgroup bind-mounts without a cgroup namespace"),
    # Found by this tier, larger than a local fix (open; in the tier's report):
    # a foreground `run` without a terminal gives the container pipes that runc copies to its own
    # stdio (setupProcessPipes); pyrunc hands its own stdio down.
    ("*run*", "container.stdio", "open: foreground run's stdio are runc's pipes, pyrunc's own fds"),
]
