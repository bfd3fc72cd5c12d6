"""pyrunc run [command options] <container-id>: create, start and (unless --detach) wait
for the container (container/run.py).  create's flags and loading, plus its own.
Layer: cli (parses and dispatches; may import every layer below it)."""

from pyrunc.runtime.cli.create import FLAGS as CREATE_FLAGS
from pyrunc.runtime.cli.create import OPTIONS_HELP, usage
from pyrunc.runtime.cli.flags import Flag, check_args

PREFIX = "pyrunc run failed: "

FLAGS = CREATE_FLAGS + [Flag("detach,d"), Flag("keep"), Flag("no-subreaper")]

USAGE = usage("run", "create and run a container", [
    OPTIONS_HELP["bundle"], OPTIONS_HELP["console-socket"],
    ("--detach, -d", "detach from the container's process"),
    ("--keep", "do not delete the container after it exits"),
    OPTIONS_HELP["pid-file"], OPTIONS_HELP["pidfd-socket"],
    ("--no-subreaper", "disable the use of the subreaper used to reap reparented processes"),
    OPTIONS_HELP["no-pivot"], OPTIONS_HELP["no-new-keyring"], OPTIONS_HELP["preserve-fds"]])


def run(g: dict, opts: dict, pos: list[str]) -> int:
    check_args("run", pos, exact=1)
    from pyrunc.runtime.cli.create import check_systemd, create_options, load_plan

    check_systemd(g)
    plan = load_plan(opts, pos[0])
    co = create_options(opts, detach=opts["detach"], rootless=g["rootless"], systemd=g["systemd_cgroup"])
    from pyrunc.runtime.container.run import run as run_container

    return run_container(g["root"], pos[0], plan, co, opts["keep"], opts["no_subreaper"])
