"""pyrunc pause <container-id>: freeze every process of the container."""

from pyrunc.runtime.cli.flags import check_args

FLAGS: list = []

USAGE = """NAME:
   pyrunc pause - pause suspends all processes inside the container

USAGE:
   pyrunc pause <container-id>
"""


def run(g: dict, opts: dict, pos: list[str]) -> int:
    check_args("pause", pos, exact=1)
    from pyrunc.runtime.container.container import load

    load(g["root"], pos[0]).pause()
    return 0
