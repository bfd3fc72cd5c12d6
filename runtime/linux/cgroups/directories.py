"""The container's cgroup directories, for every fs driver: make them (parents first, v1
cpusets filled), place a process in them, list their processes, remove them.  Rootless
leniency's variants leave out a hierarchy that refuses us for lack of permission.
Layer: linux (the bottom: imports only linux and the base).

Pure stdlib: ``delete`` and ``kill --all`` use it on the hot path.
"""

import errno
import posix
import time

from pyrunc.runtime.linux import fspath
from pyrunc.runtime.linux.cgroups import files
from pyrunc.runtime.linux.cgroups.hierarchy import hierarchies

#: What an unprivileged user meets on cgroups it was not delegated (runc's "ignorable"
#: errors under --rootless: EPERM, EACCES, and EROFS for a read-only cgroupfs).
PERMISSION_ERRNOS = (errno.EPERM, errno.EACCES, errno.EROFS)

def to_create(dirs: list[str]) -> list[str]:
    """The directories ``create(dirs)`` would make now, parents first."""
    out: list[str] = []
    for d in dirs:
        parts = []
        p = d
        while p not in out and not fspath.isdir(p) and p != "/":
            parts.append(p)
            p = fspath.dirname(p)
        out += reversed(parts)
    return out


def create(dirs: list[str]) -> list[str]:
    """Create each directory; returns those we created (to remove on failure).  On an
    error, what was made so far is removed before it is raised."""
    made: list[str] = []
    try:
        for d in dirs:
            parts = []
            p = d
            while not fspath.isdir(p):
                parts.append(p)
                p = fspath.dirname(p)
            for q in reversed(parts):
                try:
                    posix.mkdir(q, 0o755)
                    made.append(q)
                except FileExistsError:
                    continue
            _fill_cpuset(d)
    except OSError:
        remove(made, [])
        raise
    return made


def _fill_cpuset(d: str) -> None:
    """A v1 cpuset cgroup with an empty cpuset.cpus or cpuset.mems takes no process
    (ENOSPC): as runc, every level from the hierarchy's root down to ``d`` that has an
    empty set gets its parent's, including levels made beforehand by someone else (a
    kubelet's pod cgroup, say).  The unified tree is left alone: there an empty set
    means "the parent's"."""
    top = next((mnt.rstrip("/") for mnt, _r, fstype, ctrls in hierarchies()
                if fstype == "cgroup" and "cpuset" in ctrls.split(",")
                and (d == mnt.rstrip("/") or d.startswith(mnt.rstrip("/") + "/"))), None)
    if top is None or d == top:
        return
    level = top
    for part in d[len(top) + 1:].split("/"):
        parent, level = level, fspath.join(level, part)
        for name in ("cpuset.cpus", "cpuset.mems"):
            try:
                with open(fspath.join(level, name)) as fh:
                    if fh.read().strip():
                        continue
                with open(fspath.join(parent, name)) as fh:
                    val = fh.read().strip()
                files.write_file(fspath.join(level, name), val)
            except OSError:
                return  # left as it is: the join that follows reports it


def create_permitted(dirs: list[str]) -> tuple[list[str], list[str], list[str]]:
    """Rootless: create each directory where we may.  Returns (usable, made, refused):
    a hierarchy that refuses us for lack of permission is left out, not an error."""
    usable: list[str] = []
    made: list[str] = []
    refused: list[str] = []
    for d in dirs:
        try:
            made += create([d])
        except OSError as e:
            if e.errno not in PERMISSION_ERRNOS:
                remove(made, [])
                raise
            refused.append(d)
            continue
        usable.append(d)
    return usable, made, refused


def join_permitted(dirs: list[str], pid: int) -> list[str]:
    """Rootless: join each directory where we may; returns those that refused us."""
    refused = []
    for d in dirs:
        try:
            join([d], pid)
        except OSError as e:
            if e.errno not in PERMISSION_ERRNOS:
                raise
            refused.append(d)
    return refused


def join(dirs: list[str], pid: int) -> None:
    for d in dirs:
        procs = fspath.join(d, "cgroup.procs")
        with open(procs, "w") as f:
            f.write(str(pid))


def join_self(tasks: list[str]) -> None:
    """Move the calling thread into each v1 cgroup whose ``tasks`` file is named: "0" is
    the writer itself, and a thread's own move skips the threadgroup lock (and its RCU
    grace period) a write to cgroup.procs takes (kernel/cgroup: cgroup_procs_write_start).
    The caller runs one thread (forked.join_cgroups checks), so the whole process moves."""
    for path in tasks:
        fd = posix.open(path, posix.O_WRONLY | posix.O_CLOEXEC)
        try:
            posix.write(fd, b"0")
        finally:
            posix.close(fd)


def pids(dirs: list[str]) -> list[int]:
    """Every process in the container's cgroups (v1 and v2 lists may repeat a pid)."""
    seen: dict[int, None] = {}
    for d in dirs:
        try:
            with open(fspath.join(d, "cgroup.procs")) as f:
                for line in f:
                    if line.strip():
                        seen[int(line)] = None
        except OSError:
            continue
    return list(seen)


def remove(dirs: list[str], leaves: list[str], timeout: float = 5.0) -> None:
    """rmdir each directory (deepest first).  A leaf is the container's own: the cgroups
    made below it go first (runc's RemovePath), and it is retried while exiting processes
    linger (EBUSY); a parent we made is removed only if nothing else lives in it by now.
    Every directory is tried; the first error is raised at the end."""
    deadline = time.monotonic() + timeout
    leafset = set(leaves)
    first: OSError | None = None
    for d in sorted(dirs, key=len, reverse=True):
        if d not in leafset:
            try:
                posix.rmdir(d)
            except OSError:
                pass
            continue
        try:
            _remove_leaf(d, deadline)
        except OSError as e:
            first = first or e
    if first is not None:
        raise first


def _remove_leaf(d: str, deadline: float) -> None:
    while True:
        try:
            posix.rmdir(d)
            return
        except FileNotFoundError:
            return
        except OSError as e:
            if e.errno != errno.EBUSY or time.monotonic() > deadline:
                raise
            _remove_children(d)
            time.sleep(0.01)


def _remove_children(d: str) -> None:
    """The cgroups below ``d``, deepest first (a busy one stays: its parent's rmdir says so)."""
    try:
        subs = [e.path for e in posix.scandir(d) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return
    for sub in subs:
        _remove_children(sub)
        try:
            posix.rmdir(sub)
        except OSError:
            pass

