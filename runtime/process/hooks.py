"""Running OCI hooks (config.md "POSIX-platform Hooks", runtime.md "Lifecycle").
Layer: process (may import spec, linux and the base).

Each hook gets the container's state JSON on stdin, its own ``args`` (args[0] is argv[0])
and ``env``, and is killed after ``timeout`` seconds.  The runner is called from the
runtime (createRuntime, prestart, poststart, poststop) and from inside the init
(createContainer, startContainer), hence it lives in the process layer.
"""

import os
import select
import time

from pyrunc.runtime.errors import PyruncError


def _enter_bundle(state: str) -> None:
    """A hook runs from the bundle directory, as runc's (runc works from the bundle during
    create); where the bundle cannot be entered (a hook inside the container after
    pivot_root) the working directory stays.  No import: this may run in the container."""
    key = '"bundle":'
    i = state.find(key)
    if i < 0:
        return
    j = state.find('"', i + len(key)) + 1
    out, k = [], j
    while 0 < k < len(state) and state[k] != '"':
        if state[k] == "\\" and k + 1 < len(state):
            k += 1
        out.append(state[k])
        k += 1
    try:
        os.chdir("".join(out))
    except OSError:
        pass


def run(hook, state: str, kind: str, index: int = 0) -> None:
    """Run one hook (``index``: its place in its list); a non-zero exit, a signal or the
    timeout is an error worded as runc's (configs.Command.Run, HookList.RunHooks): "error
    running hook #I: error running hook: exit status N, stdout: ..., stderr: ...", "...:
    signal: killed, ...", "error running hook #I: hook ran past specified timeout of
    1.0s".  The callers add runc's context (create: "error during container init").

    The hook gets what runc's gives it (libcontainer/configs Command.Run, an exec.Cmd
    with Stdin, Stdout and Stderr set and no ExtraFiles): fd 0 a pipe carrying the
    state, fds 1 and 2 two pipes the runtime reads, and whatever of the runtime's fds
    is inheritable.  None of ours is; create and run make the caller's close-on-exec
    before anything is spawned (container/handoff.py, cloexec_from), so only ``delete``'s
    poststop hooks see fds its caller passed, as runc's do."""
    rfd, wfd = os.pipe2(os.O_CLOEXEC)
    ofd_r, ofd_w = os.pipe2(os.O_CLOEXEC)
    efd_r, efd_w = os.pipe2(os.O_CLOEXEC)
    argv = hook.args or [hook.path]
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(rfd, 0)
            os.dup2(ofd_w, 1)
            os.dup2(efd_w, 2)
            if kind in ("prestart", "createRuntime", "createContainer", "poststart"):
                _enter_bundle(state)
            env = dict(e.partition("=")[::2] for e in hook.env)
            os.execve(hook.path, argv, env)
        except OSError as e:
            os.write(2, f"exec {hook.path}: {(e.strerror or '').lower()}".encode())
        except BaseException:  # a forked child never returns into the runtime
            pass
        os._exit(127)
    os.close(rfd)
    os.close(ofd_w)
    os.close(efd_w)
    os.set_blocking(wfd, False)
    readers = [ofd_r, efd_r]
    try:
        # The timeout covers everything: a hook that never reads its stdin times out too.
        deadline = None if hook.timeout is None else time.monotonic() + hook.timeout
        pending = state.encode()
        got = {ofd_r: b"", efd_r: b""}  # stdout and stderr, for the error (runc's carries both)
        while readers:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            r, w, _ = select.select(readers, [wfd] if wfd >= 0 else [], [], timeout)
            if w:
                try:
                    pending = pending[os.write(wfd, pending[:65536]):]
                except (BrokenPipeError, BlockingIOError) as e:
                    if isinstance(e, BrokenPipeError):
                        pending = b""
                if not pending:
                    os.close(wfd)
                    wfd = -1
                continue
            if not r:
                os.kill(pid, 9)  # SIGKILL
                os.waitpid(pid, 0)
                raise PyruncError(f"error running hook #{index}: hook ran past specified timeout of "
                                  f"{hook.timeout:.1f}s")
            for fd in r:
                chunk = os.read(fd, 4096)
                if not chunk:
                    readers.remove(fd)
                elif len(got[fd]) < _KEPT:
                    got[fd] += chunk
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            import _signal

            # Go's exec.ExitError: "exit status N", or "signal: NAME" (strsignal's words).
            why = f"exit status {code}" if code > 0 else f"signal: {(_signal.strsignal(-code) or str(-code)).lower()}"
            out, err = (got[fd].decode(errors="replace") for fd in (ofd_r, efd_r))
            raise PyruncError(f"error running hook #{index}: error running hook: {why}, stdout: {out}, stderr: {err}")
    finally:
        if wfd >= 0:
            os.close(wfd)
        os.close(ofd_r)
        os.close(efd_r)


#: How much of a failed hook's stdout and of its stderr the error carries.
_KEPT = 4096


def run_all(hooks: list, state: str, kind: str) -> None:
    for i, h in enumerate(hooks):
        run(h, state, kind, i)
