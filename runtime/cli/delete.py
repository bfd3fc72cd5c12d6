"""pyrunc delete [--force] <container-id>: remove a stopped (with --force, any) container:
its processes, cgroups and state (container.Container.delete).
Layer: cli (parses and dispatches; may import every layer below it)."""

from pyrunc.runtime.cli.flags import Flag, check_args
from pyrunc.runtime.errors import InvalidID, NotExist

FLAGS = [Flag("force,f")]

USAGE = """NAME:
   pyrunc delete - delete any resources held by the container often used with detached container

USAGE:
   pyrunc delete [command options] <container-id>

OPTIONS:
   --force, -f  Forcibly deletes the container if it is still running (uses SIGKILL)
"""


def run(g: dict, opts: dict, pos: list[str]) -> int:
    check_args("delete", pos, exact=1)
    from pyrunc.runtime.container.container import load

    try:
        c = load(g["root"], pos[0])
    except (NotExist, InvalidID):
        if opts["force"]:
            return 0  # containerd deletes twice; a missing id under --force is success
        raise
    try:
        c.delete(opts["force"])
    except NotExist:
        if opts["force"]:
            return 0  # deleted by a concurrent delete while this one waited for the lock
        raise
    return 0
