"""The list syntax of CPUs and memory nodes ("0-3,7"), shared by process.execCPUAffinity
(config.md "process") and linux.memoryPolicy.nodes (config-linux.md "Memory policy")."""

from pyrunc.runtime.errors import ConfigError

#: A sanity bound on an id: a bogus "0-9876543210" must not become a huge mask (runc
#: bounds its CPU sets the same way).
MAX_ID = 64 * 1024


def parse(text: str, path: str) -> list[int]:
    """Sorted, distinct ids of a comma-separated list with dash ranges; spaces around an
    element and empty elements are allowed (runc's parser allows them)."""
    ids: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        lo_s, dash, hi_s = part.partition("-")
        lo = _id(lo_s, text, path)
        hi = _id(hi_s, text, path) if dash else lo
        if lo > hi:
            raise ConfigError(path, f"{text!r}: invalid range {part!r}")
        ids.update(range(lo, hi + 1))
    return sorted(ids)


def _id(s: str, text: str, path: str) -> int:
    s = s.strip()
    if not s.isdigit() or not s.isascii():
        raise ConfigError(path, f"{text!r} is not a list such as \"0-3,7\"")
    n = int(s)
    if n >= MAX_ID:
        raise ConfigError(path, f"{text!r}: {n} is out of range (maximum {MAX_ID - 1})")
    return n


def mask(ids: list[int]) -> bytes:
    """A kernel bitmap (unsigned longs, host byte order) with these bits set, whole
    64-bit words long."""
    words = [0] * ((max(ids, default=0) // 64) + 1)
    for i in ids:
        words[i // 64] |= 1 << (i % 64)
    import sys

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
