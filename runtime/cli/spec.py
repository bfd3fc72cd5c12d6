"""pyrunc spec [--bundle DIR]: write a default config.json.
Layer: cli (parses and dispatches; may import every layer below it)."""

from pyrunc.runtime.cli.flags import Flag, check_args
from pyrunc.runtime.errors import PyruncError

FLAGS = [Flag("bundle,b", "str"), Flag("rootless")]

USAGE = """NAME:
   pyrunc spec - create a new specification file

USAGE:
   pyrunc spec [command options]

OPTIONS:
   --bundle value, -b value  path to the root of the bundle directory
   --rootless                generate a configuration for a rootless container
"""


def run(g: dict, opts: dict, pos: list[str]) -> int:
    check_args("spec", pos, exact=0)
    import json
    import os

    from pyrunc.runtime.linux.cgroups import unified_mode
    from pyrunc.spec.defaults import default_config, to_rootless

    # runc's template: a cgroup namespace only on a v2-only host (1.1.5 and 1.5.1 alike).
    cfg = default_config(cgroupns=unified_mode())
    if opts["rootless"]:
        cfg = to_rootless(cfg, os.geteuid(), os.getegid())
    bundle = opts["bundle"] or "."
    path = os.path.join(bundle, "config.json")
    if os.path.lexists(path):
        raise PyruncError("File config.json exists. Remove it first")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    except OSError as e:
        raise PyruncError(f"open {path}: {(e.strerror or '').lower()}") from None
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(cfg, indent="\t"))
    return 0
