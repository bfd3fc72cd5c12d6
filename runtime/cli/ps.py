"""pyrunc ps [--format table|json] <container-id> [ps options]
Layer: cli (parses and dispatches; may import every layer below it).

``--format json`` prints a JSON array of the container's pids and nothing else
(containerd's shim parses stdout and stderr together).  The table runs the host's
``ps`` with the given options (default ``-ef``) and keeps the header and the lines whose
PID belongs to the container, as runc does.
"""

import os

from pyrunc.runtime.cli.flags import Flag, check_args
from pyrunc.runtime.errors import PyruncError

#: runc (urfave SkipArgReorder): what follows the id is ps(1)'s.
SKIP_ARG_REORDER = True
FLAGS = [Flag("format,f", "str", "table")]

USAGE = """NAME:
   pyrunc ps - ps displays the processes running inside a container

USAGE:
   pyrunc ps [command options] <container-id> [ps options]

OPTIONS:
   --format value, -f value  select one of: table or json (default: "table")
"""


def run(g: dict, opts: dict, pos: list[str]) -> int:
    check_args("ps", pos, lo=1)
    from pyrunc.runtime.container.container import load

    c = load(g["root"], pos[0])
    pids = c.pids()
    if opts["format"] == "json":
        os.write(1, ("[" + ",".join(str(p) for p in pids) + "]\n").encode())
        return 0
    if opts["format"] != "table":
        raise PyruncError("invalid format option")  # runc's text
    import subprocess

    # What follows the id goes to ps(1) as given, a "--" too (runc's; ps then refuses it).
    args = pos[1:] or ["-ef"]
    try:
        p = subprocess.run(["ps", *args], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise PyruncError(f"ps: {e}") from None
    if p.returncode != 0:
        # runc: Go's exec error and ps's stderr.
        raise PyruncError(f"exit status {p.returncode}: {p.stderr}")
    out = p.stdout
    lines = out.splitlines()
    if not lines:
        return 0
    header = lines[0].split()
    if "PID" not in header:
        raise PyruncError("couldn't find PID field in ps output")
    col = header.index("PID")
    keep = [lines[0]] + [ln for ln in lines[1:] if len(ln.split()) > col and ln.split()[col].isdigit()
                         and int(ln.split()[col]) in set(pids)]
    os.write(1, ("\n".join(keep) + "\n").encode())
    return 0
