"""Reading /proc for liveness: a process is the container's init while its start time
matches the one recorded at create and it is neither a zombie nor dead (runtime.md: the
state's ``pid`` is only meaningful while that process lives).
Layer: linux (the bottom: imports only linux and the base).

Pure stdlib: on the hot path of ``state``, ``list``, ``kill`` and ``delete``.
"""

from pyrunc.runtime.linux import fspath


def stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name, or None if the process is gone."""
    try:
        data = fspath.read_file(f"/proc/{pid}/stat")
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return None
    # The command name sits in parentheses and may itself hold spaces or ')'.
    return data[data.rindex(b")") + 2:].decode().split()


def start_time(pid: int) -> int | None:
    """Field 22 (starttime, in clock ticks since boot)."""
    f = stat_fields(pid)
    return int(f[19]) if f else None


def has_seccomp_filter(pid: int) -> bool:
    """/proc/PID/status says the process runs under a seccomp filter (mode 2) or strict."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return any(line.startswith("Seccomp:") and line.split()[1] != "0" for line in f)
    except (OSError, IndexError):
        return False


def is_alive(pid: int, start: int) -> bool:
    """True when ``pid`` is the process that started at ``start`` and has not exited."""
    if pid <= 0:
        return False
    f = stat_fields(pid)
    if f is None:
        return False
    return f[0] not in ("Z", "X", "x") and int(f[19]) == start
