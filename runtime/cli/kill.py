"""pyrunc kill [--all] <container-id> [signal]: send a signal (spec/signals.py parses it)
to the init, or with --all to every process of the container (container.Container.kill).
Layer: cli (parses and dispatches; may import every layer below it)."""

from pyrunc.runtime.cli.flags import Flag, check_args
from pyrunc.runtime.errors import PyruncError
from pyrunc.spec.signals import parse_signal

FLAGS = [Flag("all,a")]

USAGE = """NAME:
   pyrunc kill - kill sends the specified signal (default: SIGTERM) to the container's init process

USAGE:
   pyrunc kill [command options] <container-id> [signal]

OPTIONS:
   --all, -a  send the specified signal to all processes inside the container
"""

def run(g: dict, opts: dict, pos: list[str]) -> int:
    check_args("kill", pos, lo=1, hi=2)
    from pyrunc.runtime.container.container import load

    c = load(g["root"], pos[0])
    if len(pos) > 1 and pos[1] != "":
        sig = parse_signal(pos[1])
    else:
        # config.md "Annotations": the image's stopSignal SHOULD be the signal that kills it.
        sig = parse_signal(c.annotation("org.opencontainers.image.stopSignal") or "SIGTERM")
    try:
        c.kill(sig, opts["all"])
    except (OSError, OverflowError, ValueError) as e:
        import errno

        if isinstance(e, OSError) and e.errno != errno.EINVAL:
            raise
        raise PyruncError("unable to signal init: invalid argument") from None
    return 0
