"""pyrunc state <container-id>: runtime.md "State" as JSON, with runc's extra fields.
Layer: cli (parses and dispatches; may import every layer below it)."""

import posix

from pyrunc.runtime.cli.flags import check_args

FLAGS: list = []

USAGE = """NAME:
   pyrunc state - output the state of a container

USAGE:
   pyrunc state <container-id>
"""


def run(g: dict, opts: dict, pos: list[str]) -> int:
    check_args("state", pos, exact=1)
    from pyrunc.runtime.container.container import load
    from pyrunc.runtime.jsonout import dumps

    c = load(g["root"], pos[0])
    # runc prints the indented JSON with no trailing newline.
    posix.write(1, dumps(c.oci_state(), indent="  ").encode())
    return 0
