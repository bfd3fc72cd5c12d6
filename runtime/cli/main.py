"""pyrunc's entry point: global flags, then one subcommand, dispatched lazily so each
command imports only what it uses.  Layer: cli (parses and dispatches; may import every layer below it)."""

import gc
import posix  # not os: about a millisecond of every command (linux/fspath.py)
import sys

from pyrunc.runtime import OCI_VERSION, __version__, log
from pyrunc.runtime.cli.flags import Flag, parse, reorder
from pyrunc.runtime.errors import PyruncError, UsageError

GLOBAL_FLAGS = [
    Flag("root", "str"),  # "" until parsed: the default depends on who runs (container/invoker.py)
    Flag("log", "str"),
    Flag("log-format", "str", "text"),
    Flag("debug"),
    Flag("systemd-cgroup"),
    Flag("rootless", "str"),
    Flag("criu", "str"),
    Flag("version,v"),
    Flag("help,h"),
]

#: command -> (module, one-line description)
COMMANDS = {
    "create": ("create", "create a container"),
    "delete": ("delete", "delete any resources held by the container often used with detached container"),
    "exec": ("exec", "execute new process inside the container"),
    "events": ("events", "display container events such as OOM notifications and usage statistics"),
    "features": ("features", "show the enabled features"),
    "kill": ("kill", "kill sends the specified signal (default: SIGTERM) to the container's init process"),
    "list": ("list", "lists containers started by pyrunc with the given root"),
    "pause": ("pause", "pause suspends all processes inside the container"),
    "ps": ("ps", "ps displays the processes running inside a container"),
    "resume": ("resume", "resumes all processes that have been previously paused"),
    "run": ("run", "create and run a container"),
    "spec": ("spec", "create a new specification file"),
    "start": ("start", "executes the user defined process in a created container"),
    "state": ("state", "output the state of a container"),
    "update": ("update", "update container resource constraints"),
    "validate": ("validate", "validate a bundle's config.json against runtime-spec 1.3.0"),
}

#: runc commands other issues bring; until then a one-line error, exit 1.
#: checkpoint/restore: Debian's criu cannot start on this kernel (runc's one-line error).
LATER = ("checkpoint", "restore")

USAGE = f"""NAME:
   pyrunc - Open Container Initiative runtime, in Python

USAGE:
   pyrunc [global options] command [command options] [arguments...]

VERSION:
   {__version__}
spec: {OCI_VERSION}

COMMANDS:
{{commands}}

GLOBAL OPTIONS:
   --debug             enable debug logging
   --log value         set the log file to write pyrunc logs to (default is '/dev/stderr')
   --log-format value  set the log format ('text' (default), or 'json') (default: "text")
   --root value        root directory for storage of container state (default: "/run/pyrunc",
                       or "$XDG_RUNTIME_DIR/pyrunc" for a non-root user)
   --systemd-cgroup    enable systemd cgroup support
   --rootless value    ignore cgroup permission errors ('true', 'false', or 'auto') (default: "auto")
   --help, -h          show help
   --version, -v       print the version
"""


def _libseccomp_version() -> str:
    """libseccomp's own version, as runc prints it; "" when absent (linux/seccomp.py)."""
    from pyrunc.runtime.linux import seccomp

    return seccomp.library_version()


def version_text() -> str:
    """runc's lines and order (engines parse "version", "commit:" and "spec:"), with the
    interpreter where runc names its Go."""
    seccomp = _libseccomp_version()
    return (f"pyrunc version {__version__}\ncommit: {__version__}\nspec: {OCI_VERSION}\n"
            f"python: {sys.version.split()[0]}\n" + (f"libseccomp: {seccomp}\n" if seccomp else ""))


def main(argv: list[str]) -> int:
    try:
        g, rest = parse(argv, GLOBAL_FLAGS)
    except UsageError as e:
        # runc (urfave/cli): the complaint and the help on stdout, the error on stderr.
        cmds = "\n".join(f"   {n:<10}{d}" for n, (_, d) in sorted(COMMANDS.items()))
        # (two forms of one global flag: urfave's line has no "Incorrect Usage." before it)
        lead = f"{e}\n" if getattr(e, "kind", "") == "forms" else f"Incorrect Usage. {e}\n\n"
        sys.stdout.write(lead + USAGE.format(commands=cmds))
        log.error(str(e))
        return 1
    if g["log_format"] not in ("text", "json"):
        log.error(f"invalid log-format: {g['log_format']}")
        return 1
    log.configure(g["log"], g["log_format"], g["debug"])
    if not g["root"] and posix.geteuid() == 0 and b"XDG_RUNTIME_DIR" not in posix.environ:
        g["root"] = "/run/pyrunc"  # the common case, without an import
    elif not g["root"]:
        from pyrunc.runtime.container.invoker import default_root

        try:
            g["root"] = default_root()
        except PyruncError as e:
            log.error(str(e))
            return 1
    if g["version"]:
        sys.stdout.write(version_text())
        return 0
    if g["help"] or not rest or rest[0] in ("help", "h"):
        if len(rest) > 1 and rest[0] in ("help", "h"):
            return main([*argv[: len(argv) - len(rest)], rest[1], "--help"])
        cmds = "\n".join(f"   {n:<10}{d}" for n, (_, d) in sorted(COMMANDS.items()))
        sys.stdout.write(USAGE.format(commands=cmds))
        return 0
    name, args = rest[0], rest[1:]
    if name not in COMMANDS:
        if name in LATER:
            return _later(g, name, args)
        log.error(f"No help topic for '{name}'")
        return 3  # runc's (urfave/cli's) exit code for an unknown command
    # __import__ rather than importlib: one import less on every command.
    mod = __import__(f"pyrunc.runtime.cli.{COMMANDS[name][0]}", fromlist=["run"])
    flags = mod.FLAGS + [Flag("help,h")]
    if not getattr(mod, "SKIP_ARG_REORDER", False):
        # runc's urfave/cli moves a command's flags ahead of its arguments (exec and ps
        # excepted: what follows their id belongs to the program / to ps(1)).
        args = reorder(args, flags)
    try:
        try:
            opts, pos = parse(args, flags)
        except UsageError as e:
            sys.stdout.write(f"Incorrect Usage: {e}\n\n" + mod.USAGE)  # runc's, on stdout
            raise
        if opts.get("help"):
            sys.stdout.write(mod.USAGE)
            return 0
        try:
            return mod.run(g, opts, pos)
        except UsageError as e:
            if e.kind == "args":
                sys.stdout.write("Incorrect Usage.\n\n" + mod.USAGE)  # runc's checkArgs
            elif e.kind == "flag":
                sys.stdout.write(f"Incorrect Usage: {e}\n\n" + mod.USAGE)
            raise
    except UsageError as e:
        log.error(str(e))
        return 1
    except PyruncError as e:
        log.error(getattr(mod, "PREFIX", "") + str(e))
        return getattr(mod, "ERROR_CODE", 1)
    except OSError as e:
        # An error of the host (a --root that is a file, too many fds): one line, runc-like.
        where = f" {e.filename}" if e.filename else ""
        log.error(getattr(mod, "PREFIX", "") + f"{where.strip() or name}: {(e.strerror or str(e)).lower()}")
        return 1
    except KeyboardInterrupt:
        return 130


def _later(g: dict, name: str, args: list[str]) -> int:
    """checkpoint/restore: runc's first checks and texts (the container must exist; restore
    needs the bundle's config.json), then the one-line refusal (criu cannot run here)."""
    ids = [a for a in args if not a.startswith("-")]
    if name == "checkpoint" and ids:
        from pyrunc.runtime.container.container import load

        try:
            load(g["root"], ids[-1])
        except PyruncError as e:
            log.error(str(e))
            return 1
    if name == "restore":
        bundle = "."
        for i, a in enumerate(args):
            if a in ("-b", "--bundle") and i + 1 < len(args):
                bundle = args[i + 1]
            elif a.startswith("--bundle="):
                bundle = a.split("=", 1)[1]
        import os

        if not os.path.exists(os.path.join(bundle, "config.json")):
            log.error("JSON specification file config.json not found")
            return 1
    log.error(f"{name} is not supported: criu is not available")
    return 1


def entry() -> None:
    # A command lives milliseconds and makes almost no reference cycles: the collector's
    # passes over what the imports allocate are pure cost (about 4% of a run's CPU and
    # wall, A/B).  Back on where a command turns long-lived: process/wait.py's relay of a
    # foreground run or exec, and events' loop.
    gc.disable()
    try:
        code = main(sys.argv[1:])
    except BrokenPipeError:
        code = 1
    except Exception as e:  # the last guard: one line, never a traceback
        try:
            log.error(f"internal error: {type(e).__name__}: {e}")
        except Exception:
            pass
        code = 1
    try:
        sys.stdout.flush()
    except Exception:
        pass
    posix._exit(code)


if __name__ == "__main__":
    entry()
