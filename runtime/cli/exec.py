"""pyrunc exec [command options] <container-id> <command> [command options] || -p process.json <container-id>:
a new process in a running container; spec/exec_process.py puts the process together,
container.Container.exec_process runs it.  Layer: cli (parses and dispatches; may import every layer below it)."""

from pyrunc.runtime.cli.flags import Flag, check_args

PREFIX = "exec failed: "
#: runc exits 255 when exec itself fails, apart from any status of the process.
ERROR_CODE = 255

#: runc (urfave SkipArgReorder): what follows the id is the program and its arguments.
SKIP_ARG_REORDER = True
FLAGS = [
    Flag("console-socket", "str"), Flag("cwd", "str"), Flag("env,e", "list"), Flag("tty,t"),
    Flag("user,u", "str"), Flag("additional-gids,g", "list"), Flag("process,p", "str"), Flag("detach,d"),
    Flag("pid-file", "str"), Flag("process-label", "str"), Flag("apparmor", "str"), Flag("no-new-privs"),
    Flag("cap,c", "list"), Flag("preserve-fds", "int"), Flag("cgroup", "list"), Flag("ignore-paused"),
    Flag("pidfd-socket", "str"),
]

USAGE = """NAME:
   pyrunc exec - execute new process inside the container

USAGE:
   pyrunc exec [command options] <container-id> <command> [command options]  || -p process.json <container-id>

OPTIONS:
   --console-socket value         path to an AF_UNIX socket which will receive the pty master
   --cwd value                    current working directory in the container
   --env value, -e value          set environment variables
   --tty, -t                      allocate a pseudo-TTY
   --user value, -u value         UID (format: <uid>[:<gid>])
   --additional-gids value, -g    additional gids
   --process value, -p value      path to the process.json
   --detach, -d                   detach from the container's process
   --pid-file value               specify the file to write the process id to
   --pidfd-socket value           path to an AF_UNIX socket which will receive a file descriptor referencing
                                  the exec process
   --no-new-privs                 set the no new privileges value for the process
   --apparmor value               set the apparmor profile for the process
   --process-label value          set the SELinux label for the process
   --cap value, -c value          add a capability to the bounding set for the process
   --preserve-fds value           pass N additional file descriptors to the container
   --ignore-paused                allow exec in a paused container
"""


def _process(g: dict, opts: dict, cid: str, args: list[str]):
    from pyrunc.runtime.container.container import load
    from pyrunc.spec.exec_process import ExecRequest, exec_process

    c = load(g["root"], cid)
    c.check_exec(opts["ignore_paused"])  # runc: the status before the process (exec.go)
    req = ExecRequest(process_file=opts["process"], args=args, tty=opts["tty"], cwd=opts["cwd"], env=opts["env"],
                      user=opts["user"], additional_gids=opts["additional_gids"],
                      no_new_privs=opts["no_new_privs"], caps=opts["cap"], apparmor=opts["apparmor"],
                      process_label=opts["process_label"])
    bundle = c.state.bundle if c.state is not None else None
    return c, exec_process(req, bundle, c.has_seccomp_filter)


def run(g: dict, opts: dict, pos: list[str]) -> int:
    check_args("exec", pos, lo=1)
    c, proc = _process(g, opts, pos[0], pos[1:])
    return c.exec_process(proc, opts["console_socket"], opts["detach"], opts["pid_file"],
                          opts["preserve_fds"], opts["ignore_paused"], opts["cgroup"], opts["pidfd_socket"])
