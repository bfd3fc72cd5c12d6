"""CPU and memory-node id lists: the one parser of their text form ("0-3,7", as in
/proc and cpuset.cpus), and the kernel's two forms of a parsed list, a bitmap of unsigned
longs (what sched_setaffinity(2) and set_mempolicy(2) take) and the text list of /proc.
Pure functions.  Each caller words a refused list its own way (spec/cpulist.py as the
config's error, the systemd driver as runc's "conversion error"): ``parse`` raises
``ListError`` saying what was wrong, not how to say it.
Layer: linux (the bottom: imports only linux and the base).
"""

import sys

#: A sanity bound on an id: a bogus "0-9876543210" must not become a huge mask (runc
#: bounds its CPU sets the same way).
MAX_ID = 64 * 1024


class ListError(ValueError):
    """Why a list was refused: ``kind`` "syntax" (``part`` is not a number or a range of
    two), "order" (``part`` is a range whose end is below its start) or "bound" (``id``
    is MAX_ID or above)."""

    def __init__(self, kind: str, part: str, id: int = 0) -> None:
        super().__init__(f"{kind}: {part}")
        self.kind, self.part, self.id = kind, part, id


def parse(text: str) -> list[int]:
    """Sorted, distinct ids of a comma-separated list with dash ranges; spaces around an
    element and empty elements are allowed (runc's parsers allow them); ids are ASCII
    decimal digits (no sign, as Go's strconv.ParseUint)."""
    ids: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        lo_s, dash, hi_s = part.partition("-")
        lo = _id(lo_s, part)
        hi = _id(hi_s, part) if dash else lo
        if lo > hi:
            raise ListError("order", part)
        ids.update(range(lo, hi + 1))
    return sorted(ids)


def _id(s: str, part: str) -> int:
    s = s.strip()
    if not s.isdigit() or not s.isascii():
        raise ListError("syntax", part)
    n = int(s)
    if n >= MAX_ID:
        raise ListError("bound", part, n)
    return n


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
