"""The sync protocol's order check (process/sync.py): the parent takes the child's
messages only in the order the protocol draws; anything else is an error, and the fds
an out-of-order message brought are closed, never kept."""

import os

import pytest
from pyrunc.runtime.errors import PyruncError
from pyrunc.runtime.process import sync


def _feed(order, kinds):
    for k in kinds:
        order.check(k, [])


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
