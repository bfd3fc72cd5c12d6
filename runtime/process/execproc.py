"""exec: a new process inside a running container (runc exec).
Layer: process (may import spec, linux and the base).

The parent forks a child into the container's cgroup2 directory (or places it there),
the child joins the v1 ones itself (forked.join_cgroups), then opens the init's
namespaces, joins them (the mount namespace last: after it the host's files, Python's
library among them, are gone, so everything is imported first) and forks the process,
which becomes part of the container's pid namespace.  That process sets its identity as
the init did (credentials.switch), closes every fd it should not have and execs; the sync socket
is close-on-exec, so its EOF tells the parent the exec succeeded, and a message on it is
the error.  Until execve the process is the host's interpreter: not dumpable
(CVE-2019-5736), like the init.
"""

import os

from pyrunc.runtime import jsonout, log  # noqa: F401  (imported before the mount namespace changes)
from pyrunc.runtime.errors import PyruncError, SysError
from pyrunc.runtime.linux import affinity, libc, tty
from pyrunc.runtime.linux import consts as c
from pyrunc.runtime.process import forked, preexec, sync

#: The order namespaces are joined in: the others while we still hold the host's
#: capabilities, then the mount namespace (after every import), the user namespace last
#: (after it we only hold capabilities inside the container's).
_NS = (("cgroup", c.CLONE_NEWCGROUP), ("ipc", c.CLONE_NEWIPC), ("uts", c.CLONE_NEWUTS),
       ("net", c.CLONE_NEWNET), ("pid", c.CLONE_NEWPID), ("time", c.CLONE_NEWTIME), ("mnt", c.CLONE_NEWNS),
       ("user", c.CLONE_NEWUSER))


class ExecOptions:
    __slots__ = ("init_pid", "proc", "console_socket", "preserve_fds", "relay_tty", "container_id",
                 "container_state", "seccomp", "stdio")

    def __init__(self, init_pid: int, proc, console_socket: str, preserve_fds: int, relay_tty: bool,
                 container_id: str = "") -> None:
        self.container_id = container_id
        self.init_pid = init_pid
        self.proc = proc
        self.console_socket = console_socket
        self.preserve_fds = preserve_fds
        self.relay_tty = relay_tty
        #: runtime.md "State" of the running container, for a seccomp agent (runtime/ocistate.py).
        self.container_state: dict | None = None
        #: the filter compiled in the middle child (preexec.compile_seccomp); not the Plan's.
        self.seccomp: preexec.CompiledSeccomp | None = None
        #: fds to become the process's 0, 1, 2 (a foreground exec's pipes), else inherited
        self.stdio: tuple[int, int, int] | None = None


def launch(opts: ExecOptions, place_in_cgroups, placed, born_in: str = "") -> tuple[int, int]:
    """(pid of the new process, pty master for a relayed terminal or -1).  As create's
    (launch.launch): the middle child is forked into ``born_in`` (a cgroup2 directory,
    "" for none), ``place_in_cgroups(pid, born)`` returns the v1 ``tasks`` files it joins
    itself after "go", ``placed(pid, error)`` follows once it is in them."""
    libc.prctl(libc.PR_SET_CHILD_SUBREAPER, 1, what="set child subreaper")
    aff = opts.proc.exec_cpu_affinity
    ours = None
    if aff is not None and aff[0]:
        # execCPUAffinity.initial: the child runs there from its first instruction until
        # it joins the container's cgroup, so it inherits it from us for the fork.
        ours = affinity.own()
        affinity.set_cpus(0, aff[0], "process.execCPUAffinity.initial")
    parent, child = sync.pair()
    mid, born = forked.fork_in(born_in)
    if mid == 0:
        parent.close()
        _middle(opts, child)
    if ours is not None:
        affinity.set_cpus(0, sorted(ours), "restore the runtime's CPU affinity")
    child.close()
    pid, master = 0, -1
    listener: list[int] = []  # a seccomp listener that came before the pid

    def joined(error: str) -> None:
        placed(mid, error)
        # runc's order: the final affinity right after the cgroup join (a cpuset cgroup
        # sets it on join), before the process is forked from ``mid`` and inherits it;
        # without any execCPUAffinity, every CPU, not the caller's (taskset) affinity.
        if aff is None:
            affinity.reset(mid)
        elif aff[1]:
            affinity.set_cpus(mid, aff[1], "process.execCPUAffinity.final")

    try:
        tasks = place_in_cgroups(mid, born)
        if not tasks:
            joined("")
        sync.send(parent, sync.GO, "\n".join(tasks))
        order = sync.Order(sync.exec_order(bool(tasks)))
        while True:
            kind, payload, fds = sync.recv(parent)
            order.check(kind, fds)
            if kind == sync.JOINED:
                joined(payload)
                sync.send(parent, sync.OK)
            elif kind == sync.PID:
                pid = int(payload)
                forked.reap(mid)
                mid = 0
                if listener:
                    _hand_over_listener(opts, pid, listener)
            elif kind == sync.SECCOMP:
                listener = fds
                if pid:
                    _hand_over_listener(opts, pid, listener)
            elif kind == sync.TTY:
                master = fds[0]
            elif kind == sync.LOG:
                log.relay(payload)
            elif kind == sync.ERROR:
                raise PyruncError(f"unable to start container process: {payload}")
            elif kind == sync.EOF:
                if not pid:
                    raise PyruncError("unable to start container process: the exec child died")
                break  # close-on-exec: the exec succeeded
    except BaseException:
        forked.kill_and_reap(mid, pid)
        if master >= 0:
            os.close(master)
        raise
    finally:
        parent.close()
        for fd in listener:
            os.close(fd)
    return pid, master


def _hand_over_listener(opts: ExecOptions, pid: int, fds: list[int]) -> None:
    """The exec'd process's notify listener -> listenerPath (config-linux.md): ``pid`` is
    that process, the state the running container's (runc)."""
    sc = opts.proc.seccomp
    if sc is None or not fds:
        raise PyruncError("sync: unexpected seccomp listener")
    from pyrunc.runtime import ocistate
    from pyrunc.runtime.linux import seccomp

    state = opts.container_state or ocistate.state(opts.container_id, "running", opts.init_pid, "", None)
    seccomp.hand_over_listener(sc.listener_path, fds[0], seccomp.process_state(sc, pid, state))


def _middle(opts: ExecOptions, sock) -> None:
    try:
        forked.prepare()
        forked.take_stdio(opts.stdio)
        if opts.proc.seccomp is not None:
            # Compiled here, overlapping the parent's cgroup work, and before the mount
            # namespace changes: after it the host's libseccomp.so is out of reach.
            opts.seccomp = preexec.compile_seccomp(opts.proc.seccomp, sock)
        forked.join_cgroups(sock, sync.expect(sock, sync.GO))
        csock = _connect_console(opts.console_socket) if opts.console_socket else None
        if opts.proc.oom_score_adj is not None:
            # Before the user namespace: see preexec.write_oom_score_adj.
            preexec.write_oom_score_adj(opts.proc.oom_score_adj)
        fds = []
        for name, flag in _NS:
            path = f"/proc/{opts.init_pid}/ns/{name}"
            try:
                if os.readlink(path) == os.readlink(f"/proc/self/ns/{name}"):
                    continue
                fds.append((name, flag, os.open(path, os.O_RDONLY | os.O_CLOEXEC)))
            except FileNotFoundError:
                continue
            except OSError as e:
                raise PyruncError(f"open {path}: {(e.strerror or '').lower()}") from None
        if os.geteuid() != 0:
            # Rootless: no capability over the container's namespaces until we are in
            # the user namespace that owns them, so it goes first.
            fds.sort(key=lambda f: f[0] != "user")
        for name, flag, fd in fds:
            try:
                libc.setns(fd, flag, f"{name} namespace of the container")
            finally:
                os.close(fd)
        pid = os.fork()
        if pid == 0:
            _process(opts, sock, csock)
        sync.send(sock, sync.PID, str(pid))
        os._exit(0)
    except BaseException as e:
        forked.fail(sock, e, "exec")


def _connect_console(path: str):
    from pyrunc.runtime.linux import unixsock

    return unixsock.connect(path, "--console-socket")


def _process(opts: ExecOptions, sock, csock) -> None:
    """The exec'd process, in the container's pid namespace: never returns."""
    try:
        proc = opts.proc
        # The runtime's warnings go back to `exec` (its --log or stderr), never to the
        # process's terminal or stdio.
        log.forward(lambda level, msg: sync.send(sock, sync.LOG, f"{level}\0{msg}"))
        if proc.terminal:
            os.setsid()
            _terminal(opts, sock, csock)
        if csock is not None:
            csock.close()
        # A session keyring of the container's, never the caller's (runc's setns init).
        path, argv, env = preexec.finish(proc, opts.container_id or None, opts.preserve_fds, {sock.fileno()},
                                         opts.seccomp)
        forked.exec_program(path, argv, env)
    except OSError as e:
        forked.report(sock, f"exec: {(e.strerror or str(e)).lower()}")
        os._exit(1)
    except BaseException as e:
        forked.fail(sock, e, "exec")


def _terminal(opts: ExecOptions, sock, csock) -> None:
    def opener() -> int:
        try:
            return os.open("/dev/pts/ptmx", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
        except OSError as e:
            raise SysError("open /dev/pts/ptmx", e.errno or 0) from None

    master, slave = tty.open_pty(opener)
    if opts.proc.console_size:
        tty.set_winsize(master, *opts.proc.console_size)
    tty.give_to(slave, opts.proc.uid)
    tty.make_controlling(slave)
    os.close(slave)
    if csock is not None:
        from pyrunc.runtime.linux.unixsock import send_fds

        send_fds(csock, b"/dev/ptmx", [master])
    else:
        sync.send(sock, sync.TTY, "", [master])
    os.close(master)


__all__ = ["ExecOptions", "launch"]
