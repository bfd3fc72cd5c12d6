"""The parent <-> child sync channel: a SOCK_SEQPACKET socketpair, one message a packet.
Layer: process (may import spec, linux and the base).

A message is a kind (the constants below: the only place the kinds are spelled) and an
optional text payload, separated by NUL, and may carry fds (SCM_RIGHTS, through
linux/unixsock).  The whole exchange of ``create``, in the order the parent checks
(:data:`CREATE_ORDER`; ``[...]`` only when the config asks for it)::

    parent (runtime, process/launch.py)          setup child (process/setup_child.py), then init (init.py)
    forks setup into the cgroup2 directory
    (clone3), or places it there by pid
        ----------- go [TASKS] --------------->  [TASKS: v1 "tasks" files] writes "0" to each
        <------------ joined [ERR] -----------  (joins its v1 cgroups itself)
    affinity, resctrl, rootless checks
        ---------------- ok ------------------>  joins/unshares namespaces
        <------------- maps ------------------  [new user ns] waits
    writes uid/gid maps
        ---------------- ok ------------------>
        <---------- netdevices ---------------  [linux.netDevices] waits in its new netns
    moves the host's interfaces into it
        ---------------- ok ------------------>
        <------------- pid N -----------------  setup forked the init; the init waits
    records N in the state
        ---------------- ok ------------------>  setup lets the init go on, exits
        <---------- mountfds N ---------------  [idmapped mounts; binds in a user ns] init asks
    opens them (host's privilege)
        ------- mounttree I (fd) ------------->  a detached idmapped tree for mounts[I]
        ------- mountsrc I (fd) -------------->  an O_PATH bind source for mounts[I]
        ---------------- ok ------------------>  mounts
        <------------- tty (fd) --------------  [process.terminal] pty master
    keeps it, or sends it to --console-socket
        <------------- hooks -----------------  device nodes made; waits (runc's procHooks)
    sets the device rules, runs the
    createRuntime (prestart) hooks
        ---------------- ok ------------------>  /dev/null reopened, createContainer hooks,
                                                 pivot_root, ...
        <------------- ready -----------------  then preexec.finish: seccomp, user, caps
    (reads on until EOF)
        <----------- seccomp (fd) ------------  [SCMP_ACT_NOTIFY] the notify listener
    hands it to listenerPath
        <------------- EOF -------------------  init closed its end; waits on the exec FIFO
    writes state.json, exits                    `start` writes the FIFO -> execve

Why the child joins: a write of a pid to cgroup.procs takes the kernel's threadgroup lock
for writing, which waits for an RCU grace period (6-16 ms here, the largest single cost of
a create); a thread writing "0" to a v1 ``tasks`` file moves only itself and skips that
lock, and a child born in its cgroup2 directory is never moved (Manager.placement; the
child's side: forked.join_cgroups).

``exec`` (process/execproc.py; :func:`exec_order`): ``go`` to the middle child, which
joins the container's cgroups (``joined``, then ``ok``) and namespaces, forks the process
and sends ``pid N``; the process sends ``[tty (fd)]`` then ``[seccomp (fd)]``, which may
come before or after the pid (two senders), and the EOF of close-on-exec means its execve
succeeded.

The child may send ``log LEVEL\0MSG`` (a warning for the runtime's --log) at any step, and
``error MSG`` instead of the next message: the child then exits and the
parent reports MSG as the failure of the whole operation.  EOF before ``ready`` (create)
or before the pid (exec) is an error, and so is a kind out of its order (:class:`Order`)
and a message whose fds are not the ones its kind carries (:data:`FDS`: one for
``tty``, ``seccomp``, ``mounttree``, ``mountsrc``, none for the rest); the fds such a
message brought are closed, never kept or handed on.

A runtime SIGKILLed at any step leaves nothing that ``delete --force`` cannot find: the
setup child dies with it (PR_SET_PDEATHSIG), an init not yet let go on with the setup
child (its "told" pipe closes), and an init let go on is named in the state.
"""

import _socket  # the C module: socket.py imports enum and selectors
import os

from pyrunc.runtime.errors import PyruncError
from pyrunc.runtime.linux.unixsock import recv_fds, send_fds

_MAX = 65536

# The message kinds.  Parent -> child:
GO = "go"  #: payload: the v1 "tasks" files the child joins itself ("" : none): start
OK = "ok"  #: the step the child asked for is done
MOUNTTREE = "mounttree"  #: payload mounts[] index, fd: a detached idmapped tree
MOUNTSRC = "mountsrc"  #: payload mounts[] index, fd: an O_PATH bind source
# Child -> parent:
JOINED = "joined"  #: payload: "" or why the join failed (strerror, lower case; the child exits)
MAPS = "maps"  #: write my uid/gid maps
NETDEVICES = "netdevices"  #: move linux.netDevices into my network namespace
PID = "pid"  #: payload: the host pid of the init (create) or of the process (exec)
MOUNTFDS = "mountfds"  #: payload: the init's host pid; send mounttree/mountsrc, then ok
TTY = "tty"  #: fd: the pty master
HOOKS = "hooks"  #: set the device rules, run the createRuntime (and prestart) hooks, then ok
READY = "ready"  #: the init is about to drop privileges and wait on the exec FIFO
SECCOMP = "seccomp"  #: fd: the seccomp notify listener
ERROR = "error"  #: payload: why the child failed; it exits
LOG = "log"  #: payload LEVEL NUL MSG: a warning for the runtime's log
EOF = "eof"  #: not sent: what recv returns when the peer is gone

#: How many fds (SCM_RIGHTS) each kind carries; every other kind carries none.
FDS = {TTY: 1, SECCOMP: 1, MOUNTTREE: 1, MOUNTSRC: 1}

_CREATE = ((MAPS, False), (NETDEVICES, False), (PID, True), (MOUNTFDS, False), (TTY, False),
           (HOOKS, True), (READY, True), (SECCOMP, False))
#: The child's messages of create, in order: (kind, required).  One sender (the setup
#: child, then the init, which says nothing until the setup child has its "ok" for pid).
CREATE_ORDER = (_CREATE,)
#: exec's: two senders, the middle child (pid) and the process (tty, then seccomp).
EXEC_ORDER = (((PID, True),), ((TTY, False), (SECCOMP, False)))


def create_order(joins: bool) -> tuple[tuple[tuple[str, bool], ...], ...]:
    """CREATE_ORDER, opened by a required ``joined`` when "go" named cgroups to join."""
    return (((JOINED, True), *_CREATE),) if joins else CREATE_ORDER


def exec_order(joins: bool) -> tuple[tuple[tuple[str, bool], ...], ...]:
    """EXEC_ORDER, the middle child's ``joined`` before its pid when "go" named cgroups."""
    return (((JOINED, True), (PID, True)), EXEC_ORDER[1]) if joins else EXEC_ORDER

Sock = _socket.socket


class Order:
    """The order the parent expects the child's messages in: ``sequences`` (CREATE_ORDER,
    EXEC_ORDER) are the senders' own orders; each kind comes at most once, after the ones
    before it in its sequence, and never past a required one.  ``log`` and ``error`` may
    come at any time, EOF is the caller's to judge."""

    __slots__ = ("_seqs", "_at")

    def __init__(self, sequences: tuple[tuple[tuple[str, bool], ...], ...]) -> None:
        self._seqs = sequences
        self._at = [-1] * len(sequences)

    def check(self, kind: str, fds: list[int]) -> None:
        """Raise on a kind the parent does not expect now, or that came with other fds
        than it carries (closing the ``fds`` it brought): such a message is an error,
        never obeyed.  An ``error`` that brought fds is still the child's error (the
        caller raises it): only its fds are closed here."""
        if kind == ERROR:
            if fds:
                close_all(fds)
            return
        if kind not in (LOG, EOF) and not self._advance(kind):
            close_all(fds)
            raise PyruncError(f"sync: unexpected message {kind!r} from {_CHILD}"
                              f" (expected {' or '.join(repr(k) for k in self.expected())})")
        check_fds(kind, fds, _CHILD)

    def _advance(self, kind: str) -> bool:
        for n, seq in enumerate(self._seqs):
            for i in range(self._at[n] + 1, len(seq)):
                if seq[i][0] == kind:
                    self._at[n] = i
                    return True
                if seq[i][1]:
                    break
        return False

    def expected(self) -> list[str]:
        out = []
        for n, seq in enumerate(self._seqs):
            for k, required in seq[self._at[n] + 1:]:
                out.append(k)
                if required:
                    break
        return out or [EOF]


_CHILD = "the container's process"


def close_all(fds: list[int]) -> None:
    for fd in fds:
        os.close(fd)


def check_fds(kind: str, fds: list[int], sender: str) -> None:
    """Raise, closing ``fds``, unless they are as many as ``kind`` carries (:data:`FDS`):
    an fd where none belongs would stay open in the runtime (or leak into the
    container), and a missing one is a malformed message, not an index error."""
    want = FDS.get(kind, 0)
    if len(fds) == want:
        return
    close_all(fds)
    raise PyruncError(f"sync: message {kind!r} from {sender} came with {len(fds)} fds"
                      f" (it carries {want})")


def pair() -> tuple[Sock, Sock]:
    a, b = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
    return a, b


def send(sock: Sock, kind: str, payload: str = "", fds: list[int] | None = None) -> None:
    send_fds(sock, kind.encode() + b"\0" + payload.encode(), fds or [])


def recv(sock: Sock) -> tuple[str, str, list[int]]:
    """One message; ('eof', '', []) when the peer is gone."""
    try:
        data, fds = recv_fds(sock, _MAX, 4)
    except ConnectionResetError:
        return "eof", "", []
    if not data:
        return "eof", "", fds
    kind, _, payload = data.partition(b"\0")
    return kind.decode(), payload.decode(errors="replace"), fds


def expect(sock: Sock, kind: str) -> str:
    """Wait for ``kind`` (one that carries no fds) from the parent; an EOF means the
    parent died: stop here.  Another kind, or fds with it, is an error (fds closed)."""
    k, payload, fds = recv(sock)
    if k != kind:
        close_all(fds)
        raise PyruncError(f"sync: expected {kind!r} from the runtime, got {k!r}")
    check_fds(k, fds, "the runtime")
    return payload

