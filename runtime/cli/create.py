"""pyrunc create [command options] <container-id>: load the bundle's config.json into a Plan
(spec.load) and hand it to container.create.  load_plan and create_options are shared
with run.  Layer: cli (parses and dispatches; may import every layer below it)."""

from pyrunc.runtime.cli.flags import Flag, check_args

PREFIX = "pyrunc create failed: "

FLAGS = [
    Flag("bundle,b", "str"),
    Flag("console-socket", "str"),
    Flag("pid-file", "str"),
    Flag("no-pivot"),
    Flag("no-new-keyring"),
    Flag("preserve-fds", "int"),
    Flag("pidfd-socket", "str"),
]

#: runc's help for the flags create and run share: the flag's column, then its text's lines
#: (run.py adds its own flags and lists them all in runc's order).
OPTIONS_HELP = {
    "bundle": ("--bundle value, -b value",
               "path to the root of the bundle directory, defaults to the current directory"),
    "console-socket": ("--console-socket value",
                       "path to an AF_UNIX socket which will receive a file descriptor referencing",
                       "the master end of the console's pseudoterminal"),
    "pid-file": ("--pid-file value", "specify the file to write the process id to"),
    "pidfd-socket": ("--pidfd-socket value",
                     "path to an AF_UNIX socket which will receive a file descriptor referencing",
                     "the init process"),
    "no-pivot": ("--no-pivot", "do not use pivot root to jail process inside rootfs"),
    "no-new-keyring": ("--no-new-keyring", "do not create a new session keyring for the container"),
    "preserve-fds": ("--preserve-fds value", "Pass N additional file descriptors to the container",
                     "(stdio + $LISTEN_FDS + N in total) (default: 0)"),
}


def usage(cmd: str, description: str, options: list[tuple[str, ...]]) -> str:
    """runc's help text of create or run; ``options`` as OPTIONS_HELP's entries, in order."""
    lines = [f"   {flag:<26}{first}\n" + "".join(f"{'':29}{more}\n" for more in rest)
             for flag, first, *rest in options]
    return (f"NAME:\n   pyrunc {cmd} - {description}\n\nUSAGE:\n   pyrunc {cmd} [command options] <container-id>\n\n"
            "OPTIONS:\n" + "".join(lines))


USAGE = usage("create", "create a container", list(OPTIONS_HELP.values()))


def load_plan(opts: dict, cid: str):
    """Shared by create and run: validate the id, find the bundle, load config.json."""
    import os

    from pyrunc.runtime.container.store import validate_id
    from pyrunc.runtime.errors import PyruncError
    from pyrunc.spec.load import load

    validate_id(cid)
    bundle = opts["bundle"] or "."
    try:
        st = os.stat(bundle)
    except OSError as e:
        raise PyruncError(f"chdir {bundle}: {(e.strerror or '').lower()}") from None
    import stat

    if not stat.S_ISDIR(st.st_mode):
        raise PyruncError(f"chdir {bundle}: not a directory")
    return load(bundle)


def create_options(opts: dict, detach: bool, rootless: str = "auto", systemd: bool = False):
    """``rootless``: the global --rootless value (auto, true or false); ``systemd``: the
    global --systemd-cgroup (the systemd cgroup driver)."""
    import os

    from pyrunc.runtime.container.create import CreateOptions
    from pyrunc.runtime.container.invoker import rootless_cgroups

    extra = max(opts["preserve_fds"], 0)  # runc passes none for a negative count
    nlisten = listen_fds(os.environ, os.getpid())
    extra += nlisten
    return CreateOptions(pid_file=opts["pid_file"], no_pivot=opts["no_pivot"],
                         no_new_keyring=opts["no_new_keyring"], preserve_fds=extra,
                         console_socket=opts["console_socket"], detach=detach,
                         rootless_cgroups=rootless_cgroups(rootless), pidfd_socket=opts["pidfd_socket"],
                         systemd_cgroup=systemd, listen_fds=nlisten)


def _go_atoi(s: str) -> int | None:
    """Go's strconv.Atoi: an optional sign and ASCII digits, nothing else."""
    digits = s[1:] if s[:1] in ("+", "-") else s
    if not digits or not digits.isascii() or not digits.isdigit():
        return None
    return int(s)


def listen_fds(env, pid: int) -> int:
    """systemd socket activation as runc reads it (go-systemd's activation.Files, which
    create and run call when LISTEN_FDS is set): the caller's LISTEN_FDS fds from 3 on,
    only when LISTEN_PID is our own pid; anything else (LISTEN_PID unset or another pid,
    LISTEN_FDS not a number, 0 or negative) passes none, without a word."""
    if not env.get("LISTEN_FDS"):
        return 0
    if _go_atoi(env.get("LISTEN_PID", "")) != pid:
        return 0
    n = _go_atoi(env["LISTEN_FDS"])
    return n if n is not None and n > 0 else 0


def check_systemd(g: dict) -> None:
    """--systemd-cgroup needs systemd managing the host (container/invoker.py)."""
    if g["systemd_cgroup"]:
        from pyrunc.runtime.container.invoker import check_systemd_cgroup

        check_systemd_cgroup()


def run(g: dict, opts: dict, pos: list[str]) -> int:
    check_args("create", pos, exact=1)
    check_systemd(g)
    plan = load_plan(opts, pos[0])
    co = create_options(opts, detach=True, rootless=g["rootless"], systemd=g["systemd_cgroup"])
    from pyrunc.runtime.container.create import create

    create(g["root"], pos[0], plan, co)
    return 0
