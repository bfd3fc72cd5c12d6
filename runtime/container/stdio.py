"""The stdio of a process in the foreground (run and exec without -d): the caller's own
terminal, or three pipes the runtime copies (runc's setupIO / setupProcessPipes).
Layer: container (may import process, spec, linux and the base)."""

import os

from pyrunc.runtime.errors import PyruncError


def check_caller_tty() -> None:
    """runc (run and exec): a foreground terminal is the caller's own: stderr, stdout or
    stdin when one is a terminal, else /dev/tty, which must exist ("open /dev/tty: ...")
    before anything is made (runc's initHostConsole)."""
    if any(os.isatty(fd) for fd in (2, 1, 0)):
        return
    try:
        os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC))
    except OSError as e:
        raise PyruncError(f"open /dev/tty: {(e.strerror or '').lower()}") from None


def root_id(pid: int, kind: str) -> int:
    """The host's id of the container's root (``kind`` "uid" or "gid"), from its init's
    map; 0 when it cannot be read."""
    try:
        with open(f"/proc/{pid}/{kind}_map") as f:
            for line in f:
                inside, outside, _n = line.split()
                if inside == "0":
                    return int(outside)
    except (OSError, ValueError):
        pass
    return 0


def stdio_pipes(uid: int, gid: int) -> list[tuple[int, int]]:
    """A foreground run or exec without a terminal gives the process three pipes, owned by
    the container's root (``uid``, ``gid`` on the host; runc's setupProcessPipes), and
    copies them to and from its own stdio: the container never holds the caller's files."""
    pipes: list[tuple[int, int]] = []
    try:
        for _ in range(3):
            pipes.append(os.pipe2(os.O_CLOEXEC))
        for r, w in pipes:
            for fd in (r, w):
                try:
                    os.fchown(fd, uid, gid)
                except PermissionError:
                    pass  # rootless: they are the user's already
    except BaseException:
        close_pipes(pipes, both=True)
        raise
    return pipes


def close_pipes(pipes: list[tuple[int, int]] | None, both: bool) -> None:
    """The container's ends (stdin's read end, stdout's and stderr's write ends), or all."""
    for i, (r, w) in enumerate(pipes or []):
        for fd in ((r, w) if both else ((r,) if i == 0 else (w,))):
            os.close(fd)
