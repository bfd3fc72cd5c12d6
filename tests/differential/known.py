"""Differences the tier finds that are not fixed on this branch: (scenario glob, field glob,
who fixes it and what).  A scenario whose only differences are listed here is reported as
an expected failure (xfail) naming them; once the fix lands the scenario passes and the
report says which line is no longer needed.  ``DIFF_STRICT=1`` turns them into failures,
to see what is still open after a merge.  The field "hang" stands for a call that did not
return in its timeout.

These are NOT deliberate differences: each is a place where pyrunc is still wrong.
"""

KNOWN: list[tuple[str, str, str]] = [
]
