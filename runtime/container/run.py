"""``run``: create and start in one go; in the foreground, wait for the container's
process, forward signals and relay its terminal, then delete it (unless --keep).
Layer: container (may import process, spec, linux and the base)."""

from pyrunc.runtime.container.create import CreateOptions, create
from pyrunc.runtime.container.stdio import check_caller_tty, close_pipes, stdio_pipes
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
    import os

    from pyrunc.runtime.process import wait
    from pyrunc.runtime.process.wait import Foreground

    terminal = plan.process is not None and plan.process.terminal
    if terminal and not co.console_socket:
        check_caller_tty()
    pipes = None if plan.process is None or terminal else stdio_pipes(*_root_ids(plan))
    if pipes is not None:
        co.stdio = (pipes[0][0], pipes[1][1], pipes[2][1])
    # Our terminal raw while the container is made, as runc's is once the console
    # arrives (during create): what it queues meanwhile reaches the container first.
    raw = wait.raw_terminal() if terminal and os.isatty(0) else None
    try:
        c, launched = create(root, cid, plan, co)
    except BaseException:
        close_pipes(pipes, both=True)
        if raw is not None:
            import termios

            termios.tcsetattr(0, termios.TCSADRAIN, raw)
        raise
    close_pipes(pipes, both=False)
    fg = Foreground(launched.pid, launched.tty_master,
                    None if pipes is None else (pipes[0][1], pipes[1][0], pipes[2][0]), raw)
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


def _root_ids(plan: Plan) -> tuple[int, int]:
    """The host's uid and gid of the container's root, the owner of a foreground run's
    stdio pipes (runc's setupIO: HostRootUID/HostRootGID): from the config's mappings,
    or, for a user namespace joined by path, from that namespace's own maps, which
    runc 1.5 reads in their place (specconv's setupUserNamespace; 1.1.5 refuses such a
    config: "no uid mappings found").  A path that cannot be read is create's to
    report, with its own error, right after."""
    uids = [(m.container_id, m.host_id, m.size) for m in plan.uid_mappings]
    gids = [(m.container_id, m.host_id, m.size) for m in plan.gid_mappings]
    user = plan.namespace("user")
    if user is not None and user.path:
        from pyrunc.runtime.errors import PyruncError
        from pyrunc.runtime.linux import namespaces

        try:
            uids, gids = namespaces.user_id_maps(user.path)
        except (OSError, PyruncError):
            pass
    return _host_root(uids), _host_root(gids)


def _host_root(maps: list[tuple[int, int, int]]) -> int:
    return next((host for inside, host, _n in maps if inside == 0), 0)

