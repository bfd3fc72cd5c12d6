"""Stage two: the container's init, pid 1 of its namespaces, from mounts to execve.
Layer: process (may import spec, linux and the base).

The order is the hard part, and each constraint is noted where it is kept.  Any error
goes back to the runtime over the sync socket as one line and the init exits; after
``ready`` nobody listens any more, so a late error goes to the container's stderr.
"""

import _socket
import os
import select

# After pivot_root the host's filesystem, and with it Python's library, is out of reach:
# everything the init may need is imported here, before it starts, and what only some
# configs need by preload().
from pyrunc.runtime import fault, jsonout, log, ocistate  # noqa: F401  (log lines may format JSON)
from pyrunc.runtime.errors import PyruncError, SysError
from pyrunc.runtime.linux import consts, devices, libc, mounts, mountsrc, paths, procwrite, rootfs
from pyrunc.runtime.process import forked, preexec, sync
from pyrunc.runtime.process.init_options import InitOptions
from pyrunc.spec import caps as _caps  # noqa: F401  (used by credentials.switch)


def preload(plan) -> None:
    """Import what this config needs of the init's optional parts (a terminal: tty and
    termios; createContainer or startContainer hooks: hooks) while the host's library is in
    reach: their later imports find them loaded."""
    if plan.process is not None and plan.process.terminal:
        from pyrunc.runtime.linux import tty  # noqa: F401
    if "createContainer" in plan.hooks or "startContainer" in plan.hooks:
        from pyrunc.runtime.process import hooks  # noqa: F401


def main(opts: InitOptions, sock: sync.Sock) -> None:
    """Never returns: execve or os._exit."""
    try:
        path, argv, env = setup(opts, sock)
        wait_for_start(opts)
        if "startContainer" in opts.plan.hooks:
            # In the container's namespaces, after start, before the user program
            # (runtime.md); our end of the socket is closed: a failure goes to stderr.
            from pyrunc.runtime.process import hooks  # preloaded

            try:
                hooks.run_all(opts.plan.hooks["startContainer"], _state_for_hooks(opts, "created"),
                              "startContainer")
            except PyruncError as e:
                # runc's init prints the hook's error as it is, on the container's stderr.
                forked.say_and_exit(str(e))
        forked.exec_program(path, argv, env)
    except BaseException as e:  # never a traceback to the user: one line
        forked.fail(sock, e, "container init", os_error="exec")


def setup(opts: InitOptions, sock: sync.Sock) -> tuple[str, list[str], dict]:
    plan = opts.plan
    proc = plan.process
    assert proc is not None
    # A new session: the container's process must not share the runtime's terminal
    # or process group (and it needs one to take a controlling terminal).
    os.setsid()
    # Warnings from here on must reach the host's --log file, not a path in the rootfs.
    log.pin()
    log.forward(lambda level, msg: sync.send(sock, sync.LOG, f"{level}\0{msg}"))
    # Our pid as the runtime sees it, for the hooks' state: the host's /proc still shows it.
    opts.host_pid = int(os.readlink("/proc/self"))

    # --- filesystem, still seeing the host's /proc for our fd handles ---------------
    rootfd = rootfs.prepare_root(plan.rootfs, plan.rootfs_propagation)
    cgroup_ns = plan.namespace("cgroup") is not None
    dev_bound = False
    trees: dict[int, int] = {}
    sources: dict[int, int] = {}
    if any(m.idmap for m in plan.mounts) or mountsrc.wanted(plan):
        trees, sources = _mount_fds(opts, sock)
    ro_later = []
    for i, m in enumerate(plan.mounts):
        if mounts.mount_entry(rootfd, m, cgroup_ns, trees.pop(i, -1), sources.pop(i, -1)):
            ro_later.append(m)
        fault.point(f"mounts[{i}]")
        if paths.clean(m.destination) == "dev" and m.is_bind:
            dev_bound = True
    if not dev_bound:
        # In a new user namespace mknod is not allowed: bind the host's nodes instead.
        bind = plan.namespace("user") is not None
        os.close(paths.mkdir_all(rootfd, "/dev"))
        devices.create_default_devices(rootfd, plan.devices, bind)
        devices.create_links(rootfd)
        if _exists(rootfd, "/dev/pts/ptmx"):
            devices.setup_ptmx(rootfd)

    fault.point("devices")
    master = -1
    if proc.terminal:
        master = _open_terminal(rootfd, proc)

    # cwd exists before the root may turn read-only (runc creates it too).
    try:
        os.close(paths.mkdir_all(rootfd, proc.cwd))
    except SysError as e:
        raise PyruncError(f"process.cwd: {e.msg}") from None

    # Masked and readonly paths are mounted through handles opened via the host's /proc,
    # before pivot_root, so nothing the container mounted can stand in for them.
    # Readonly first, then masked: runc's order, which the container's mountinfo shows.
    rootfs.readonly_paths(rootfd, plan.readonly_paths)
    fault.point("readonly-paths")
    rootfs.mask_paths(rootfd, plan.masked_paths)
    fault.point("masked-paths")

    if master >= 0:
        _send_terminal(opts, sock, master)

    # Always (runc's procHooks): the runtime sets the device rules now that the nodes
    # exist, before pivot_root and /dev/null's reopen, then runs createRuntime hooks in
    # its namespaces, after ours exist (runtime.md).
    sync.send(sock, sync.HOOKS)
    sync.expect(sock, sync.OK)
    if "createContainer" in plan.hooks:
        # createContainer: in the container's namespaces, before pivot_root (runtime.md).
        # Still "creating", as for createRuntime (runtime.md; runc's createContainer state).
        from pyrunc.runtime.process import hooks  # preloaded

        try:
            hooks.run_all(plan.hooks["createContainer"], _state_for_hooks(opts, "creating"), "createContainer")
        except PyruncError as e:
            raise PyruncError(f"error during container init: {e}") from None  # runc's words
    if plan.sysctl:
        # After the hooks, in the container's namespaces (runc's order), through a procfs
        # handle no mount can shadow: one a hook made over /proc/sys cannot redirect it.
        _write_sysctls(plan.sysctl)
        fault.point("sysctl")

    # Read-only tmpfs entries last, after the mounts inside them and the hooks (runc's
    # finalizeRootfs), before anything of the user's runs.
    for m in ro_later:
        mounts.remount_readonly(rootfd, m)
    os.close(rootfd)
    if opts.no_pivot:
        rootfs.move_root(plan.rootfs)
    else:
        rootfs.pivot(plan.rootfs)

    fault.point("pivot_root")
    if not dev_bound:
        devices.reopen_dev_null()
    rootfs.apply_root_propagation(plan.rootfs_propagation)
    if plan.hostname:  # runc sets none for "" (the namespace keeps the host's name)
        try:
            _socket.sethostname(plan.hostname)
        except OSError as e:
            raise SysError("sethostname", e.errno or 0) from None  # runc's text: no name
    if plan.domainname:  # as for the hostname
        libc.setdomainname(plan.domainname)
    fault.point("hostname")
    if plan.root_readonly:
        rootfs.readonly_root()
        fault.point("rootfs-readonly")

    # "ready" before the seccomp filter and the privilege drop, as runc's init signals it
    # (a profile may deny the socket's calls); an error after it still goes to the runtime,
    # which reads on until we close the socket (or die): a filter that denies even that
    # leaves a created container whose init is gone, as under runc.
    sync.send(sock, sync.READY)
    # Ours, all close-on-exec: the sync socket and the exec FIFO (the log fd is added).
    path, argv, env = preexec.finish(proc, None if opts.no_new_keyring else opts.container_id,
                                     opts.preserve_fds, {sock.fileno(), opts.fifo_fd}, opts.seccomp)
    log.forward(None)
    sock.close()  # our init is complete: the runtime's read ends
    return path, argv, env


def _mount_fds(opts: InitOptions, sock: sync.Sock) -> tuple[dict[int, int], dict[int, int]]:
    """What the runtime opens for our mounts, with the privilege we lost with the user
    namespace: idmapped trees (detached, to attach) and bind sources (O_PATH fds opened
    as the host's root in our mount namespace, runc's mount sources).  Two maps from the
    mount's index to the fd."""
    sync.send(sock, sync.MOUNTFDS, str(opts.host_pid))
    trees: dict[int, int] = {}
    sources: dict[int, int] = {}
    try:
        while True:
            kind, payload, fds = sync.recv(sock)
            if kind not in (sync.MOUNTTREE, sync.MOUNTSRC, sync.OK):
                sync.close_all(fds)
                raise PyruncError(f"sync: unexpected message {kind!r} while waiting for the mounts' fds")
            sync.check_fds(kind, fds, "the runtime")
            if kind == sync.OK:
                return trees, sources
            (trees if kind == sync.MOUNTTREE else sources)[int(payload)] = fds[0]
    except BaseException:
        sync.close_all([*trees.values(), *sources.values()])
        raise


#: What runc's waiting init (a Go program) dies of: Go's runtime catches these and exits
#: (status 2, as pid 1 of its namespace cannot die of its own re-raised signal).  A
#: created container sent SIGTERM is then stopped under both runtimes.
_DEADLY_WHILE_WAITING = (1, 2, 3, 4, 5, 6, 7, 8, 11, 15, 16, 31)


def _die_quietly(_sig: int, _frame: object) -> None:
    os._exit(2)


def wait_for_start(opts: InitOptions) -> None:
    """Block until `start` writes the exec FIFO (runtime.md: the process runs at start)."""
    fd = opts.fifo_fd
    if fd < 0:
        return
    import _signal  # the C module: no enum import on the hot path

    saved = {n: _signal.signal(n, _die_quietly) for n in _DEADLY_WHILE_WAITING}
    try:
        _wait_fifo(fd)
    finally:
        for n, h in saved.items():
            _signal.signal(n, h)


def _wait_fifo(fd: int) -> None:
    while True:
        p = select.poll()
        p.register(fd, select.POLLIN)
        p.poll()
        try:
            data = os.read(fd, 1)
        except BlockingIOError:
            continue
        if data:
            os.close(fd)
            return
        # A writer came and went without a byte: reopen to clear the hang-up.
        nfd = os.open(f"/proc/self/fd/{fd}", os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        os.dup2(nfd, fd, inheritable=False)
        os.close(nfd)


def _exists(rootfd: int, path: str) -> bool:
    try:
        os.close(paths.open_in_root(rootfd, path))
        return True
    except SysError:
        return False


def _open_terminal(rootfd: int, proc) -> int:
    """The pty comes from the container's own devpts (after /dev/pts is mounted); the
    slave becomes stdio and controlling terminal, and is bound over /dev/console."""
    def opener() -> int:
        try:
            return paths.open_in_root(rootfd, "/dev/pts/ptmx", os.O_RDWR | os.O_NOCTTY)
        except SysError as e:
            raise PyruncError(f"process.terminal: open /dev/pts/ptmx: {e.msg.split(': ')[-1]} "
                              "(is devpts mounted at /dev/pts?)") from None

    from pyrunc.runtime.linux import tty  # preloaded

    master, slave = tty.open_pty(opener)
    if proc.console_size:
        tty.set_winsize(master, proc.console_size[0], proc.console_size[1])
    # Bound from the pty fd itself onto a file made here, never through a path the
    # image or the container could have swapped (CVE-2025-52565).
    cfd = devices.bind_target(rootfd, "/dev/console")
    try:
        libc.mount(paths.fd_path(slave), paths.fd_path(cfd), None, consts.MS_BIND, None, what="/dev/console")
    finally:
        os.close(cfd)
    tty.give_to(slave, proc.uid)
    tty.make_controlling(slave)
    os.close(slave)
    return master


def _send_terminal(opts: InitOptions, sock: sync.Sock, master: int) -> None:
    """The master goes to the runtime, which hands it on to --console-socket: the socket
    is the caller's, reachable with the runtime's privilege, not always with the init's
    (a user namespace's root may not search a 0700 directory of the host's root)."""
    sync.send(sock, sync.TTY, "", [master])
    os.close(master)


def _state_for_hooks(opts: InitOptions, status: str) -> str:
    return ocistate.state_json(opts.container_id, status, opts.host_pid, opts.plan.bundle, opts.plan.annotations)


def _write_sysctls(sysctl: dict[str, str]) -> None:
    """Through the private procfs handle (procwrite), never the container's /proc: a
    mount over /proc/sys cannot turn the write into a write elsewhere (CVE-2025-52881).
    Each file resolves in this process's namespaces (net, ipc, uts), the container's."""
    for key, val in sysctl.items():
        rel = "sys/" + _sysctl_path(key)
        try:
            procwrite.write(rel, val)
        except SysError as e:
            raise PyruncError(f"linux.sysctl.{key}: {e.msg}") from None


__all__ = ["main"]


def _sysctl_path(key: str) -> str:
    """The /proc/sys path of a sysctl in either spelling (spec.load.sysctl_dotted's rule;
    no import: the init runs it in the container)."""
    i = min((k for k in (key.find("."), key.find("/")) if k >= 0), default=-1)
    dotted = key if i < 0 or key[i] == "." else key.translate(str.maketrans("./", "/."))
    return dotted.translate(str.maketrans("./", "/."))
