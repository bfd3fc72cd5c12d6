"""A small flag parser with the forms runc's (urfave/cli) accepts: ``--name value``,
``--name=value``, ``-name value``, short aliases, booleans with optional ``=true|false``.
Parsing stops at the first positional argument or ``--``.  (argparse costs start-up time
on every command and cannot reproduce runc's forms and texts.)"""

from pyrunc.runtime.errors import UsageError


class Flag:
    __slots__ = ("names", "kind", "dest", "default")

    def __init__(self, names: str, kind: str = "bool", default: object = None) -> None:
        self.names = tuple(names.split(","))
        self.kind = kind
        self.dest = self.names[0].replace("-", "_")
        self.default = default if default is not None else (False if kind == "bool" else
                                                           (0 if kind == "int" else ""))
        if kind == "list":  # a flag that may be given many times
            self.default = ()


def parse(args: list[str], flags: list[Flag], stop_at_positional: bool = True) -> tuple[dict, list[str]]:
    table = {n: f for f in flags for n in f.names}
    values: dict = {f.dest: (list(f.default) if f.kind == "list" else f.default) for f in flags}
    pos: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        i += 1
        if a == "--":
            pos.extend(args[i:])
            break
        if not a.startswith("-") or a == "-":
            pos.append(a)
            if stop_at_positional:
                pos.extend(args[i:])
                break
            continue
        name, eq, val = a.lstrip("-").partition("=")
        f = table.get(name)
        if f is None:
            raise UsageError(f"flag provided but not defined: -{name}")
        if f.kind == "bool":
            if eq:
                if val.lower() not in ("true", "false", "1", "0"):
                    raise UsageError(f'invalid boolean value "{val}" for -{name}')
                values[f.dest] = val.lower() in ("true", "1")
            else:
                values[f.dest] = True
            continue
        if not eq:
            if i >= len(args):
                raise UsageError(f"flag needs an argument: -{name}")
            val = args[i]
            i += 1
        if f.kind == "list":
            values[f.dest].append(val)
        elif f.kind == "int":
            try:
                values[f.dest] = int(val, 0)
            except ValueError:
                raise UsageError(f'invalid value "{val}" for flag -{name}: parse error') from None
        else:
            values[f.dest] = val
    return values, pos


def check_args(cmd: str, pos: list[str], exact: int | None = None, lo: int | None = None,
               hi: int | None = None) -> None:
    """runc's checkArgs texts."""
    msg = ""
    if exact is not None and len(pos) != exact:
        msg = f'pyrunc: "{cmd}" requires exactly {exact} argument(s)'
    elif lo is not None and len(pos) < lo:
        msg = f'pyrunc: "{cmd}" requires a minimum of {lo} argument(s)'
    elif hi is not None and len(pos) > hi:
        msg = f'pyrunc: "{cmd}" requires a maximum of {hi} argument(s)'
    if msg:
        e = UsageError(msg)
        e.args_error = True  # the usage is shown as "Incorrect Usage." (runc's checkArgs)
        raise e
