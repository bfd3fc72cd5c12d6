"""The sync protocol's order check (process/sync.py): the parent takes the child's
messages only in the order the protocol draws; anything else is an error, and the fds
an out-of-order message brought are closed, never kept."""

import os

import pytest
from pyrunc.runtime.errors import PyruncError
from pyrunc.runtime.process import sync


def _feed(order, kinds):
    """Each kind in turn, with the fds it carries (a pipe's read end, closed after)."""
    for k in kinds:
        ends = [os.pipe() for _ in range(sync.FDS.get(k, 0))]
        try:
            order.check(k, [r for r, _ in ends])
        finally:
            for r, w in ends:
                os.close(r)
                os.close(w)


@pytest.mark.parametrize("kinds", [
    [sync.PID, sync.HOOKS, sync.READY],
    [sync.MAPS, sync.NETDEVICES, sync.PID, sync.MOUNTFDS, sync.TTY, sync.HOOKS, sync.READY, sync.SECCOMP],
    [sync.LOG, sync.MAPS, sync.LOG, sync.PID, sync.HOOKS, sync.LOG, sync.READY, sync.ERROR],
])
def test_create_in_order(kinds):
    _feed(sync.Order(sync.CREATE_ORDER), kinds)


@pytest.mark.parametrize("kinds,bad", [
    ([], sync.READY),  # the pid is required before it
    ([sync.PID], sync.READY),  # so is hooks (the device rules' step)
    ([sync.PID], sync.MAPS),  # too late
    ([sync.PID, sync.HOOKS], sync.HOOKS),  # twice
    ([sync.PID, sync.HOOKS, sync.READY], sync.TTY),  # after ready
    ([], sync.GO),  # the parent's own kind
    ([], "nonsense"),
])
def test_create_out_of_order(kinds, bad):
    order = sync.Order(sync.CREATE_ORDER)
    _feed(order, kinds)
    r, w = os.pipe()
    try:
        with pytest.raises(PyruncError, match=f"sync: unexpected message '{bad}'"):
            order.check(bad, [r])
        with pytest.raises(OSError):
            os.fstat(r)  # closed by the check
    finally:
        os.close(w)


@pytest.mark.parametrize("kinds", [
    [sync.PID, sync.TTY, sync.SECCOMP],
    [sync.TTY, sync.PID, sync.SECCOMP],
    [sync.SECCOMP, sync.PID],
])
def test_exec_two_senders(kinds):
    _feed(sync.Order(sync.EXEC_ORDER), kinds)


def test_exec_tty_after_seccomp():
    order = sync.Order(sync.EXEC_ORDER)
    _feed(order, [sync.SECCOMP])
    with pytest.raises(PyruncError, match="expected 'pid'"):
        order.check(sync.TTY, [])


def _closed(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return True
    return False


@pytest.fixture
def socks():
    a, b = sync.pair()
    yield a, b
    a.close()
    b.close()


def _sent(socks, kind, nfds, payload=""):
    """``kind`` with ``nfds`` pipe ends through a real socketpair: what recv gave."""
    a, b = socks
    ends = [os.pipe() for _ in range(nfds)]
    try:
        sync.send(a, kind, payload, [r for r, _ in ends])
    finally:
        for r, w in ends:
            os.close(r)
            os.close(w)
    k, p, fds = sync.recv(b)
    assert (k, p, len(fds)) == (kind, payload, nfds)
    return fds


@pytest.mark.parametrize("kinds,kind", [
    ([], sync.PID), ([], sync.MAPS), ([sync.PID], sync.HOOKS), ([sync.PID, sync.HOOKS], sync.READY),
    ([], sync.LOG),
])
def test_fds_on_a_kind_without_fds(socks, kinds, kind):
    order = sync.Order(sync.CREATE_ORDER)
    _feed(order, kinds)
    fds = _sent(socks, kind, 2, "1")
    with pytest.raises(PyruncError, match=f"sync: message '{kind}' from the container's process came with 2 fds"
                                          r" \(it carries 0\)"):
        order.check(kind, fds)
    assert all(_closed(fd) for fd in fds)


@pytest.mark.parametrize("nfds", [0, 2])
def test_tty_with_other_than_its_fd(socks, nfds):
    order = sync.Order(sync.EXEC_ORDER)
    fds = _sent(socks, sync.TTY, nfds)
    with pytest.raises(PyruncError, match=f"came with {nfds} fds \\(it carries 1\\)"):
        order.check(sync.TTY, fds)
    assert all(_closed(fd) for fd in fds)


def test_tty_with_its_fd_is_kept(socks):
    order = sync.Order(sync.EXEC_ORDER)
    fds = _sent(socks, sync.TTY, 1)
    order.check(sync.TTY, fds)
    assert not _closed(fds[0])
    os.close(fds[0])


def test_error_with_fds_keeps_the_error(socks):
    """The child's error is still what the caller reports; its fds are closed."""
    order = sync.Order(sync.CREATE_ORDER)
    fds = _sent(socks, sync.ERROR, 1, "boom")
    order.check(sync.ERROR, fds)
    assert _closed(fds[0])


def test_expect_refuses_fds(socks):
    a, b = socks
    r, w = os.pipe()
    sync.send(a, sync.OK, "", [r])
    os.close(r)
    os.close(w)
    before = set(os.listdir("/proc/self/fd"))
    with pytest.raises(PyruncError, match="sync: message 'ok' from the runtime came with 1 fds"):
        sync.expect(b, sync.OK)
    assert set(os.listdir("/proc/self/fd")) <= before  # the received fd closed again


def test_empty_packet_with_fds_is_not_eof(socks):
    order = sync.Order(sync.CREATE_ORDER)
    a, b = socks
    r, w = os.pipe()
    a.sendmsg([b""], [(sync._socket.SOL_SOCKET, sync._socket.SCM_RIGHTS, r.to_bytes(4, "little"))])
    os.close(r)
    os.close(w)
    kind, _, fds = sync.recv(b)
    assert kind == sync.EOF and len(fds) == 1
    with pytest.raises(PyruncError, match="'eof' from the container's process came with 1 fds"):
        order.check(kind, fds)
    assert _closed(fds[0])


def test_received_fds_are_close_on_exec(socks):
    """A received fd (the pty master, a listener) must not reach what the runtime
    execs next (its hooks): recvmsg with MSG_CMSG_CLOEXEC."""
    import fcntl

    fds = _sent(socks, sync.TTY, 1)
    try:
        assert fcntl.fcntl(fds[0], fcntl.F_GETFD) & fcntl.FD_CLOEXEC
    finally:
        os.close(fds[0])


def test_joined_comes_first_when_go_named_cgroups():
    """"go" that named v1 tasks files: the child's first message is ``joined`` (the parent
    lets it on only then); without any, ``joined`` is a message out of order."""
    _feed(sync.Order(sync.create_order(True)), [sync.JOINED, sync.PID, sync.HOOKS, sync.READY])
    _feed(sync.Order(sync.exec_order(True)), [sync.JOINED, sync.TTY, sync.PID])
    with pytest.raises(PyruncError, match="expected 'joined'"):
        sync.Order(sync.create_order(True)).check(sync.PID, [])
    with pytest.raises(PyruncError, match="expected 'joined'"):
        sync.Order(sync.exec_order(True)).check(sync.PID, [])
    with pytest.raises(PyruncError, match="unexpected message 'joined'"):
        sync.Order(sync.create_order(False)).check(sync.JOINED, [])
    with pytest.raises(PyruncError, match="unexpected message 'joined'"):
        sync.Order(sync.exec_order(False)).check(sync.JOINED, [])
