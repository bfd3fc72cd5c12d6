"""/proc/PID/mountinfo (proc(5)), parsed in one place: one :class:`Mount` a line, its
paths decoded (the kernel writes a space, tab, newline or backslash in a path as an octal
escape: ``\\040``).  Pure stdlib, no imports beyond it.
Layer: linux (the bottom: imports only linux and the base).
"""

SELF = "/proc/self/mountinfo"


class Mount:
    """One line: ``36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue``."""

    __slots__ = ("mount_id", "parent_id", "root", "mount_point", "options", "fstype", "source", "super_options")

    def __init__(self, mount_id: int, parent_id: int, root: str, mount_point: str, options: str, fstype: str,
                 source: str, super_options: str) -> None:
        self.mount_id = mount_id
        self.parent_id = parent_id
        #: the path inside its filesystem that is mounted ("/" for a whole filesystem)
        self.root = root
        self.mount_point = mount_point
        #: the per-mount options ("rw,nosuid")
        self.options = options
        self.fstype = fstype
        self.source = source
        #: the filesystem's options ("rw,cpu,cpuacct" for a cgroup v1 hierarchy)
        self.super_options = super_options


def unescape(s: str) -> str:
    """mountinfo's octal escapes (\\040 for a space...)."""
    if "\\" not in s:
        return s
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 4 <= len(s) and s[i + 1:i + 4].isdigit():
            out.append(chr(int(s[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def parse_line(line: str) -> Mount | None:
    """One line, or None for one too short to be a mount (never seen from the kernel)."""
    left, _, right = line.rstrip("\n").partition(" - ")
    fields = left.split(" ")
    rf = right.split(" ")
    if len(fields) < 6 or not right:
        return None
    return Mount(int(fields[0]), int(fields[1]), unescape(fields[3]), unescape(fields[4]), fields[5], rf[0],
                 unescape(rf[1]) if len(rf) > 1 else "", rf[2] if len(rf) > 2 else "")


def read(path: str = SELF) -> list[Mount]:
    """Every mount of ``path`` (this process's mount namespace by default), in its order.
    Raises OSError as open does."""
    # surrogateescape: a mount point whose name is not UTF-8 is still a mount (as os.fsdecode).
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        return [m for m in map(parse_line, f) if m is not None]
