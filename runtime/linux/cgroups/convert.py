"""runc's conversions between cgroup v1 values and v2's (libcontainer/cgroups/utils.go),
shared by the fs2 driver and the systemd one (CPUWeight, IOWeight); the writes the fs and
fs2 drivers share (cpuset, pids).  Layer: linux (the bottom: imports only linux and the base)."""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyrunc.spec.resources import Resources


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


def swap_only(swap: int, limit: int | None, path: str) -> int:
    """v1's memory+swap limit (``swap`` >= 0) as v2's swap alone (memory.swap.max,
    MemorySwapMax), runc's ConvertMemorySwapToCgroupV2Value: it needs the memory limit
    and cannot be below it (v1's kernel judges the pair itself)."""
    from pyrunc.runtime.errors import ConfigError

    if limit is None or limit < 0:
        raise ConfigError(path, "on cgroup v2 a swap limit needs memory.limit too")
    if swap < limit:
        raise ConfigError(path, f"{swap} is below memory.limit {limit}")
    return swap - limit


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
#: The defaults that are also device nodes: a linux.devices entry at one of these paths
#: replaces the default, its rule included (runc's specconv drops such a default from its
#: AllowedDevices; linux.devices itself adds no rule), so /dev/null listed there without a
#: linux.resources.devices rule is not accessible, as under runc.
DEFAULT_PATHS = {("c", 1, 3): "/dev/null", ("c", 1, 5): "/dev/zero", ("c", 1, 7): "/dev/full",
                 ("c", 1, 8): "/dev/random", ("c", 1, 9): "/dev/urandom", ("c", 5, 0): "/dev/tty"}
#: ... and mknod (only) of any character or block device.
DEFAULT_MKNOD = [("c", -1, -1), ("b", -1, -1)]


def default_allowed(replaced: frozenset[str] = frozenset()) -> list[tuple[str, int, int]]:
    """runc's default allow list less the defaults whose path linux.devices lists."""
    return [d for d in DEFAULT_ALLOWED if DEFAULT_PATHS.get(d) not in replaced]


P = "linux.resources"
Write = tuple[str, str, str, str]

def cpuset_and_pids(res: "Resources", v2: bool) -> list[Write]:
    """cpuset.cpus/mems and pids.max: the same files on v1 (their own controllers) and v2
    (the unified tree, controller ""); the lists come checked from spec/resources.py."""
    out: list[Write] = []
    cp = f"{P}.cpu"
    if res.cpu is not None:
        for key in ("cpus", "mems"):
            v = getattr(res.cpu, key)
            if v is not None:
                out.append(("" if v2 else "cpuset", f"cpuset.{key}", v, f"{cp}.{key}"))
    if res.pids is not None and res.pids.limit is not None:
        lim = res.pids.limit
        out.append(("" if v2 else "pids", "pids.max", "max" if lim <= 0 else str(lim), f"{P}.pids.limit"))
    return out
