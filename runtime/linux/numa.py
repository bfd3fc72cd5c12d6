"""set_mempolicy(2) for linux.memoryPolicy (config-linux.md "Memory policy"): the calling
thread's NUMA policy, inherited by fork and kept across execve.
Layer: linux (the bottom: imports only linux and the base)."""

import ctypes
import os

from pyrunc.runtime.errors import PyruncError, SysError
from pyrunc.runtime.linux import idlist, libc


def set_mempolicy(mode: int, nodemask: bytes) -> None:
    """``nodemask``: a bitmap of whole unsigned longs (empty: no nodes).  The kernel reads
    maxnode - 1 bits (set_mempolicy(2), BUGS), hence the + 1."""
    buf = ctypes.create_string_buffer(nodemask, len(nodemask)) if nodemask else None
    maxnode = len(nodemask) * 8 + 1 if nodemask else 0
    ret = libc.syscall("set_mempolicy", ctypes.c_long(mode), buf, ctypes.c_ulong(maxnode))
    if ret < 0:
        raise SysError("set_mempolicy", ctypes.get_errno())


def apply(policy) -> None:
    """``policy``: a pyrunc.spec.numa.MemoryPolicy.  A kernel refusal names the field."""
    try:
        set_mempolicy(policy.mode | policy.flags, idlist.mask(policy.nodes) if policy.nodes else b"")
    except SysError as e:
        why = os.strerror(e.errno).lower() if e.errno else e.msg
        nodes = f" nodes {idlist.format_list(policy.nodes)}" if policy.nodes else ""
        raise PyruncError(f"linux.memoryPolicy: set_mempolicy {policy.mode_name}{nodes}: {why}") from None
