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


def run(hook, state: str, kind: str) -> None:
    """Run one hook; a non-zero exit, a signal or the timeout is an error naming it.

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
        err = b""  # stdout and stderr as they came, for the error's last line
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
                raise PyruncError(f"{kind} hook {hook.where} ({hook.path}): timed out after {hook.timeout}s")
            for fd in r:
                chunk = os.read(fd, 4096)
                if not chunk:
                    readers.remove(fd)
                elif len(err) < 4096:
                    err += chunk
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            detail = err.decode(errors="replace").strip().splitlines()
            why = f"exit status {code}" if code > 0 else f"killed by signal {-code}"
            extra = f": {detail[-1]}" if detail else ""
            raise PyruncError(f"{kind} hook {hook.where} ({hook.path}): {why}{extra}")
    finally:
        if wfd >= 0:
            os.close(wfd)
        os.close(ofd_r)
        os.close(efd_r)


def run_all(hooks: list, state: str, kind: str) -> None:
    for h in hooks:
        run(h, state, kind)
