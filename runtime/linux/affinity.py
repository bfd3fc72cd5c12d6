"""CPU affinity of the processes the runtime starts (config.md "process",
execCPUAffinity; runc's order): sched_setaffinity(2) through os.sched_setaffinity.
Layer: linux (the bottom: imports only linux and the base)."""

import os

from pyrunc.runtime import log
from pyrunc.runtime.errors import PyruncError

#: Every CPU id the kernel may have (its NR_CPUS is at most 8192): the kernel clamps the
#: mask to its own size and to the task's cpuset, so "all" needs no read of
#: /sys/devices/system/cpu/possible, and CPUs added to the cpuset later stay allowed.
_ALL = range(8192)


def set_cpus(pid: int, cpus: list[int], field: str) -> None:
    """Pin ``pid`` (0: ourselves) to ``cpus``; a refusal names the config field."""
    try:
        os.sched_setaffinity(pid, cpus)
    except OSError as e:
        from pyrunc.runtime.linux.idlist import format_list

        raise PyruncError(f"{field}: sched_setaffinity {format_list(cpus)}: "
                          f"{(e.strerror or str(e)).lower()}") from None


def reset(pid: int) -> None:
    """Allow ``pid`` every CPU its cgroup allows, so that it does not inherit the
    affinity of whoever ran the runtime (``taskset -c 0 runc exec ...``); runc only warns
    when this fails."""
    import ctypes

    from pyrunc.runtime.linux.libc import LIBC

    # Straight to libc with an all-ones mask: os.sched_setaffinity builds it bit by bit
    # (~170 us for 8192 CPUs here, against a few us).
    mask = b"\xff" * (len(_ALL) // 8)
    if LIBC.sched_setaffinity(ctypes.c_int(pid), ctypes.c_size_t(len(mask)), mask) < 0:
        err = ctypes.get_errno()
        log.warn(f"reset the CPU affinity of pid {pid}: {os.strerror(err).lower()}")


def own() -> set[int]:
    return os.sched_getaffinity(0)
