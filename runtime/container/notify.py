"""NOTIFY_SOCKET pass-through (systemd's sd_notify), as runc does it.
Layer: container (may import process, spec, linux and the base).

When the runtime itself runs with NOTIFY_SOCKET (a systemd ``Type=notify`` unit, or
containerd's shim passing it on), ``create`` gives the container a socket of its own,
``<root>/<id>/notify/notify.sock``, bind-mounted read-only at /run/notify and named by
NOTIFY_SOCKET in the container's environment.  ``start`` (and ``run``) listen on it until
the container says READY=1, and pass the message on to the runtime's NOTIFY_SOCKET with
the container's MAINPID.
"""

import posix
import time

from pyrunc.runtime.linux import fspath

IN_CONTAINER = "/run/notify/notify.sock"


def host_socket() -> str:
    # posix.environ: the environment as the runtime was started (nothing here changes it),
    # without os (linux/fspath.py).
    return posix.environ.get(b"NOTIFY_SOCKET", b"").decode("utf-8", "surrogateescape")


def socket_path(cdir: str) -> str:
    return fspath.join(cdir, "notify", "notify.sock")


def prepare(cdir: str, plan):
    """At create: the directory and the socket; returns the plan the container is made
    from, ``plan`` with the bind mount and NOTIFY_SOCKET in the environment (a new Plan:
    the checked one is not changed)."""
    import os

    from pyrunc.runtime.linux import consts as c
    from pyrunc.spec.plan import Mount, derive

    d = fspath.join(cdir, "notify")
    os.makedirs(d, 0o755, exist_ok=True)
    _bind(socket_path(cdir)).close()  # the path exists for the bind mount's source
    mount = Mount("NOTIFY_SOCKET", "/run/notify", "bind", d, ["bind", "nosuid", "noexec", "nodev", "ro"],
                  c.MS_BIND | c.MS_NOSUID | c.MS_NOEXEC | c.MS_NODEV | c.MS_RDONLY, [], "", set())
    assert plan.process is not None
    env = [e for e in plan.process.env if not e.startswith("NOTIFY_SOCKET=")] + [f"NOTIFY_SOCKET={IN_CONTAINER}"]
    return derive(plan, mounts=[*plan.mounts, mount], process=derive(plan.process, env=env))


def _bind(path: str):
    import _socket

    s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_DGRAM)
    try:
        posix.unlink(path)
    except FileNotFoundError:
        pass
    s.bind(path)
    posix.chmod(path, 0o777)  # any user of the container may notify
    return s


def listen(cdir: str):
    """At start, before the process runs: a fresh socket at the container's path."""
    if not host_socket() or not fspath.isdir(fspath.join(cdir, "notify")):
        return None
    return _bind(socket_path(cdir))


def forward_ready(sock, pid: int, alive, timeout: float | None = None) -> None:
    """Wait for READY=1 from the container (while ``alive()``) and tell the host's socket."""
    import _socket
    import select

    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while alive():
            if deadline is not None and time.monotonic() > deadline:
                return
            r, _, _ = select.select([sock], [], [], 0.1)
            if not r:
                continue
            data = sock.recv(4096)
            if b"READY=" not in data:
                continue
            out = _socket.socket(_socket.AF_UNIX, _socket.SOCK_DGRAM)
            try:
                target = host_socket()
                if target.startswith("@"):
                    target = "\0" + target[1:]
                out.sendto(data.rstrip(b"\n") + f"\nMAINPID={pid}\n".encode(), target)
            except OSError:
                pass
            finally:
                out.close()
            return
    finally:
        sock.close()
