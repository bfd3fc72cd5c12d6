"""pyrunc list [--format table|json] [--quiet]: every container under --root, as runc
prints them (container/store.py lists, container.Container gives each one's state).
Layer: cli (parses and dispatches; may import every layer below it)."""

import posix

from pyrunc.runtime.cli.flags import Flag, check_args
from pyrunc.runtime.errors import PyruncError

FLAGS = [Flag("format,f", "str", "table"), Flag("quiet,q")]

USAGE = """NAME:
   pyrunc list - lists containers started by pyrunc with the given root

USAGE:
   pyrunc list [command options]

OPTIONS:
   --format value, -f value  select one of: table or json (default: "table")
   --quiet, -q               display only container IDs
"""


def _owner(path: str, names: dict[int, str]) -> str:
    """The name of the state directory's owner; ``names`` caches it per uid (each lookup
    reads the passwd database, and most containers have one owner)."""
    try:
        uid = posix.stat(path).st_uid
    except OSError:
        return ""
    if uid not in names:
        import pwd

        try:
            names[uid] = pwd.getpwuid(uid).pw_name
        except KeyError:
            names[uid] = f"#{uid}"
    return names[uid]


def _table(rows: list[list[str]]) -> str:
    """Go's tabwriter(minwidth 12, tabwidth 1, padding 3): every cell but the last padded."""
    widths = [max(12, max(len(r[i]) for r in rows) + 3) for i in range(len(rows[0]) - 1)]
    return "".join("".join(cell.ljust(w) for cell, w in zip(r, widths, strict=False)) + r[-1] + "\n"
                   for r in rows)


def run(g: dict, opts: dict, pos: list[str]) -> int:
    check_args("list", pos, exact=0)
    if opts["format"] not in ("table", "json"):
        raise PyruncError("invalid format option")  # runc's text
    from pyrunc.runtime.container import store
    from pyrunc.runtime.container.container import load

    states = []
    names: dict[int, str] = {}
    for cid in store.list_ids(g["root"]):
        try:
            c = load(g["root"], cid)
            st = c.oci_state()
        except PyruncError:
            continue
        st["owner"] = _owner(c.dir, names)
        states.append(st)
    if opts["quiet"]:
        posix.write(1, "".join(s["id"] + "\n" for s in states).encode())
        return 0
    if opts["format"] == "json":
        from pyrunc.runtime.jsonout import dumps

        posix.write(1, ((dumps(states) if states else "null") + "\n").encode())
        return 0
    rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]]
    rows += [[s["id"], str(s["pid"]), s["status"], s["bundle"], s["created"], s["owner"]] for s in states]
    posix.write(1, _table(rows).encode())
    return 0
