"""The cgroup hierarchies of this host and the container's place in each (config-linux.md
"Control groups": ``cgroupsPath`` absolute is taken from each hierarchy's root, relative
from the runtime's own cgroup; absent, runc's default, the id, relative).
Layer: linux (the bottom: imports only linux and the base).

Read from /proc/self/mountinfo (through linux/mountinfo.py) and /proc/self/cgroup: the one
home of both for cgroups (linux/mounts.py's "cgroup" mount asks here too).  Linux layer,
pure stdlib.
"""

import posix

from pyrunc.runtime.linux import fspath

_HIERARCHIES: list[tuple[str, str, str, str]] | None = None


def hierarchies() -> list[tuple[str, str, str, str]]:
    """(mount point, root within the hierarchy, fstype, controllers) per cgroup mount
    (read once per process: create asks several times)."""
    global _HIERARCHIES
    if _HIERARCHIES is None:
        _HIERARCHIES = _read_hierarchies()
    return _HIERARCHIES


def _read_hierarchies() -> list[tuple[str, str, str, str]]:
    from pyrunc.runtime.linux import mountinfo

    out = []
    seen = set()
    for m in mountinfo.read():
        if m.fstype not in ("cgroup", "cgroup2"):
            continue
        ctrls = ",".join(sorted(o for o in m.super_options.split(",") if o not in ("rw", "ro") and
                                (m.fstype == "cgroup" and (o.startswith("name=") or "=" not in o))
                                and o not in ("noprefix", "xattr", "clone_children", "cpuset_v2_mode")))
        key = (m.fstype, ctrls)
        if key in seen:
            continue
        seen.add(key)
        out.append((m.mount_point, m.root, m.fstype, ctrls))
    return out


def own_cgroups() -> dict[str, str]:
    """/proc/self/cgroup: controllers, sorted ("cpu,cpuacct", "name=systemd"; '' for the
    unified tree) -> this process's cgroup path in that hierarchy."""
    out = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            parts = line.rstrip("\n").split(":", 2)
            if len(parts) == 3:
                out[",".join(sorted(parts[1].split(","))) if parts[1] else ""] = parts[2]
    return out


def v1_mounts() -> list[tuple[str, str, str]]:
    """(mount point, mount root, controllers) of the v1 hierarchies this process belongs
    to, each once (a /sys bound into a rootfs repeats them all), in mountinfo order;
    ``controllers`` is the hierarchy's key in :func:`own_cgroups`.  Read afresh (the mount
    namespace it is asked in may not be the one :func:`hierarchies` was read in), and
    matched by the hierarchy's options holding the key's controllers, whatever other
    options it has.  cgroup2 is not among them."""
    from pyrunc.runtime.linux import mountinfo

    keys = [k for k in own_cgroups() if k]
    out: list[tuple[str, str, str]] = []
    for m in mountinfo.read():
        if m.fstype != "cgroup" or not m.super_options:
            continue
        opts = set(m.super_options.split(","))
        key = next((k for k in keys if set(k.split(",")) <= opts), None)
        if key is not None and all(h[2] != key for h in out):
            out.append((m.mount_point, m.root, key))
    return out


def resolve(cgroups_path: str, cid: str) -> list[str]:
    """The container's cgroup directory in each hierarchy."""
    own = own_cgroups()
    rel = cgroups_path or cid
    out = []
    for mnt, root, fstype, ctrls in hierarchies():
        key = "" if fstype == "cgroup2" else ctrls
        if rel.startswith("/"):
            inner = fspath.normpath(rel)
        else:
            inner = fspath.normpath(fspath.join(own.get(key, "/"), rel))
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


_FREEZERS: tuple[str | None, str | None] | None = None


def freezer_mounts() -> tuple[str | None, str | None]:
    """The mount point of the v1 freezer hierarchy and of the unified (cgroup2) tree,
    either None when the host has none (read once per process: ``list`` asks for each
    container)."""
    global _FREEZERS
    if _FREEZERS is None:
        v1 = v2 = None
        for mnt, _root, fstype, ctrls in hierarchies():
            if fstype == "cgroup2":
                v2 = v2 or mnt.rstrip("/")
            elif "freezer" in ctrls.split(","):
                v1 = v1 or mnt.rstrip("/")
        _FREEZERS = (v1, v2)
    return _FREEZERS


def is_pure_v2() -> bool:
    return all(fstype == "cgroup2" for _, _, fstype, _ in hierarchies())


def unified_mode(mountpoint: str = "/sys/fs/cgroup") -> bool:
    """/sys/fs/cgroup itself is cgroup2 (runc's IsCgroup2UnifiedMode: statfs's magic)."""
    from pyrunc.runtime.linux import libc

    try:
        fd = posix.open(mountpoint, posix.O_RDONLY | posix.O_DIRECTORY | posix.O_CLOEXEC)
    except OSError:
        return False
    try:
        return libc.fstatfs_type(fd) == 0x63677270  # CGROUP2_SUPER_MAGIC
    finally:
        posix.close(fd)
