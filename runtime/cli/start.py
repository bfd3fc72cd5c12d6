"""pyrunc start <container-id>"""

from pyrunc.runtime.cli.flags import check_args

FLAGS: list = []

USAGE = """NAME:
   pyrunc start - executes the user defined process in a created container

USAGE:
   pyrunc start <container-id>
"""


def run(g: dict, opts: dict, pos: list[str]) -> int:
    check_args("start", pos, exact=1)
    from pyrunc.runtime.container.container import load

    load(g["root"], pos[0]).start()
    return 0
