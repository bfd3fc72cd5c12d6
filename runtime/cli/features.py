"""pyrunc features: what this build supports (features.md), as JSON.
Layer: cli (parses and dispatches; may import every layer below it)."""

import os

from pyrunc.runtime.cli.flags import check_args

FLAGS: list = []

USAGE = """NAME:
   pyrunc features - show the enabled features

USAGE:
   pyrunc features
"""


def run(g: dict, opts: dict, pos: list[str]) -> int:
    check_args("features", pos, exact=0)
    from pyrunc.runtime.jsonout import dumps
    from pyrunc.spec.features import features

    os.write(1, (dumps(features(), indent="    ") + "\n").encode())
    return 0
