"""linux/libc.py, the one syscall layer: every name has a number on every architecture
it knows, the numbers are this machine's, and an architecture it does not know is one
clear error at the call that needs a number (never another machine's numbers)."""

import os

import pytest
from pyrunc.runtime.errors import PyruncError
from pyrunc.runtime.linux import libc


def test_every_table_has_every_name():
    names = set().union(*(set(t) for t in libc._TABLES.values()))
    for arch, table in libc._TABLES.items():
        assert set(table) == names, arch


def test_numbers_are_this_machines():
    if libc.ARCH not in libc._TABLES:
        pytest.skip(f"this machine ({libc.ARCH}) is not one pyrunc knows")
    # A pidfd of ourselves only comes back from the right number.
    fd = libc.syscall("pidfd_open", os.getpid(), 0)
    assert fd >= 0
    os.close(fd)
    assert libc.capget()[1] != 0  # root's permitted set, through capget's number


def test_unknown_architecture_is_one_error(monkeypatch):
    monkeypatch.setattr(libc, "ARCH", "vax")
    with pytest.raises(PyruncError, match="^pivot_root: no syscall numbers known for the vax architecture"):
        libc.nr("pivot_root")
    with pytest.raises(PyruncError, match="vax"):
        libc.pivot_root("/nonexistent", "/nonexistent")
