"""The last steps before execve, shared by the container's init and by exec: session
keyring, oomScoreAdj, rlimits, umask, fd hygiene, user and capabilities, cwd, the
environment, argv[0] and no_new_privs.

The order, and why: rlimits and oomScoreAdj before the user switch (raising a hard limit
or lowering the OOM score needs CAP_SYS_RESOURCE); fds closed before the switch so nothing
the runtime holds survives; cwd after it, so it is reached as the user; no_new_privs last,
after the capability changes (seccomp will go right there).
"""

import errno
import os
import resource
import stat

from pyrunc.runtime import log
from pyrunc.runtime.errors import PyruncError, SysError
from pyrunc.runtime.linux import libc, procwrite
from pyrunc.runtime.process import user
from pyrunc.spec import caps as _caps  # noqa: F401  (used by user.switch, after the mount ns changes)

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def finish(proc, keyring_id: str | None, preserve_fds: int, own_fds: set[int]) -> tuple[str, list[str], dict]:
    """Apply ``proc`` (a spec Process) to this process; returns (path, argv, env) for
    execve.  ``keyring_id``: join a new session keyring ``_ses.<id>`` (None: keep ours)."""
    if keyring_id is not None:
        try:
            libc.join_session_keyring(f"_ses.{keyring_id}")
        except SysError as e:
            if e.errno not in (errno.ENOSYS, errno.EACCES, errno.EPERM, errno.EDQUOT):
                raise
    for rl in proc.rlimits:
        try:
            resource.setrlimit(rl.resource, (_rlim(rl.soft), _rlim(rl.hard)))
        except (OSError, ValueError) as e:
            raise PyruncError(f"process.rlimits: setrlimit {rl.name}: {e}") from None
    os.umask(proc.umask if proc.umask is not None else 0o022)
    close_fds(preserve_fds, own_fds | {log.pinned_fd(), procwrite.handle_fd()})
    # bounding set, keep-caps, setgroups/setgid/setuid, the other sets, ambient.
    user.switch(proc)
    chdir_inside(proc.cwd)
    env = environment(proc)
    path = lookup(proc.args[0], env)
    if proc.no_new_privileges:
        libc.prctl(libc.PR_SET_NO_NEW_PRIVS, 1, what="set no_new_privs")
    return path, list(proc.args), env_dict(env)


def chdir_inside(cwd: str) -> None:
    """chdir to the process's cwd, and check it is inside the container's root: a cwd
    such as /proc/self/fd/N naming an fd the runtime still holds would otherwise leave
    the process outside it (CVE-2024-21626); getcwd(2) then reports "(unreachable)"."""
    try:
        os.chdir(cwd)
        where = os.getcwd()
    except OSError as e:
        raise PyruncError(f"chdir to cwd ({cwd!r}) set in config.json failed: "
                          f"{(e.strerror or '').lower()}") from None
    if not where.startswith("/"):
        raise PyruncError(f"chdir to cwd ({cwd!r}) set in config.json failed: "
                          "it is outside the container's root")


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
