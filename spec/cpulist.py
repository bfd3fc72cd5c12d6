"""The list syntax of CPUs and memory nodes ("0-3,7"), shared by process.execCPUAffinity
(config.md "process") and linux.memoryPolicy.nodes (config-linux.md "Memory policy").
Layer: spec (between process and linux: may import linux's pure helpers and the base)."""

from pyrunc.runtime.errors import ConfigError
from pyrunc.runtime.linux.idlist import format_list, mask  # noqa: F401  (the kernel's forms of a parsed list)

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
