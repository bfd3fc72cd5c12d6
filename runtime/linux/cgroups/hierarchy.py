"""The cgroup hierarchies of this host and the container's place in each (config-linux.md
"Control groups": ``cgroupsPath`` absolute is taken from each hierarchy's root, relative
from the runtime's own cgroup; absent, runc's default, the id, relative).

Read from /proc/self/mountinfo and /proc/self/cgroup, once per process.  Pure stdlib.
"""

import os

_HIERARCHIES: list[tuple[str, str, str, str]] | None = None


def hierarchies() -> list[tuple[str, str, str, str]]:
    """(mount point, root within the hierarchy, fstype, controllers) per cgroup mount
    (read once per process: create asks several times)."""
    global _HIERARCHIES
    if _HIERARCHIES is None:
        _HIERARCHIES = _read_hierarchies()
    return _HIERARCHIES


def _read_hierarchies() -> list[tuple[str, str, str, str]]:
    out = []
    seen = set()
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields = left.split()
            rf = right.split()
            if not rf or rf[0] not in ("cgroup", "cgroup2"):
                continue
            opts = rf[2] if len(rf) > 2 else ""
            ctrls = ",".join(sorted(o for o in opts.split(",") if o not in ("rw", "ro") and
                                    (rf[0] == "cgroup" and (o.startswith("name=") or "=" not in o))
                                    and o not in ("noprefix", "xattr", "clone_children", "cpuset_v2_mode")))
            key = (rf[0], ctrls)
            if key in seen:
                continue
            seen.add(key)
            out.append((fields[4], fields[3], rf[0], ctrls))
    return out


def own_cgroups() -> dict[str, str]:
    """controllers ('' for the unified tree) -> this process's cgroup path."""
    out = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            out[",".join(sorted(ctrls.split(","))) if ctrls else ""] = path
    return out


def resolve(cgroups_path: str, cid: str) -> list[str]:
    """The container's cgroup directory in each hierarchy."""
    own = own_cgroups()
    rel = cgroups_path or cid
    out = []
    for mnt, root, fstype, ctrls in hierarchies():
        key = "" if fstype == "cgroup2" else ctrls
        if rel.startswith("/"):
            inner = os.path.normpath(rel)
        else:
            inner = os.path.normpath(os.path.join(own.get(key, "/"), rel))
        # The hierarchy may be mounted at a sub-cgroup (root != "/").
        if root != "/" and (inner == root or inner.startswith(root + "/")):
            inner = inner[len(root):] or "/"
        out.append(mnt.rstrip("/") + inner)
    return out


def by_controller(dirs: list[str]) -> dict[str, str]:
    """controller name ('' for the unified tree) -> the container's directory for it."""
    out: dict[str, str] = {}
    for mnt, _root, fstype, ctrls in hierarchies():
        base = mnt.rstrip("/")
        for d in dirs:
            if d == base or d.startswith(base + "/"):
                if fstype == "cgroup2":
                    out[""] = d
                for c in ctrls.split(","):
                    if c:
                        out[c] = d
    # net_cls,net_prio and cpu,cpuacct may be co-mounted under either name.
    return out


def is_pure_v2() -> bool:
    return all(fstype == "cgroup2" for _, _, fstype, _ in hierarchies())


def unified_mode(mountpoint: str = "/sys/fs/cgroup") -> bool:
    """/sys/fs/cgroup itself is cgroup2 (runc's IsCgroup2UnifiedMode: statfs's magic)."""
    from pyrunc.runtime.linux import libc

    try:
        fd = os.open(mountpoint, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return libc.fstatfs_type(fd) == 0x63677270  # CGROUP2_SUPER_MAGIC
    finally:
        os.close(fd)
