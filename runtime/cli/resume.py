"""pyrunc resume <container-id>: thaw a paused container."""

from pyrunc.runtime.cli.flags import check_args

FLAGS: list = []

USAGE = """NAME:
   pyrunc resume - resumes all processes that have been previously paused

USAGE:
   pyrunc resume <container-id>
"""


def run(g: dict, opts: dict, pos: list[str]) -> int:
    check_args("resume", pos, exact=1)
    from pyrunc.runtime.container.container import load

    load(g["root"], pos[0]).resume()
    return 0
