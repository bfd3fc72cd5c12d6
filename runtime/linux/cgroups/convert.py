"""runc's conversions between cgroup v1 values and v2's (libcontainer/cgroups/utils.go),
shared by the fs2 driver and the systemd one (CPUWeight, IOWeight)."""


def shares_to_weight(shares: int) -> int:
    """cpu.shares [2, 262144] -> cpu.weight [1, 10000] (runc/crun's formula)."""
    if shares == 0:
        return 0
    return 1 + ((shares - 2) * 9999) // 262142


def blkio_weight_to_io_weight(weight: int) -> int:
    """blkio.weight [10, 1000] -> io.weight [1, 10000]."""
    if weight == 0:
        return 0
    return 1 + ((weight - 10) * 9999) // 990


def check_int(v: object, path: str, lo: int | None = None) -> int:
    """An integer of linux.resources at or above ``lo``, else ConfigError naming ``path``."""
    from pyrunc.runtime.errors import ConfigError

    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(path, f"expected an integer, got {type(v).__name__}")
    if lo is not None and v < lo:
        raise ConfigError(path, f"{v} is out of range (minimum {lo})")
    return v


def check_cpuset(v: object, path: str) -> str:
    """A cpu/node list ("0-3,5"), else ConfigError naming ``path``."""
    from pyrunc.runtime.errors import ConfigError

    if not isinstance(v, str):
        raise ConfigError(path, "expected a string")
    for part in v.split(","):
        lo, _, hi = part.partition("-")
        if not lo.strip().isdigit() or (hi and not hi.strip().isdigit()):
            raise ConfigError(path, f"{v!r} is not a cpu/node list like 0-3,5")
    return v


def kernel_major_minor() -> tuple[int, int]:
    import os

    rel = os.uname().release.split(".")
    return int(rel[0]), int("".join(ch for ch in rel[1] if ch.isdigit()) or 0)


#: runc's default allow list (the devices every container gets): null, zero, full,
#: random, urandom, tty, ptmx, the pty slaves and /dev/net/tun, read/write/mknod ...
#: (tun/tap: in runc 1.1, dropped in 1.2.0 and put back in 1.2.4 because users rely on
#: it; Podman sends only a deny-all rule and leaves the defaults to the runtime).
DEFAULT_ALLOWED = [("c", 1, 3), ("c", 1, 5), ("c", 1, 7), ("c", 1, 8), ("c", 1, 9), ("c", 5, 0),
                   ("c", 5, 2), ("c", 136, -1), ("c", 10, 200)]
#: ... and mknod (only) of any character or block device.
DEFAULT_MKNOD = [("c", -1, -1), ("b", -1, -1)]
