"""The freezer's two files: v1's freezer.state (FREEZING until every task stopped) and v2's
cgroup.freeze; each driver calls its own, the fs driver the v2 one on a hybrid host whose
freezer lives only in the unified tree.  Layer: linux (the bottom: imports only linux and the base)."""

import os
import time

from pyrunc.runtime.linux.cgroups import files


def freeze_v1(d: str, timeout: float = 5.0) -> None:
    """freezer.state FROZEN, waited for (FREEZING until every task stopped); thawed again
    if it does not get there in time (EBUSY)."""
    files.write_file(os.path.join(d, "freezer.state"), "FROZEN")
    deadline = time.monotonic() + timeout
    while True:
        with open(os.path.join(d, "freezer.state")) as f:
            if f.read().strip() == "FROZEN":
                return
        if time.monotonic() > deadline:
            files.write_file(os.path.join(d, "freezer.state"), "THAWED")
            raise OSError(16, "the freezer did not reach FROZEN")
        time.sleep(0.002)

def freeze_v2(d: str) -> None:
    """cgroup.freeze 1 (the kernel reports the effective state in cgroup.events)."""
    files.write_file(os.path.join(d, "cgroup.freeze"), "1")
