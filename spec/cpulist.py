"""The list syntax of CPUs and memory nodes ("0-3,7"), shared by process.execCPUAffinity
(config.md "process") and linux.memoryPolicy.nodes (config-linux.md "Memory policy"): the
linux layer's one parser (runtime/linux/idlist.py), refused in the config's words.
Layer: spec (between process and linux: may import linux's pure helpers and the base)."""

from pyrunc.runtime.errors import ConfigError
from pyrunc.runtime.linux import idlist
from pyrunc.runtime.linux.idlist import MAX_ID, format_list, mask  # noqa: F401  (the kernel's forms of a parsed list)


def parse(text: str, path: str) -> list[int]:
    """Sorted, distinct ids of a comma-separated list with dash ranges; spaces around an
    element and empty elements are allowed (runc's parser allows them)."""
    try:
        return idlist.parse(text)
    except idlist.ListError as e:
        if e.kind == "order":
            raise ConfigError(path, f"{text!r}: invalid range {e.part!r}") from None
        if e.kind == "bound":
            raise ConfigError(path, f"{text!r}: {e.id} is out of range (maximum {MAX_ID - 1})") from None
        raise ConfigError(path, f"{text!r} is not a list such as \"0-3,7\"") from None
