"""pyrunc create [command options] <container-id>"""

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

USAGE = """NAME:
   pyrunc create - create a container

USAGE:
   pyrunc create [command options] <container-id>

OPTIONS:
   --bundle value, -b value  path to the root of the bundle directory, defaults to the current directory
   --console-socket value    path to an AF_UNIX socket which will receive a file descriptor referencing
                             the master end of the console's pseudoterminal
   --pid-file value          specify the file to write the process id to
   --pidfd-socket value      path to an AF_UNIX socket which will receive a file descriptor referencing
                             the init process
   --no-pivot                do not use pivot root to jail process inside rootfs
   --no-new-keyring          do not create a new session keyring for the container
   --preserve-fds value      Pass N additional file descriptors to the container
                             (stdio + $LISTEN_FDS + N in total) (default: 0)
"""


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

    from pyrunc.runtime.cli.rootless import rootless_cgroups
    from pyrunc.runtime.container.create import CreateOptions
    from pyrunc.runtime.errors import PyruncError

    extra = max(opts["preserve_fds"], 0)  # runc passes none for a negative count
    listen = os.environ.get("LISTEN_FDS")
    if listen:
        try:
            extra += int(listen)
        except ValueError:
            raise PyruncError(f"LISTEN_FDS={listen!r} is not a number") from None
    return CreateOptions(pid_file=opts["pid_file"], no_pivot=opts["no_pivot"],
                         no_new_keyring=opts["no_new_keyring"], preserve_fds=extra,
                         console_socket=opts["console_socket"], detach=detach,
                         rootless_cgroups=rootless_cgroups(rootless), pidfd_socket=opts["pidfd_socket"],
                         systemd_cgroup=systemd)


def check_systemd(g: dict) -> None:
    """--systemd-cgroup needs systemd managing the host (runc's check and text)."""
    import os

    from pyrunc.runtime.errors import PyruncError

    if g["systemd_cgroup"] and not os.path.isdir("/run/systemd/system"):
        raise PyruncError("systemd not running on this host, cannot use systemd cgroups manager")  # runc 1.1.5, 1.5


def run(g: dict, opts: dict, pos: list[str]) -> int:
    check_args("create", pos, exact=1)
    check_systemd(g)
    plan = load_plan(opts, pos[0])
    from pyrunc.runtime.container.create import create

    create(g["root"], pos[0], plan, create_options(opts, detach=True, rootless=g["rootless"],
                                                          systemd=g["systemd_cgroup"]))
    return 0
