"""A small flag parser with the forms runc's (urfave/cli) accepts: ``--name value``,
``--name=value``, ``-name value``, short aliases, booleans with optional ``=true|false``.
Parsing stops at the first positional argument or ``--``; before it, every command but
exec and ps has its flags moved ahead of the positionals as urfave/cli v1 does (see
``reorder``), so ``update ID --memory 1M`` works as with runc.  (argparse costs start-up
time on every command and cannot reproduce runc's forms and texts.)
Layer: cli (parses and dispatches; may import every layer below it)."""

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


def _is_flag(table: dict, arg: str) -> bool:
    """urfave/cli v1's argIsFlag: ``-x``/``--x``/``--x=v`` naming one of the command's
    flags (an unknown ``--bogus`` is not one: it stays where it is)."""
    if arg in ("-", "--") or not arg.startswith("-"):
        return False
    name = arg[2:] if arg.startswith("--") else arg[1:]
    return name.split("=", 1)[0] in table


def reorder(args: list[str], flags: list[Flag]) -> list[str]:
    """The command's flags first, then the positionals, as runc's urfave/cli v1 reorders
    a command's arguments (its reorderArgs): a known flag moves ahead together with the
    next argument when that is not itself a known flag and the flag has no ``=`` (the
    reorder does not know which flags take a value: ``ID --all KILL`` becomes
    ``--all KILL ID``, so runc reads KILL as the container); ``--`` ends it, and stays in
    front of everything after it."""
    table = {n: f for f in flags for n in f.names}
    moved: list[str] = []
    rest: list[str] = []
    value_may_follow = False
    for i, a in enumerate(args):
        if value_may_follow and not _is_flag(table, a):
            value_may_follow = False
            moved.append(a)
        elif a == "--":
            rest = ["--", *rest, *args[i + 1:]]
            break
        elif _is_flag(table, a):
            moved.append(a)
            value_may_follow = "=" not in a
        else:
            rest.append(a)
    return moved + rest


def parse(args: list[str], flags: list[Flag], stop_at_positional: bool = True) -> tuple[dict, list[str]]:
    table = {n: f for f in flags for n in f.names}
    values: dict = {f.dest: (list(f.default) if f.kind == "list" else f.default) for f in flags}
    pos: list[str] = []
    seen: set[str] = set()
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
        seen.add(name)
        if f.kind == "bool":
            if eq:
                if val.lower() not in ("true", "false", "1", "0"):
                    raise UsageError(f'invalid boolean value "{val}" for -{name}: parse error')
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
    _one_form_each(flags, seen)
    return values, pos


def _one_form_each(flags: list[Flag], seen: set[str]) -> None:
    """runc's urfave/cli 1.22 refuses a flag given under two of its names (``-e A --env B``),
    after parsing; the text names the later name of the two first."""
    for f in flags:
        used = [n for n in f.names if n in seen]
        if len(used) > 1:
            e = UsageError(f"Cannot use two forms of the same flag: {used[1]} {used[0]}")
            e.kind = "forms"
            raise e


def check_args(cmd: str, pos: list[str], exact: int | None = None, lo: int | None = None,
               hi: int | None = None) -> None:
    """runc's checkArgs texts (named for the program as it was called: runc's os.Args[0])."""
    import sys

    prog = sys.argv[0] if sys.argv and sys.argv[0] else "pyrunc"
    text = ""
    if exact is not None and len(pos) != exact:
        text = f'{prog}: "{cmd}" requires exactly {exact} argument(s)'
    elif lo is not None and len(pos) < lo:
        text = f'{prog}: "{cmd}" requires a minimum of {lo} argument(s)'
    elif hi is not None and len(pos) > hi:
        text = f'{prog}: "{cmd}" requires a maximum of {hi} argument(s)'
    if text:
        e = UsageError(text)
        e.kind = "args"
        raise e


def one_container_command(cmd: str, description: str, method: str):
    """(USAGE, run) of a command that takes one container id, no flags, and calls one
    lifecycle method of the container (start, pause, resume): the cli only parses."""
    usage = f"NAME:\n   pyrunc {cmd} - {description}\n\nUSAGE:\n   pyrunc {cmd} <container-id>\n"

    def run(g: dict, opts: dict, pos: list[str]) -> int:
        check_args(cmd, pos, exact=1)
        from pyrunc.runtime.container.container import load

        getattr(load(g["root"], pos[0]), method)()
        return 0

    return usage, run
