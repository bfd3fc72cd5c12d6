"""What every process the runtime forks toward a container needs, and how the parent ends
one that fails: shared by create (launch) and exec (execproc).  Layer: process (may import spec, linux and the base)."""

import _signal  # the C module: signal.py imports enum
import os

from pyrunc.runtime.errors import PyruncError
from pyrunc.runtime.process import sync


def fork_in(cgroup: str) -> tuple[int, bool]:
    """fork(); with ``cgroup`` (a cgroup2 directory: the container's, Manager.placement)
    the child is born in it (libc.fork_into_cgroup) and nobody moves it afterwards.
    Returns (pid, born there): 0 in the child; a kernel or a process that cannot (no
    clone3, a second thread, no permission) forks as before, the caller places the child."""
    if cgroup:
        from pyrunc.runtime.linux import libc

        if libc.only_thread():
            try:
                fd = os.open(cgroup, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            except OSError:
                fd = -1
            if fd >= 0:
                try:
                    pid = libc.fork_into_cgroup(fd)
                except OSError:
                    pid = -1
                finally:
                    os.close(fd)
                if pid >= 0:
                    return pid, True
    return os.fork(), False


def join_cgroups(sock: sync.Sock, tasks: str) -> None:
    """The child's side of "go": write "0" to each v1 ``tasks`` file the parent named
    (newline-separated; "" names none), tell it ``joined`` (with the reason, lower case,
    if the kernel refused: then exit) and wait for its ``ok``.  A thread's own move: this
    process must run one thread, or the others would stay behind."""
    if not tasks:
        return
    from pyrunc.runtime import fault

    err = ""
    try:
        if len(os.listdir("/proc/self/task")) != 1:
            err = "the process runs more than one thread"
        else:
            from pyrunc.runtime.linux.cgroups import directories

            directories.join_self(tasks.split("\n"))
            fault.point("cgroup-self-join")
    except OSError as e:
        err = (e.strerror or str(e)).lower() or f"errno {e.errno}"
    except PyruncError as e:
        err = str(e)
    sync.send(sock, sync.JOINED, err)
    if err:
        os._exit(1)
    sync.expect(sock, sync.OK)


def die_with_parent(parent: int) -> None:
    """SIGKILL this process when ``parent`` (the runtime that forked it) dies
    (PR_SET_PDEATHSIG), then make sure it has not died already: a parent gone between
    the fork and the prctl sends nothing, and the orphan would run on with nobody to
    tell.  The kernel clears the signal for our children and on a change of
    credentials (setresuid): called again after one."""
    from pyrunc.runtime.linux import libc

    libc.prctl(libc.PR_SET_PDEATHSIG, _signal.SIGKILL, what="set parent death signal")
    if os.getppid() != parent:
        os._exit(1)


def prepare() -> None:
    """Default signal dispositions (Python ignores SIGPIPE and SIGXFSZ, the runtime has
    handlers, a caller may have left any signal ignored: none of it reaches the
    container), then not dumpable: until execve this process is the host's interpreter,
    and nothing in the container may open /proc/PID/exe (CVE-2019-5736), its fds or its
    memory.  execve of the user's program resets the flag."""
    from pyrunc.runtime.linux import libc

    for s in range(1, _signal.SIGRTMIN):
        if s in (_signal.SIGKILL, _signal.SIGSTOP):
            continue
        try:
            _signal.signal(s, _signal.SIG_DFL)
        except (OSError, ValueError):
            pass
    libc.reset_signal_dispositions()  # every signal, including those Python cannot name
    if os.geteuid() == 0:
        libc.prctl(libc.PR_SET_DUMPABLE, 0, what="set not dumpable")
    # Rootless, the process stays dumpable: the interpreter belongs to root and the user
    # cannot write it (CVE-2019-5736 needs that), while its unprivileged parent must open
    # its /proc files to write the id maps and `exec` must open the namespaces of a waiting
    # init (runc, too, keeps a rootless init dumpable).


def take_stdio(stdio: tuple[int, int, int] | None) -> None:
    """``stdio`` (a foreground create's or exec's pipes) become this process's 0, 1 and 2,
    inheritable (the container's stdio), and their own fds are closed; None keeps what
    was inherited."""
    if stdio is None:
        return
    for n, fd in enumerate(stdio):
        os.dup2(fd, n)
    for fd in stdio:
        os.close(fd)


def report(sock, msg: str) -> None:
    """Send an error to the parent; a child that cannot tell it says it on stderr."""
    try:
        sync.send(sock, sync.ERROR, msg)
    except OSError:
        try:
            os.write(2, f"pyrunc: {msg}\n".encode())
        except OSError:
            pass


def say_and_exit(msg: str) -> None:
    """``msg`` and a newline on stderr, then exit status 1; never returns (what runc's init
    does with an error nobody is listening for any more)."""
    try:
        os.write(2, (msg + "\n").encode())
    except OSError:
        pass
    os._exit(1)


def fail(sock, e: BaseException, where: str, os_error: str = "") -> None:
    """The end of a forked child that failed, never returns: ``e`` goes to the parent as
    one line (a PyruncError's own text; with ``os_error``, an OSError as "OS_ERROR:
    strerror", the init's "exec: ..."; anything else "internal error in WHERE: Type:
    text", never a traceback), then exit status 1.  A parent no longer listening (the
    init after "ready" closed its end) gets it on stderr instead (:func:`report`)."""
    if isinstance(e, PyruncError):
        report(sock, str(e))
    elif os_error and isinstance(e, OSError):
        report(sock, f"{os_error}: {e.strerror.lower() if e.strerror else e}")
    else:
        report(sock, f"internal error in {where}: {type(e).__name__}: {e}")
    os._exit(1)


def exec_program(path: str, argv: list[str], env: dict) -> None:
    """execve the container's program; never returns.  Its lookup has succeeded, so a
    failure here (a binary whose interpreter or loader is missing: ENOENT, ENOEXEC, ...)
    is, as with runc, the program's own: Go's "exec PATH: ERRNO" on its stderr and exit
    status 1, not an error of the runtime (runc run/exec then exit 1, and so does Podman's)."""
    try:
        os.execve(path, argv, env)
    except OSError as e:
        try:
            os.write(2, f"exec {path}: {(e.strerror or str(e)).lower()}\n".encode())
        except OSError:
            pass
    os._exit(1)


def reap(pid: int, timeout: float | None = None) -> bool:
    """Wait for ``pid`` to exit, at most ``timeout`` seconds (None: as long as it takes);
    True once it is reaped or was already gone."""
    if timeout is None:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        return True
    import select
    import time

    deadline = time.monotonic() + timeout
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        fd = -1  # reaped already (ESRCH): waitpid says so below
    try:
        if fd >= 0:
            p = select.poll()
            p.register(fd, select.POLLIN)
            p.poll(int(timeout * 1000))
        while True:
            done, _ = os.waitpid(pid, os.WNOHANG)
            # A traced child (strace -f) is readable as a zombie before its tracer lets
            # us reap it: a little longer, within the bound.
            if done != 0 or fd < 0 or time.monotonic() >= deadline:
                return done != 0
            time.sleep(0.001)
    except ChildProcessError:
        return True
    finally:
        if fd >= 0:
            os.close(fd)


def kill_and_reap(*pids: int, timeout: float = 5.0) -> None:
    """SIGKILL and reap, for at most ``timeout`` seconds each: a process in a frozen v1
    cgroup does not die until it is thawed, and the runtime must not hang on it (it is
    then left to the reaper that inherits it)."""
    for pid in pids:
        if pid:
            try:
                os.kill(pid, 9)  # SIGKILL
            except ProcessLookupError:
                pass
            reap(pid, timeout)
