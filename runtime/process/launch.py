"""The parent's side of create: fork the setup child, drive the sync protocol, and
return the init's pid once it waits on the exec FIFO.
Layer: process (may import spec, linux and the base).

The runtime is a child subreaper while it launches (os.fork cannot CLONE_PARENT): when
the setup child exits, the init is re-parented to us, so an init that fails is reaped
here and ``run`` can wait for its exit status.
"""

import os

from pyrunc.runtime import fault, log
from pyrunc.runtime.errors import PyruncError
from pyrunc.runtime.process import forked, sync
from pyrunc.runtime.process.init_options import InitOptions


class Launched:
    __slots__ = ("pid", "tty_master")

    def __init__(self, pid: int, tty_master: int) -> None:
        self.pid = pid
        self.tty_master = tty_master


#: How long the child may stay silent between two steps (mounts, pivot_root, ...) before
#: create gives up on it; its createContainer hooks' timeouts are added.
CHILD_SILENCE = 300.0
#: How often a silent child is checked on (``stuck``).
_SLICE = 1.0


def silence_bound(plan) -> float | None:
    """The child's silence bound, None when a createContainer hook has no timeout (the
    spec sets none: such a hook may take as long as it takes; ``stuck`` still runs)."""
    hooks = plan.hooks.get("createContainer", [])
    if any(h.timeout is None for h in hooks):
        return None
    return CHILD_SILENCE + sum(h.timeout for h in hooks)


class Forked:
    """The setup child, forked and waiting for "go" (``fork_setup``): the caller prepares
    the container's cgroups and state meanwhile, then calls ``launch`` (or ``abort``)."""

    __slots__ = ("pid", "sock", "born")

    def __init__(self, pid: int, sock, born: bool = False) -> None:
        self.pid = pid
        self.sock = sock
        self.born = born  # forked into the cgroup2 directory it was asked to be born in

    def abort(self) -> None:
        """Kill and reap the child (create failed before ``launch``); the socket closes
        after, or the child would see its end first and say so on stderr."""
        forked.kill_and_reap(self.pid)
        self.sock.close()


def fork_setup(opts: InitOptions, born_in: str = "") -> Forked:
    """Fork the setup child as soon as its options are known: it imports the init's
    modules and sets itself up (parent death signal, dispositions) while the caller makes
    the cgroups and writes the state; it does nothing to the system before "go".
    ``born_in``: the cgroup2 directory to fork it into (forked.fork_in)."""
    # Before the fork, shared copy-on-write: the child's first call (its parent death
    # signal) needs it, and so does our subreaper prctl.
    from pyrunc.runtime.linux import libc  # noqa: F401

    parent, child = sync.pair()
    me = os.getpid()
    setup_pid, born = forked.fork_in(born_in)
    if setup_pid == 0:
        parent.close()
        _child_main(opts, child, me)
    child.close()
    return Forked(setup_pid, parent, born)


def launch(opts: InitOptions, place_in_cgroups, placed, run_hooks, on_pid, stuck=None,
           setup: Forked | None = None) -> Launched:
    """Start the container's init (``setup``: the child ``fork_setup`` forked, else forked
    now).  ``place_in_cgroups(pid, born)`` runs before the child may unshare its cgroup
    namespace and returns the v1 ``tasks`` files the child joins itself (sync.GO);
    ``placed(pid, error)`` follows once it is in them ("" or the kernel's reason, which it
    raises); ``run_hooks(pid)`` runs createRuntime/prestart hooks; ``stuck()``, asked
    each second the child is silent, names why it never will answer ("" while it may).
    Every wait on the child is bounded (``silence_bound``)."""
    import time

    from pyrunc.runtime.linux import libc

    if setup is None:
        setup = fork_setup(opts)
    setup_pid, parent = setup.pid, setup.sock
    init_pid = 0
    master = -1
    ready = False
    gone_in = 5.0  # how long a killed child may take to be reaped
    try:
        # Before "go": the init, forked after it, is re-parented to us when the setup
        # child exits.
        libc.prctl(libc.PR_SET_CHILD_SUBREAPER, 1, what="set child subreaper")
        tasks = place_in_cgroups(setup_pid, setup.born)
        if not tasks:
            placed(setup_pid, "")
        sync.send(parent, sync.GO, "\n".join(tasks))
        bound = silence_bound(opts.plan)
        parent.settimeout(_SLICE)
        order = sync.Order(sync.create_order(bool(tasks)))
        while True:
            silent_since = time.monotonic()
            while True:
                try:
                    kind, payload, fds = sync.recv(parent)
                    break
                except TimeoutError:
                    why = stuck() if stuck is not None else ""
                    if not why and bound is not None and time.monotonic() - silent_since > bound:
                        why = f"the container's init said nothing for {bound:.0f}s"
                    if why:
                        gone_in = 0.5  # stuck (frozen): SIGKILL waits for a thaw, don't
                        raise PyruncError(f"unable to start container process: {why}") from None
            order.check(kind, fds)
            if kind == sync.JOINED:
                placed(setup_pid, payload)
                sync.send(parent, sync.OK)
            elif kind == sync.MAPS:
                from pyrunc.runtime.linux import namespaces

                namespaces.write_id_maps(setup_pid, opts.plan.uid_mappings, opts.plan.gid_mappings)
                fault.point("id-maps")
                sync.send(parent, sync.OK)
            elif kind == sync.NETDEVICES:
                _move_net_devices(opts, setup_pid)
                sync.send(parent, sync.OK)
            elif kind == sync.PID:
                init_pid = int(payload)
                fault.point("init-pid")
                on_pid(init_pid)
                # Only now may the init go on: killed before this, we leave no init
                # that the state does not name (the setup child then tells it to exit).
                sync.send(parent, sync.OK)
                # It exits right after saying so; bounded all the same.
                if not forked.reap(setup_pid, 10.0):
                    raise PyruncError("unable to start container process: "
                                      + ((stuck() if stuck else "") or "the setup process did not exit"))
                setup_pid = 0
            elif kind == sync.TTY:
                if opts.console_socket:
                    _to_console_socket(opts.console_socket, fds[0])
                else:
                    master = fds[0]
            elif kind == sync.LOG:
                log.relay(payload)
            elif kind == sync.HOOKS:
                run_hooks(init_pid)
                sync.send(parent, sync.OK)
            elif kind == sync.MOUNTFDS:
                _send_mount_fds(parent, opts, int(payload))
            elif kind == sync.SECCOMP:
                _hand_over_listener(opts, init_pid, fds)
            elif kind == sync.READY:
                ready = True  # errors may still come until the init closes its end
            elif kind == sync.ERROR:
                raise PyruncError(f"unable to start container process: {payload}")
            elif kind == sync.EOF:
                if ready:
                    break
                raise PyruncError("unable to start container process: container init exited before it was ready")
            else:  # Order.check lets no other kind through
                raise PyruncError(f"sync: unexpected message {kind!r}")
    except BaseException:
        forked.kill_and_reap(setup_pid, init_pid, timeout=gone_in)
        if master >= 0:
            os.close(master)
        raise
    finally:
        parent.close()
    return Launched(init_pid, master)


def _to_console_socket(path: str, master: int) -> None:
    """The init's pty master -> the caller's --console-socket (runc connects to it as the
    runtime, with the runtime's privilege), then closed here."""
    from pyrunc.runtime.process import console

    try:
        console.send_master(path, master)
    except PyruncError as e:
        raise PyruncError(f"unable to start container process: {e}") from None
    finally:
        os.close(master)


def _hand_over_listener(opts: InitOptions, init_pid: int, fds: list[int]) -> None:
    """The init's notify listener -> listenerPath, with the container process state
    (config-linux.md); the container's status is still "creating" (runc)."""
    sc = opts.plan.seccomp
    try:
        if sc is None or not fds:
            raise PyruncError("sync: unexpected seccomp listener")
        from pyrunc.runtime import ocistate
        from pyrunc.runtime.linux import seccomp

        state = ocistate.state(opts.container_id, "creating", init_pid, opts.plan.bundle, opts.plan.annotations)
        seccomp.hand_over_listener(sc.listener_path, fds[0], seccomp.process_state(sc, init_pid, state))
    finally:
        for fd in fds:
            os.close(fd)


def _move_net_devices(opts: InitOptions, setup_pid: int) -> None:
    """linux.netDevices, from the host's namespace into the one the setup child has just
    made (ours to open: the child is not reaped yet, its pid cannot be reused)."""
    from pyrunc.runtime.linux import netdevices

    try:
        fd = os.open(f"/proc/{setup_pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        raise PyruncError(f"linux.netDevices: open the container's network namespace: "
                          f"{(e.strerror or str(e)).lower()}") from None
    try:
        mine = os.stat("/proc/self/ns/net")
        theirs = os.fstat(fd)
        if (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino):
            raise PyruncError("linux.netDevices: the container's network namespace is the runtime's own: "
                              "nothing would move")
        netdevices.move_all(opts.plan.net_devices, fd)
    finally:
        os.close(fd)


def _send_mount_fds(sock, opts: InitOptions, init_pid: int) -> None:
    """The init asks for the fds of its mounts: idmapped trees and, with a user
    namespace, the bind sources, both opened here with the host's privilege."""
    from pyrunc.runtime.linux import idmap, mountsrc

    def send_all(kind: str, pairs: list[tuple[int, int]]) -> None:
        for index, fd in pairs:
            try:
                sync.send(sock, kind, str(index), [fd])
            finally:
                os.close(fd)

    send_all(sync.MOUNTTREE, idmap.trees_for(opts.plan, init_pid))
    send_all(sync.MOUNTSRC, mountsrc.open_sources(opts.plan, init_pid))
    sync.send(sock, sync.OK)


def _child_main(opts: InitOptions, sock, parent: int) -> None:
    """The setup child: never returns."""
    try:
        # First: a runtime SIGKILLed from here on takes us with it, wherever we are
        # (the socket's EOF is seen only at the next step).
        forked.die_with_parent(parent)
        forked.prepare()
        forked.take_stdio(opts.stdio)
    except BaseException as e:
        forked.report(sock, f"prepare the container's process: {e}")
        os._exit(1)
    try:
        # Import the whole init now: it overlaps with the parent's cgroup work.
        from pyrunc.runtime.process import init, setup_child  # noqa: F401

        init.preload(opts.plan)

        if opts.plan.seccomp is not None:
            from pyrunc.runtime.process import preexec

            opts.seccomp = preexec.compile_seccomp(opts.plan.seccomp, sock)
        setup_child.run(opts, sock)
        os._exit(0)
    except BaseException as e:
        forked.fail(sock, e, "container setup")
