"""pyrunc exec [command options] <container-id> <command> [command options] || -p process.json <container-id>"""

from pyrunc.runtime.cli.flags import Flag, check_args
from pyrunc.runtime.errors import PyruncError

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

    c = load(g["root"], cid)
    proc = _process_only(c, opts, args)
    _container_wide(c, proc, opts)
    _lsm_flags(proc, opts)
    return c, proc


def _lsm_flags(proc, opts: dict) -> None:
    """--apparmor and --process-label: the process's labels, refused as config.json's are
    where the host has no such LSM."""
    from pyrunc.spec.load import check_lsm

    if opts["apparmor"]:
        check_lsm("--apparmor", "apparmor")
        proc.apparmor_profile = opts["apparmor"]
    if opts["process_label"]:
        check_lsm("--process-label", "selinux")
        proc.selinux_label = opts["process_label"]


def _container_wide(c, proc, opts: dict) -> None:
    """The container's linux.seccomp and linux.personality apply to an exec'd process
    too (runc); a process JSON cannot carry them, so they come from the bundle's config."""

    if opts["process"]:
        base = _bundle_plan(c)
        if base is not None:
            proc.seccomp, proc.personality = base.seccomp, base.personality
            proc.memory_policy = base.memory_policy
        elif c.has_seccomp_filter():
            raise PyruncError("the container's bundle is gone: its seccomp profile cannot be applied to "
                              "the new process")


#: The container's config, built once per command (the process and the container-wide
#: fields both come from it).
_PLANS: dict = {}


def _bundle_plan(c):
    """The plan of the bundle ``c`` was created from, or None when the bundle is gone."""
    import os

    if c.id not in _PLANS:
        from pyrunc.spec.load import build, read_config

        ok = c.state is not None and os.path.isdir(c.state.bundle)
        _PLANS[c.id] = build(read_config(c.state.bundle), c.state.bundle) if ok else None
    return _PLANS[c.id]


def _process_only(c, opts: dict, args: list[str]):

    from pyrunc.spec import caps as capnames
    from pyrunc.spec.load import load_process_json

    if opts["process"]:
        try:
            with open(opts["process"]) as f:
                text = f.read()
        except OSError as e:
            raise PyruncError(f"open {opts['process']}: {(e.strerror or '').lower()}") from None
        proc = load_process_json(text)
        from pyrunc.runtime import jsonin

        raw = jsonin.loads(text)
        if isinstance(raw, dict) and ("capabilities" not in raw or "noNewPrivileges" not in raw
                                      or "execCPUAffinity" not in raw):
            # runc: what the process JSON leaves out comes from the container's config.
            plan = _bundle_plan(c)
            base = plan.process if plan is not None else None
            if "capabilities" not in raw:
                if base is None:
                    raise PyruncError("--process has no capabilities and the container's bundle is gone")
                proc.capabilities = base.capabilities
            if "noNewPrivileges" not in raw and base is not None:
                proc.no_new_privileges = base.no_new_privileges
            if "execCPUAffinity" not in raw and base is not None:
                # runc: the container's execCPUAffinity unless the process JSON has its own.
                proc.exec_cpu_affinity = base.exec_cpu_affinity
        return proc
    if not args:
        raise PyruncError("process args cannot be empty")
    plan = _bundle_plan(c)
    if plan is None:
        raise PyruncError("the container's bundle is gone: give the process with --process")
    proc = plan.process
    if proc is None:
        raise PyruncError("the container's config.json has no process: give one with --process")
    proc.args = list(args)
    proc.terminal = opts["tty"]
    if opts["cwd"]:
        proc.cwd = opts["cwd"]
    for e in opts["env"]:
        if "=" not in e:
            raise PyruncError(f'unable to start container process: invalid environment variable: "{e}"')
        key = e.split("=", 1)[0] + "="
        proc.env = [x for x in proc.env if not x.startswith(key)] + [e]
    if opts["user"]:
        uid, _, gid = opts["user"].partition(":")
        # runc's order and texts (strconv.Atoi's): the gid is parsed first.
        for what, v in (("gid", gid), ("uid", uid)):
            if (v or what == "uid") and not v.lstrip("+-").isdigit():
                raise PyruncError(f'parsing {v} as int for {what} failed: strconv.Atoi: parsing "{v}": '
                                  "invalid syntax")
        proc.uid = int(uid)
        proc.gid = int(gid) if gid else proc.gid
    for gid in opts["additional_gids"]:
        try:
            proc.additional_gids.append(int(gid))
        except ValueError:
            raise PyruncError(f"--additional-gids {gid!r}: not a number") from None
    if opts["no_new_privs"]:
        proc.no_new_privileges = True
    if opts["cap"] and proc.capabilities is not None:
        for name in opts["cap"]:
            n = capnames.NUMBERS.get(name.upper() if name.upper().startswith("CAP_") else "CAP_" + name.upper())
            if n is None:
                raise PyruncError(f"--cap {name!r}: unknown capability")
            caps = proc.capabilities
            for field in ("bounding", "effective", "permitted"):
                getattr(caps, field).append(n)
            if n in caps.inheritable:  # runc: ambient only where the spec already allows it
                caps.ambient.append(n)
    return proc


def run(g: dict, opts: dict, pos: list[str]) -> int:
    check_args("exec", pos, lo=1)
    c, proc = _process(g, opts, pos[0], pos[1:])
    if proc.terminal and not opts["console_socket"] and not opts["detach"]:
        # runc: a foreground terminal is the caller's own (/dev/tty), which must exist.
        import os

        try:
            os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC))
        except OSError as e:
            raise PyruncError(f"open /dev/tty: {(e.strerror or '').lower()}") from None
    return c.exec_process(proc, opts["console_socket"], opts["detach"], opts["pid_file"], opts["preserve_fds"],
                          opts["ignore_paused"], opts["cgroup"], opts["pidfd_socket"])
