"""The setup child (stage one of create): namespaces, then the fork of the container's init.
Layer: process (may import spec, linux and the base).

Runs in the first child of the runtime, after the parent has placed it in the cgroups
(so ``unshare(CLONE_NEWCGROUP)`` makes that cgroup the container's cgroup root).
CLONE_NEWPID and CLONE_NEWTIME only apply to children: hence the fork of the init here.
"""

import errno
import os

from pyrunc.runtime import fault
from pyrunc.runtime.errors import PyruncError
from pyrunc.runtime.linux import consts as c
from pyrunc.runtime.linux import libc, namespaces
from pyrunc.runtime.process import forked, preexec, sync
from pyrunc.runtime.process.init_options import InitOptions


def run(opts: InitOptions, sock: sync.Sock) -> int:
    """Returns the init's pid (in the runtime's pid namespace) after reporting it."""
    plan = opts.plan
    runtime = os.getppid()  # checked by forked.die_with_parent
    forked.join_cgroups(sock, sync.expect(sock, sync.GO))
    if plan.process is not None and plan.process.oom_score_adj is not None:
        # Before any user namespace: in one, this non-dumpable process's /proc files
        # belong to the host's root and the write would be refused.  The init inherits it.
        preexec.write_oom_score_adj(plan.process.oom_score_adj)
    # Every path is opened before any setns: a /proc/PID/ns path may vanish meanwhile.
    opened = namespaces.open_paths(plan.namespaces)
    try:
        # Non-user namespaces first, while we hold capabilities over them in the host's
        # user namespace; then the user namespace; then what is new.
        namespaces.join(opened, user=False)
        namespaces.join(opened, user=True)
    finally:
        for _, fd in opened:
            os.close(fd)
    user = plan.namespace("user")
    if user is not None and user.path:
        # Root of the namespace joined, as after our own unshare (runc 1.5's nsexec,
        # issue #4466; 1.1.5's init setuid(0)s): the host's root is unmapped there, and
        # what the init makes (/dev, its mount points) would fail with EOVERFLOW.
        _become_root(os.setresuid, "uid")
    if user is not None and not user.path:
        libc.unshare(c.CLONE_NEWUSER)
        # Only the parent can write our id maps (user_namespaces(7)); an unprivileged
        # parent can open our /proc files because rootless we stay dumpable (forked.prepare).
        sync.send(sock, sync.MAPS)
        sync.expect(sock, sync.OK)
        # Root's uid now, its gid only after the other namespaces exist (runc's nsexec:
        # setresuid before the unshare, setresgid in the init): what a new namespace takes
        # from its creator's credentials shows it, e.g. the group of the IPC namespace's
        # mqueue root, made at unshare(CLONE_NEWIPC), is the overflow gid under runc.
        os.setresuid(0, 0, 0)
    flags = namespaces.new_flags(plan.namespaces, exclude=c.CLONE_NEWUSER)
    if flags:
        libc.unshare(flags)
    if user is not None:
        _become_root(os.setresgid, "gid")
        # A change of credentials clears the parent death signal: set it again.
        forked.die_with_parent(runtime)
    if plan.time_offsets:
        # After unshare(CLONE_NEWTIME) and before the first child exists.
        namespaces.write_time_offsets(plan.time_offsets)
    net = plan.namespace("network")
    if net is not None and not net.path:
        from pyrunc.runtime.linux import net as netmod

        netmod.loopback_up()
    if net is not None and plan.net_devices:
        # The runtime moves them into our network namespace (new, or joined by path) now,
        # before the init (and any hook or program of the container) exists
        # (config-linux.md "Network Devices").
        sync.send(sock, sync.NETDEVICES)
        sync.expect(sock, sync.OK)
    for ns in plan.namespaces:
        fault.point(f"namespace-{ns.type}")
    # The init and this process share the socket: the init says nothing on it until the
    # parent has its pid (else a slow "pid" comes after the init's "ready", and the
    # parent would record pid 0 and lose the init), nor does anything at all until the
    # parent has recorded it in the state ("ok"): a runtime killed in between would
    # leave an init waiting on the exec FIFO for ever that delete --force cannot name.
    told_r, told_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(told_w)
        if os.read(told_r, 1) != b"1":
            os._exit(1)  # the setup process died before telling the parent
        os.close(told_r)
        from pyrunc.runtime.process import init

        init.main(opts, sock)  # never returns
    os.close(told_r)
    try:
        sync.send(sock, sync.PID, str(pid))
        sync.expect(sock, sync.OK)  # EOF: the runtime died; told_w closes, the init exits
        os.write(told_w, b"1")
    finally:
        os.close(told_w)
    fault.point("init-fork")
    return pid


def _become_root(setres, what: str) -> None:
    """setresuid/setresgid(0, 0, 0) in the container's user namespace; its 0 unmapped
    (a namespace joined by path) is the kernel's EINVAL, said as runc's nsexec says it."""
    try:
        setres(0, 0, 0)
    except OSError as e:
        raise PyruncError(f"failed to become root in user namespace: {what} 0 is not mapped in it"
                          if e.errno == errno.EINVAL else
                          f"failed to become root in user namespace: {(e.strerror or str(e)).lower()}") from None
