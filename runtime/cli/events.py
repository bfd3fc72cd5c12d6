"""pyrunc events [--stats] [--interval D] <container-id>: runc's event stream.
Layer: cli (parses and dispatches; may import every layer below it).

``--stats`` prints one ``{"type":"stats","id":...,"data":{...}}`` line; otherwise a stats
line every interval (default 5s) and an ``{"type":"oom",...}`` line when the memory
cgroup records a new OOM kill, until the container stops.
"""

import os
import time

from pyrunc.runtime.cli.flags import Flag, check_args
from pyrunc.runtime.errors import PyruncError

FLAGS = [Flag("stats"), Flag("interval", "str", "5s")]

USAGE = """NAME:
   pyrunc events - display container events such as OOM notifications, cpu, memory, and IO usage statistics

USAGE:
   pyrunc events [command options] <container-id>

OPTIONS:
   --interval value  set the stats collection interval (default: 5s)
   --stats           display the container's stats then exit
"""


def _duration(v: str) -> float:
    units = (("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0))
    for suffix, mult in units:
        if v.endswith(suffix):
            try:
                d = float(v[: -len(suffix)]) * mult
            except ValueError:
                break
            if d > 0:
                return d
            break
    from pyrunc.runtime.errors import UsageError

    e = UsageError(f'invalid value "{v}" for flag -interval: parse error')  # runc's (urfave's) text
    e.kind = "flag"  # shown with the command's usage (cli/main.py)
    raise e


def run(g: dict, opts: dict, pos: list[str]) -> int:
    check_args("events", pos, exact=1)
    from pyrunc.runtime.container.container import STOPPED, load
    from pyrunc.runtime.jsonout import dumps

    interval = _duration(opts["interval"])
    c = load(g["root"], pos[0])
    if c.status() == STOPPED:
        raise PyruncError("container with id " + pos[0] + " is not running")

    def emit(kind: str, data: dict | None) -> None:
        ev: dict = {"type": kind, "id": c.id}
        if data is not None:
            ev["data"] = data
        os.write(1, (dumps(ev) + "\n").encode())

    if opts["stats"]:
        emit("stats", c.stats())
        return 0
    import gc

    gc.enable()  # off for a command's short life (cli/main.py): this loop may last days
    ooms = c.oom_count()
    next_stats = time.monotonic()
    while c.status() != STOPPED:
        n = c.oom_count()
        if n > ooms:
            emit("oom", None)
            ooms = n
        if time.monotonic() >= next_stats:
            emit("stats", c.stats())
            next_stats += interval
        time.sleep(min(0.1, interval))
    return 0
