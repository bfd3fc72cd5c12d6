"""The last steps before execve, shared by the container's init and by exec: session
keyring, oomScoreAdj, rlimits, umask, fd hygiene, user and capabilities, cwd, the
environment, argv[0] and no_new_privs.
Layer: process (may import spec, linux and the base).

The order, and why: rlimits and oomScoreAdj before the user switch (raising a hard limit
or lowering the OOM score needs CAP_SYS_RESOURCE); scheduler and I/O priority too
(CAP_SYS_NICE); personality before seccomp (a profile may restrict personality(2)); fds
closed before the switch so nothing the runtime holds survives; cwd before it, as runc
(a directory only root may enter still works), and once more after it when the runtime
was refused; no_new_privs last, after the capability changes.

Seccomp, as runc: without noNewPrivileges the filter is loaded before the user switch
(loading one then needs CAP_SYS_ADMIN), so setgroups/setuid/capset/chdir/stat/execve run
under it; with noNewPrivileges it is loaded last, right after no_new_privs, and only
sendmsg (a notify listener), the exec FIFO (read, poll), startContainer hooks and execve
follow.  A profile that denies those calls stops the container from starting, as with runc.
"""

import errno
import os
import resource
import stat

from pyrunc.runtime import fault, log
from pyrunc.runtime.errors import PyruncError, SysError
from pyrunc.runtime.linux import libc, numa, procwrite
from pyrunc.runtime.process import credentials, sync
from pyrunc.spec import caps as _caps  # noqa: F401  (used by credentials.switch, after the mount ns changes)

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def finish(proc, keyring_id: str | None, preserve_fds: int, own_fds: set[int],
           seccomp: "CompiledSeccomp | None" = None) -> tuple[str, list[str], dict]:
    """Apply ``proc`` (a spec Process) to this process; returns (path, argv, env) for
    execve.  ``keyring_id``: join a new session keyring ``_ses.<id>`` (None: keep ours);
    ``seccomp``: ``proc.seccomp`` compiled before the mount namespace changed."""
    if keyring_id is not None:
        try:
            libc.join_session_keyring(f"_ses.{keyring_id}")
        except SysError as e:
            if e.errno not in (errno.ENOSYS, errno.EACCES, errno.EPERM, errno.EDQUOT):
                raise
    for i, rl in enumerate(proc.rlimits):
        set_rlimit(i, rl)
    os.umask(proc.umask if proc.umask is not None else 0o022)
    # Scheduler and I/O priority while we still hold CAP_SYS_NICE; personality before any
    # seccomp filter (profiles such as Docker's restrict personality(2)'s argument).
    apply_scheduling(proc)
    if proc.personality is not None:
        set_personality(proc.personality)
    if proc.memory_policy is not None:
        # linux.memoryPolicy: this thread's policy, kept across execve; before any seccomp
        # filter (a profile may deny set_mempolicy(2)), as runc sets it.
        numa.apply(proc.memory_policy)
    # The exec labels take effect at execve (attr/exec), written while we may still write them.
    apply_lsm_labels(proc)
    close_fds(preserve_fds, own_fds | {log.pinned_fd(), procwrite.handle_fd()})
    if proc.seccomp is not None and not proc.no_new_privileges:
        # Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: before the capabilities
        # go (runc's order).  Every later step of the runtime runs under the filter.
        load_seccomp(seccomp)
        fault.point("seccomp")
    # cwd first as the runtime (runc's finalizeNamespace): a directory only root may enter
    # is reached before the switch and stays the cwd; on EACCES/EPERM once more as the
    # user after it (a volume chowned to the user that root-squashing denies the runtime).
    entered = enter_cwd(proc.cwd, retry_as_user=True)
    # bounding set, keep-caps, setgroups/setgid/setuid, the other sets, ambient.
    credentials.switch(proc)
    if not entered:
        enter_cwd(proc.cwd, retry_as_user=False)
    # Wherever it was entered, the cwd must be inside the container's root (CVE-2024-21626).
    check_cwd_inside(proc.cwd)
    env = environment(proc)
    path = lookup(proc.args[0], env)
    if proc.no_new_privileges:
        libc.prctl(libc.PR_SET_NO_NEW_PRIVS, 1, what="set no_new_privs")
        if proc.seccomp is not None:
            # no_new_privs before seccomp (then no privilege is needed); last, so the
            # filter sees as few of the runtime's own calls as possible.
            load_seccomp(seccomp)
            fault.point("seccomp")
    fault.point("exec")
    return path, list(proc.args), env_dict(env)


def set_rlimit(index: int, rl) -> None:
    """setrlimit(2) one of process.rlimits, failing with runc's text: engines class errors
    by it (Podman makes "operation not permitted" an "OCI permission denied")."""
    try:
        # prlimit, not setrlimit: CPython turns setrlimit's EPERM into a ValueError.
        resource.prlimit(0, rl.resource, (_rlim(rl.soft), _rlim(rl.hard)))
    except (OSError, ValueError) as e:
        # prlimit's only ValueError is the kernel's EINVAL (soft above hard).
        err = e.errno if isinstance(e, OSError) and e.errno else errno.EINVAL
        raise PyruncError(f"process.rlimits[{index}]: error setting rlimits for ready process: "
                          f"error setting rlimit type {rl.resource}: {os.strerror(err).lower()}") from None


class CompiledSeccomp:
    """A spec ``Seccomp`` compiled to BPF, and the channel its notify listener goes back on.
    Kept beside the Plan, never in it: the Plan is not changed after it is checked."""

    __slots__ = ("sc", "program", "sock")

    def __init__(self, sc, program: bytes, sock: sync.Sock) -> None:
        self.sc = sc
        self.program = program
        self.sock = sock


def compile_seccomp(sc, sock: sync.Sock) -> CompiledSeccomp:
    """Compile the filter now, while the host's libseccomp.so is reachable (after
    pivot_root it is not; finish only hands the program to seccomp(2)); a notify listener
    goes back over ``sock`` to the runtime.  Runs before the parent's "go": an error waits
    for it, so the parent reads the error, not a closed socket."""
    from pyrunc.runtime.linux import seccomp

    try:
        return CompiledSeccomp(sc, seccomp.compile_filter(sc), sock)
    except PyruncError:
        sync.close_all(sync.recv(sock)[2])  # "go" carries none
        raise


def load_seccomp(compiled: CompiledSeccomp | None) -> None:
    """Load the filter compiled before the mount namespace changed; a notify listener goes
    back to the runtime at once, which hands it to listenerPath (config-linux.md
    "Seccomp").  Between the load and that sendmsg(2) no other call of ours may be
    notified: spec.seccomp refuses SCMP_ACT_NOTIFY for sendmsg."""
    if compiled is None:
        raise PyruncError("internal error: the seccomp filter was not compiled before the mount namespace changed")
    from pyrunc.runtime.linux import seccomp  # already imported by launch/execproc, before pivot_root

    sc = compiled.sc
    fd = seccomp.load(compiled.program, sc.kernel_flags, sc.notify)
    if fd < 0:
        return
    try:
        sync.send(compiled.sock, sync.SECCOMP, "", [fd])
    finally:
        os.close(fd)


# --- process attributes: config.md "process" scheduler/ioPriority, config-linux.md "Personality"

def apply_scheduling(proc) -> None:
    """sched_setattr(2) for process.scheduler and ioprio_set(2) for process.ioPriority.
    The I/O priority is set on this process (as runc does, IOPRIO_WHO_PROCESS): every
    process of the container descends from it and inherits it, and the process group
    of an exec'd process may still be the caller's."""
    if proc.scheduler is not None:
        s = proc.scheduler
        try:
            libc.sched_setattr(s.policy, s.flags, s.nice, s.priority, s.runtime, s.deadline, s.period)
        except SysError as e:
            raise PyruncError(f"process.scheduler: sched_setattr {s.policy_name}: {_reason(e)}") from None
    if proc.io_priority is not None:
        try:
            libc.ioprio_set(libc.IOPRIO_WHO_PROCESS, 0, proc.io_priority)
        except SysError as e:
            raise PyruncError(f"process.ioPriority: ioprio_set: {_reason(e)}") from None


def set_personality(persona: int) -> None:
    try:
        libc.personality(persona)
    except SysError as e:
        raise PyruncError(f"linux.personality: personality {persona:#x}: {_reason(e)}") from None


def _reason(e: SysError) -> str:
    return os.strerror(e.errno).lower() if e.errno else e.msg


def apply_lsm_labels(proc) -> None:
    """process.apparmorProfile / selinuxLabel for the program execve starts, through
    /proc/thread-self/attr (spec.load refuses them where the LSM is absent)."""
    if proc.apparmor_profile:
        try:
            # The AppArmor-specific file first (stacked LSMs), then the shared one.
            procwrite.write_proc_file("attr/apparmor/exec", "exec " + proc.apparmor_profile)
        except SysError:
            try:
                procwrite.write_proc_file("attr/exec", "exec " + proc.apparmor_profile)
            except SysError as e:
                raise PyruncError(f"process.apparmorProfile: apply {proc.apparmor_profile!r}: {e.msg}") from None
    if proc.selinux_label:
        try:
            procwrite.write_proc_file("attr/exec", proc.selinux_label)
        except SysError as e:
            raise PyruncError(f"process.selinuxLabel: set {proc.selinux_label!r}: {e.msg}") from None


def enter_cwd(cwd: str, retry_as_user: bool) -> bool:
    """chdir to the process's cwd; False when it was refused for permission and
    ``retry_as_user`` says a second attempt as the user follows (runc's os.IsPermission)."""
    try:
        os.chdir(cwd)
    except OSError as e:
        if retry_as_user and e.errno in (errno.EACCES, errno.EPERM):
            return False
        raise PyruncError(f"chdir to cwd ({_quote(cwd)}) set in config.json failed: "
                          f"{(e.strerror or '').lower()}") from None
    return True


def check_cwd_inside(cwd: str) -> None:
    """The cwd is inside the container's root: a cwd such as /proc/self/fd/N naming an
    fd the runtime still holds would otherwise leave the process outside it
    (CVE-2024-21626); getcwd(3) then fails with ENOENT ("(unreachable)").  runc's
    verifyCwd texts."""
    try:
        where = os.getcwd()
    except OSError as e:
        if e.errno == errno.ENOENT:
            raise PyruncError("current working directory is outside of container mount namespace root -- "
                              "possible container breakout detected") from None
        # e.g. a seccomp profile that denies getcwd(2), loaded before us without no_new_privs
        raise PyruncError("failed to verify if current working directory is safe: "
                          f"{(e.strerror or '').lower()}") from None
    if not where.startswith("/"):
        raise PyruncError("current working directory is not absolute -- possible container breakout "
                          f"detected: cwd is {_quote(where)}")


def _quote(s: str) -> str:
    """Go's %q for the texts runc formats with it (a double-quoted string; backslash and
    quote escaped).  No import: this runs after pivot_root, where the host's library is
    out of reach."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def close_fds(preserve_fds: int, own_fds: set[int]) -> None:
    """Only stdio, fds 3..3+preserve_fds-1 and our own close-on-exec handles survive."""
    keep_hi = 3 + preserve_fds
    for fd in range(3, keep_hi):
        try:
            os.set_inheritable(fd, True)
        except OSError:
            pass
    lo = keep_hi
    for fd in sorted(own_fds - {-1}):
        if fd >= lo:
            os.closerange(lo, fd)
            lo = fd + 1
    os.closerange(lo, 1 << 20)


def write_oom_score_adj(value: int) -> None:
    """process.oomScoreAdj, written by the runtime's child before it enters a user
    namespace (the container's processes inherit it), through a procfs handle the
    container cannot have shadowed."""
    try:
        procwrite.write_proc_file("oom_score_adj", str(value))
    except SysError as e:
        if e.errno == errno.EACCES:
            # proc(5): a score below the current minimum needs CAP_SYS_RESOURCE.  Said so,
            # not "permission denied": Docker reads those words as "the command cannot be
            # invoked" (exit 126) where runc's create fails as a daemon error (125).
            raise PyruncError(f"process.oomScoreAdj: lowering it to {value} needs CAP_SYS_RESOURCE, "
                              "which the runtime does not have") from None
        raise PyruncError(f"process.oomScoreAdj: {e.msg}") from None


def env_dict(env: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for e in env:
        k, _, v = e.partition("=")
        out[k] = v
    return out


def _rlim(v: int) -> int:
    return resource.RLIM_INFINITY if v >= 2**64 - 1 else v


def environment(proc) -> list[str]:
    env = list(proc.env)
    if not any(e.startswith("HOME=") for e in env):
        env.append("HOME=" + _home(proc.uid))
    return env


def _home(uid: int) -> str:
    try:
        with open("/etc/passwd") as f:
            for line in f:
                parts = line.rstrip("\n").split(":")
                if len(parts) >= 6 and parts[2] == str(uid):
                    return parts[5] or "/"
    except OSError:
        pass
    return "/"


def lookup(name: str, env: list[str]) -> str:
    """Resolve argv[0] as execvp would, with the container's PATH (runc's texts)."""
    if "/" in name:
        try:
            st = os.stat(name)
        except OSError as e:
            raise PyruncError(f'exec: "{name}": stat {name}: {(e.strerror or "").lower()}') from None
        if stat.S_ISDIR(st.st_mode) or not os.access(name, os.X_OK):
            raise PyruncError(f'exec: "{name}": permission denied')
        return name
    path = DEFAULT_PATH
    for e in env:
        if e.startswith("PATH="):
            path = e[5:]
    for d in path.split(":"):
        cand = os.path.join(d or ".", name)
        if os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    raise PyruncError(f'exec: "{name}": executable file not found in $PATH')

