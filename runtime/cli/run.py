"""pyrunc run [command options] <container-id>"""

from pyrunc.runtime.cli.create import FLAGS as CREATE_FLAGS
from pyrunc.runtime.cli.flags import Flag, check_args

PREFIX = "pyrunc run failed: "

FLAGS = CREATE_FLAGS + [Flag("detach,d"), Flag("keep"), Flag("no-subreaper")]

USAGE = """NAME:
   pyrunc run - create and run a container

USAGE:
   pyrunc run [command options] <container-id>

OPTIONS:
   --bundle value, -b value  path to the root of the bundle directory, defaults to the current directory
   --console-socket value    path to an AF_UNIX socket which will receive a file descriptor referencing
                             the master end of the console's pseudoterminal
   --detach, -d              detach from the container's process
   --keep                    do not delete the container after it exits
   --pid-file value          specify the file to write the process id to
   --pidfd-socket value      path to an AF_UNIX socket which will receive a file descriptor referencing
                             the init process
   --no-subreaper            disable the use of the subreaper used to reap reparented processes
   --no-pivot                do not use pivot root to jail process inside rootfs
   --no-new-keyring          do not create a new session keyring for the container
   --preserve-fds value      Pass N additional file descriptors to the container
                             (stdio + $LISTEN_FDS + N in total) (default: 0)
"""


def run(g: dict, opts: dict, pos: list[str]) -> int:
    check_args("run", pos, exact=1)
    from pyrunc.runtime.cli.create import check_systemd, create_options, load_plan

    check_systemd(g)
    from pyrunc.runtime.container.run import run as run_container

    plan = load_plan(opts, pos[0])
    co = create_options(opts, detach=opts["detach"], rootless=g["rootless"], systemd=g["systemd_cgroup"])
    return run_container(g["root"], pos[0], plan, co, opts["keep"], opts["no_subreaper"])
