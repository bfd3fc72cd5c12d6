"""pyrunc validate [--bundle B]: check config.json against runtime-spec 1.3.0's schema
(spec/schema.py) and the loader's own rules; print every violation with its JSON path.
Layer: cli (parses and dispatches; may import every layer below it)."""

import sys

from pyrunc.runtime.cli.flags import Flag, check_args
from pyrunc.runtime.errors import PyruncError

FLAGS = [Flag("bundle,b", "str")]

USAGE = """NAME:
   pyrunc validate - validate a bundle's config.json against runtime-spec 1.3.0

USAGE:
   pyrunc validate [command options]

OPTIONS:
   --bundle value, -b value  path to the root of the bundle directory (default: the current directory)
"""


def _path(parts) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(root)"


def run(g: dict, opts: dict, pos: list[str]) -> int:
    check_args("validate", pos, exact=0)
    import jsonschema  # only this command pays for it
    from pyrunc.spec.load import build, read_config
    from pyrunc.spec.schema import CONFIG

    bundle = opts["bundle"] or "."
    import os

    data = read_config(os.path.abspath(bundle))
    errors = sorted(jsonschema.Draft7Validator(CONFIG).iter_errors(data), key=lambda e: list(e.absolute_path))
    lines = [f"{_path(e.absolute_path)}: {e.message}" for e in errors]
    if not lines:
        try:
            build(data, os.path.abspath(bundle))
        except PyruncError as e:
            lines.append(str(e))
    if lines:
        sys.stdout.write("".join(line + "\n" for line in lines))
        raise PyruncError(f"config.json: {len(lines)} violation(s) of runtime-spec 1.3.0")
    sys.stdout.write("config.json is valid for runtime-spec 1.3.0\n")
    return 0
