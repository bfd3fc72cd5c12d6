"""CPU and memory-node id lists in the kernel's two forms: a bitmap of unsigned longs (what
sched_setaffinity(2) and set_mempolicy(2) take) and the text list of /proc ("0-2,5").
Pure functions over ids already parsed (spec/cpulist.py parses the config's lists).
Layer: linux (the bottom: imports only linux and the base).
"""

import sys


def mask(ids: list[int]) -> bytes:
    """A kernel bitmap (unsigned longs, host byte order) with these bits set, whole
    64-bit words long."""
    words = [0] * ((max(ids, default=0) // 64) + 1)
    for i in ids:
        words[i // 64] |= 1 << (i % 64)
    return b"".join(w.to_bytes(8, sys.byteorder) for w in words)


def format_list(ids: list[int]) -> str:
    """The kernel's own list form (as in /proc/PID/status): "0-2,5"."""
    out: list[str] = []
    i = 0
    while i < len(ids):
        j = i
        while j + 1 < len(ids) and ids[j + 1] == ids[j] + 1:
            j += 1
        out.append(str(ids[i]) if i == j else f"{ids[i]}-{ids[j]}")
        i = j + 1
    return ",".join(out)
