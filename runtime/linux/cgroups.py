"""A minimal cgroup manager for the runtime core: find the hierarchies, create the
container's cgroup in each (v1 controllers and the unified tree, as runc does on a
hybrid host), place a process in it, list and signal its processes, remove it.

config-linux.md "Control groups": ``cgroupsPath`` absolute is taken from each hierarchy's
root, relative from the runtime's own cgroup; absent, runc's default (the id, relative).
Resource limits come with the resources issue behind this same interface.

Pure stdlib: ``delete`` and ``kill --all`` use it on the hot path.
"""

import errno
import os
import time

#: What an unprivileged user meets on cgroups it was not delegated (runc's "ignorable"
#: errors under --rootless: EPERM, EACCES, and EROFS for a read-only cgroupfs).
PERMISSION_ERRNOS = (errno.EPERM, errno.EACCES, errno.EROFS)

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


def to_create(dirs: list[str]) -> list[str]:
    """The directories ``create(dirs)`` would make now, parents first."""
    out: list[str] = []
    for d in dirs:
        parts = []
        p = d
        while p not in out and not os.path.isdir(p) and p != "/":
            parts.append(p)
            p = os.path.dirname(p)
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
            while not os.path.isdir(p):
                parts.append(p)
                p = os.path.dirname(p)
            for q in reversed(parts):
                try:
                    os.mkdir(q, 0o755)
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
        parent, level = level, os.path.join(level, part)
        for name in ("cpuset.cpus", "cpuset.mems"):
            try:
                with open(os.path.join(level, name)) as fh:
                    if fh.read().strip():
                        continue
                with open(os.path.join(parent, name)) as fh:
                    val = fh.read().strip()
                _write(os.path.join(level, name), val)
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
        procs = os.path.join(d, "cgroup.procs")
        with open(procs, "w") as f:
            f.write(str(pid))


def pids(dirs: list[str]) -> list[int]:
    """Every process in the container's cgroups (v1 and v2 lists may repeat a pid)."""
    seen: dict[int, None] = {}
    for d in dirs:
        try:
            with open(os.path.join(d, "cgroup.procs")) as f:
                for line in f:
                    if line.strip():
                        seen[int(line)] = None
        except OSError:
            continue
    return list(seen)


def frozen(dirs: list[str]) -> bool:
    """Any of the container's cgroups frozen or freezing: the v1 freezer.state (which
    shows a frozen parent too), v2's cgroup.freeze or its effective "frozen" event."""
    for d in dirs:
        for name, bad in (("freezer.state", ("FROZEN", "FREEZING")), ("cgroup.freeze", ("1",)),
                          ("cgroup.events", ("frozen 1",))):
            try:
                with open(os.path.join(d, name)) as f:
                    text = f.read()
            except OSError:
                continue
            if any(b == line.strip() for line in text.splitlines() for b in bad):
                return True
    return False


def signal_all(dirs: list[str], sig: int) -> None:
    for pid in pids(dirs):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def remove(dirs: list[str], leaves: list[str], timeout: float = 5.0) -> None:
    """rmdir each directory (deepest first).  A leaf is retried while exiting processes
    linger; a parent we made is removed only if nothing else lives in it by now."""
    deadline = time.monotonic() + timeout
    leafset = set(leaves)
    for d in sorted(dirs, key=len, reverse=True):
        while True:
            if d not in leafset:
                try:
                    os.rmdir(d)
                except OSError:
                    pass
                break
            try:
                os.rmdir(d)
                break
            except FileNotFoundError:
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)


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


def attach_device_filter(dirs: list[str], rules: list[dict]) -> None:
    """cgroup v2 has no devices files: an eBPF program attached to the cgroup does it."""
    from pyrunc.runtime.linux import devicefilter

    prog = devicefilter.load(devicefilter.build(rules))
    try:
        devicefilter.attach(by_controller(dirs)[""], prog)
    finally:
        os.close(prog)


def memory_current(dirs: list[str]) -> int:
    """The unified tree's memory.current (0 where there is none)."""
    from pyrunc.runtime.linux import cgroup_stats

    return cgroup_stats._int(os.path.join(by_controller(dirs).get("", ""), "memory.current"))


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


def freeze(dirs: list[str], frozen: bool, timeout: float = 5.0) -> None:
    """pause/resume: the v1 freezer where it is on v1, else cgroup.freeze (v2)."""
    ctl = by_controller(dirs)
    if "freezer" in ctl:
        d = ctl["freezer"]
        _write(os.path.join(d, "freezer.state"), "FROZEN" if frozen else "THAWED")
        if frozen:
            deadline = time.monotonic() + timeout
            while True:
                with open(os.path.join(d, "freezer.state")) as f:
                    if f.read().strip() == "FROZEN":
                        return
                if time.monotonic() > deadline:
                    _write(os.path.join(d, "freezer.state"), "THAWED")
                    raise OSError(16, "the freezer did not reach FROZEN")
                time.sleep(0.002)
        return
    if "" in ctl:
        _write(os.path.join(ctl[""], "cgroup.freeze"), "1" if frozen else "0")
        return
    raise OSError(95, "cannot toggle freezer: cgroups not configured for container")
