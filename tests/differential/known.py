"""Differences the tier finds that are not fixed on this branch: (scenario glob, field glob,
who fixes it and what).  A scenario whose only differences are listed here is reported as
an expected failure (xfail) naming them; once the fix lands the scenario passes and the
report says which line is no longer needed.  ``DIFF_STRICT=1`` turns them into failures,
to see what is still open after a merge.  The field "hang" stands for a call that did not
return in its timeout.

These are NOT deliberate differences: each is a place where pyrunc is still wrong.
"""

BFQ = "blkio.weight: this host has only blkio.bfq.weight, which runc 1.1.5 falls back to"
DOCKER = "open (the cgroup-manager helper's branch)"

KNOWN: list[tuple[str, str, str]] = [
    # ---- the cgroup manager (another branch): blkio.weight where the host has only BFQ's file
    ("blkio-weight*", "*", f"{DOCKER}: {BFQ}"),
    ("cli-update-blkio", "*", f"{DOCKER}: {BFQ}"),
]
