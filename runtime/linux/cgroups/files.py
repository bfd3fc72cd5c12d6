"""Writing limits into the container's cgroup files, with the kernel's ordering rules
(a CFS period that needs its quota first, memory+swap raised before memory on v1) and
runc's texts for what the kernel refuses, each naming the JSON path of the value."""

import errno
import os

from pyrunc.runtime.linux.cgroups.hierarchy import by_controller, hierarchies

Write = tuple[str, str, str, str]  # controller ("" for the unified tree), file, value, json path


def write_all(dirs: list[str], writes: list[tuple[str, str, str, str]]) -> None:
    """Write ``(controller, file, value, json path)`` into the container's cgroups, in
    order, with the kernel's ordering rules; an error names the JSON path."""
    from pyrunc.runtime.errors import ConfigError

    ctl = by_controller(dirs)
    pending = list(writes)
    retry: list = []
    for i, (ctrl, fname, value, jpath) in enumerate(pending):
        d = ctl.get(ctrl)
        if d is None:
            if any(ctrl in h[3].split(",") or (not ctrl and h[2] == "cgroup2") for h in hierarchies()):
                # On the host but not the container's: a rootless create left it out.
                raise ConfigError(jpath, f"cannot set {ctrl or 'unified'} limit: "
                                         "container could not join or create cgroup")
            raise ConfigError(jpath, f"the {ctrl or 'unified'} controller is not available on this host")
        try:
            _write(os.path.join(d, fname), value)
            if fname == "cpu.shares":
                _check_shares(d, value, jpath)
        except OSError as e:
            if e.errno == 2 and fname in ("cpu.cfs_burst_us", "cpu.max.burst"):
                continue  # runc: a kernel without the burst knob (before 5.14) ignores it; not cpu.idle
            if fname == "cpu.cfs_period_us" and any(w[1] == "cpu.cfs_quota_us" for w in pending[i:]):
                retry.append((d, fname, value, jpath))  # a new period may need the new quota first
                continue
            # Raising memory and memory+swap together must go swap-first on v1.
            if fname == "memory.limit_in_bytes" and any(w[1] == "memory.memsw.limit_in_bytes" for w in pending[i:]):
                sw = next(w for w in pending[i:] if w[1] == "memory.memsw.limit_in_bytes")
                try:
                    _write(os.path.join(d, sw[1]), sw[2])
                    _write(os.path.join(d, fname), value)
                    continue
                except OSError:
                    pass
            if fname == "memory.limit_in_bytes" and e.errno == errno.EBUSY:
                # v1 refuses a limit below the usage; runc 1.1 says so with the numbers.
                raise ConfigError(jpath, f"unable to set memory limit to {value} (current usage: "
                                         f"{_read_int(d, 'memory.usage_in_bytes')}, peak usage: "
                                         f"{_read_int(d, 'memory.max_usage_in_bytes')})") from None
            raise ConfigError(jpath, f"write {fname} = {value}: {(e.strerror or str(e)).lower()}") from None
    for d, fname, value, jpath in retry:
        try:
            _write(os.path.join(d, fname), value)
        except OSError as e:
            raise ConfigError(jpath, f"write {fname} = {value}: {(e.strerror or str(e)).lower()}") from None


def _check_shares(d: str, value: str, jpath: str) -> None:
    """The kernel clamps cpu.shares to [2, 262144] without an error; runc 1.1 reads it
    back and refuses the clamped value (its texts), at create and at update."""
    from pyrunc.runtime.errors import ConfigError

    got = _read_int(d, "cpu.shares")
    if got is not None and got != int(value):
        raise ConfigError(jpath, f"the {'maximum' if int(value) > got else 'minimum'} allowed cpu-shares is {got}")


def _read_int(d: str, fname: str) -> int | None:
    try:
        with open(os.path.join(d, fname)) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _write(path: str, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)
