"""``run``: create and start in one go; in the foreground, wait for the container's
process, forward signals and relay its terminal, then delete it (unless --keep)."""

from pyrunc.runtime.container.create import CreateOptions, create
from pyrunc.spec.plan import Plan


def run(root: str, cid: str, plan: Plan, co: CreateOptions, keep: bool, no_subreaper: bool) -> int:
    if co.detach:
        c, _ = create(root, cid, plan, co)
        try:
            c.start()
        except BaseException:
            c.destroy()  # run leaves nothing behind when start fails, as runc
            raise
        return 0
    from pyrunc.runtime.process.wait import Foreground

    c, launched = create(root, cid, plan, co)
    fg = Foreground(launched.pid, launched.tty_master)
    try:
        if no_subreaper:
            # The init is already our child; orphans of the container go to PID 1.
            from pyrunc.runtime.linux import libc

            libc.prctl(libc.PR_SET_CHILD_SUBREAPER, 0, what="clear child subreaper")
        try:
            c.start(wait_notify=False)
        except BaseException:
            c.destroy()
            raise
        code = fg.wait()
    finally:
        fg.restore()
        if launched.tty_master >= 0:
            import os

            os.close(launched.tty_master)
    if not keep:
        c.destroy()
    return code
