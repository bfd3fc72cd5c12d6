"""exec: a new process inside a running container (runc exec).

The parent places a child in the container's cgroups; the child opens the init's
namespaces, joins them (the mount namespace last: after it the host's files, Python's
library among them, are gone, so everything is imported first) and forks the process,
which becomes part of the container's pid namespace.  That process sets its identity as
the init did (user.switch), closes every fd it should not have and execs; the sync socket
is close-on-exec, so its EOF tells the parent the exec succeeded, and a message on it is
the error.  Until execve the process is the host's interpreter: not dumpable
(CVE-2019-5736), like the init.
"""

import _signal
import os

from pyrunc.runtime import jsonout, log  # noqa: F401  (imported before the mount namespace changes)
from pyrunc.runtime.errors import PyruncError, SysError
from pyrunc.runtime.linux import consts as c
from pyrunc.runtime.linux import libc, tty
from pyrunc.runtime.process import console, sync, user
from pyrunc.runtime.process.init import _env_dict, _environment, _rlim, lookup
from pyrunc.spec import caps as _caps  # noqa: F401

#: The order namespaces are joined in: the others while we still hold the host's
#: capabilities, then the mount namespace (after every import), the user namespace last
#: (after it we only hold capabilities inside the container's).
_NS = (("cgroup", c.CLONE_NEWCGROUP), ("ipc", c.CLONE_NEWIPC), ("uts", c.CLONE_NEWUTS),
       ("net", c.CLONE_NEWNET), ("pid", c.CLONE_NEWPID), ("time", c.CLONE_NEWTIME), ("mnt", c.CLONE_NEWNS),
       ("user", c.CLONE_NEWUSER))


class ExecOptions:
    __slots__ = ("init_pid", "proc", "console_socket", "preserve_fds", "relay_tty", "container_id")

    def __init__(self, init_pid: int, proc, console_socket: str, preserve_fds: int, relay_tty: bool,
                 container_id: str = "") -> None:
        self.container_id = container_id
        self.init_pid = init_pid
        self.proc = proc
        self.console_socket = console_socket
        self.preserve_fds = preserve_fds
        self.relay_tty = relay_tty


def launch(opts: ExecOptions, place_in_cgroups) -> tuple[int, int]:
    """(pid of the new process, pty master for a relayed terminal or -1)."""
    libc.prctl(libc.PR_SET_CHILD_SUBREAPER, 1, what="set child subreaper")
    parent, child = sync.pair()
    mid = os.fork()
    if mid == 0:
        parent.close()
        _middle(opts, child)
    child.close()
    pid, master = 0, -1
    try:
        place_in_cgroups(mid)
        sync.send(parent, "go")
        while True:
            kind, payload, fds = sync.recv(parent)
            if kind == "pid":
                pid = int(payload)
                _reap(mid)
                mid = 0
            elif kind == "tty":
                master = fds[0]
            elif kind == "error":
                raise PyruncError(f"unable to start container process: {payload}")
            elif kind == "eof":
                if not pid:
                    raise PyruncError("unable to start container process: the exec child died")
                break  # close-on-exec: the exec succeeded
    except BaseException:
        for p in (mid, pid):
            if p:
                try:
                    os.kill(p, 9)
                except ProcessLookupError:
                    pass
                _reap(p)
        if master >= 0:
            os.close(master)
        raise
    finally:
        parent.close()
    return pid, master


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _middle(opts: ExecOptions, sock) -> None:
    try:
        for s in range(1, _signal.SIGRTMIN):
            if s not in (9, 19):
                try:
                    _signal.signal(s, _signal.SIG_DFL)
                except (OSError, ValueError):
                    pass
        libc.reset_signal_dispositions()
        libc.prctl(libc.PR_SET_DUMPABLE, 0, what="set not dumpable")
        sync.expect(sock, "go")
        csock = _connect_console(opts.console_socket) if opts.console_socket else None
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
        for name, flag, fd in fds:
            try:
                libc.setns(fd, flag, f"{name} namespace of the container")
            finally:
                os.close(fd)
        pid = os.fork()
        if pid == 0:
            _process(opts, sock, csock)
        sync.send(sock, "pid", str(pid))
        os._exit(0)
    except PyruncError as e:
        _report(sock, str(e))
    except BaseException as e:
        _report(sock, f"internal error in exec: {type(e).__name__}: {e}")
    os._exit(1)


def _report(sock, msg: str) -> None:
    try:
        sync.send(sock, "error", msg)
    except OSError:
        pass


def _connect_console(path: str):
    import _socket

    s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        s.connect(path)
    except OSError as e:
        s.close()
        raise PyruncError(f"--console-socket {path}: {(e.strerror or str(e)).lower()}") from None
    return s


def _process(opts: ExecOptions, sock, csock) -> None:
    """The exec'd process, in the container's pid namespace: never returns."""
    try:
        proc = opts.proc
        if proc.terminal:
            os.setsid()
            _terminal(opts, sock, csock)
        if csock is not None:
            csock.close()
        import resource

        if opts.container_id:
            # A session keyring of the container's, never the caller's (runc's setns init).
            try:
                libc.join_session_keyring(f"_ses.{opts.container_id}")
            except SysError:
                pass
        if proc.oom_score_adj is not None:
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write(str(proc.oom_score_adj))
        for rl in proc.rlimits:
            try:
                resource.setrlimit(rl.resource, (_rlim(rl.soft), _rlim(rl.hard)))
            except (OSError, ValueError) as e:
                raise PyruncError(f"process.rlimits: setrlimit {rl.name}: {e}") from None
        os.umask(proc.umask if proc.umask is not None else 0o022)
        _close_fds(opts, sock)
        user.switch(proc)
        try:
            os.chdir(proc.cwd)
        except OSError as e:
            raise PyruncError(f"chdir to cwd ({proc.cwd!r}) set in config.json failed: "
                              f"{(e.strerror or '').lower()}") from None
        env = _environment(proc)
        path = lookup(proc.args[0], env)
        if proc.no_new_privileges:
            libc.prctl(38, 1, what="set no_new_privs")
        os.execve(path, list(proc.args), _env_dict(env))
    except PyruncError as e:
        _report(sock, str(e))
    except OSError as e:
        _report(sock, f"exec: {(e.strerror or str(e)).lower()}")
    except BaseException as e:
        _report(sock, f"internal error in exec: {type(e).__name__}: {e}")
    os._exit(1)


def _terminal(opts: ExecOptions, sock, csock) -> None:
    def opener() -> int:
        try:
            return os.open("/dev/pts/ptmx", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
        except OSError as e:
            raise SysError("open /dev/pts/ptmx", e.errno or 0) from None

    master, slave = tty.open_pty(opener)
    if opts.proc.console_size:
        tty.set_winsize(master, *opts.proc.console_size)
    try:
        os.fchown(slave, opts.proc.uid, opts.proc.gid)
    except OSError:
        pass
    tty.make_controlling(slave)
    os.close(slave)
    if csock is not None:
        import struct

        csock.sendmsg([b"/dev/ptmx"], [(1, 1, struct.pack("i", master))])  # SOL_SOCKET, SCM_RIGHTS
    else:
        sync.send(sock, "tty", "", [master])
    os.close(master)


def _close_fds(opts: ExecOptions, sock) -> None:
    keep_hi = 3 + opts.preserve_fds
    for fd in range(3, keep_hi):
        try:
            os.set_inheritable(fd, True)
        except OSError:
            pass
    own = sorted({sock.fileno(), log.pinned_fd()} - {-1})
    lo = keep_hi
    for fd in own:
        if fd >= lo:
            os.closerange(lo, fd)
            lo = fd + 1
    os.closerange(lo, 1 << 20)


__all__ = ["ExecOptions", "launch", "console"]
