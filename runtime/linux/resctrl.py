"""Intel RDT through the resctrl filesystem (config-linux.md "IntelRdt"; the kernel's
Documentation/filesystems/resctrl.rst).

A CTRL_MON group is a directory of the resctrl root: its ``schemata`` file holds the
allocations, its ``tasks`` file the member threads; a task created later starts in its
parent's group, so adding the container's first process is enough.  ``closID`` names the
group (``/``: the root, the default CLOS), else the container's id; a MON group is
``<group>/mon_groups/<container id>``.  Every function takes the resctrl root, so the
logic runs against any tree (the tests use a fake one, named so).
"""

import os

from pyrunc.runtime.errors import PyruncError

ROOT = "/sys/fs/resctrl"


def mountpoint(mountinfo: str = "/proc/self/mountinfo") -> str | None:
    """Where resctrl is mounted in this (the runtime's) mount namespace, or None."""
    try:
        with open(mountinfo) as f:
            for line in f:
                head, _, tail = line.partition(" - ")
                if tail.split(" ", 1)[0] == "resctrl":
                    return head.split(" ")[4].replace("\\040", " ")
    except OSError:
        return None
    return None


def group_dir(root: str, rdt, cid: str) -> str:
    if rdt.clos_id == "/":
        return root
    return os.path.join(root, rdt.clos_id or cid)


def apply(root: str, rdt, cid: str, pid: int) -> list[str]:
    """Make or check the group, write its schemata, add ``pid`` to it (and to its MON
    group).  Returns the directories delete must remove, deepest first: the group when
    we made it without a closID (the spec keeps a named CLOS), the MON group always."""
    group = group_dir(root, rdt, cid)
    remove: list[str] = []
    if rdt.clos_id and not rdt.has_schema:
        # A pre-configured CLOS: it must exist (the spec's error, not a mkdir).
        if not os.path.isdir(group):
            raise PyruncError(f"linux.intelRdt.closID: {group} does not exist (a closID without "
                              "l3CacheSchema, memBwSchema or schemata must be pre-created)")
    made = False
    if group != root:
        try:
            os.mkdir(group, 0o755)
            made = True
        except FileExistsError:
            pass
        except OSError as e:
            raise _error(root, "linux.intelRdt", f"mkdir {group}", e) from None
    try:
        if made and not rdt.clos_id:
            remove.append(group)
        if rdt.clos_id and not made:
            check_schemata(group, rdt)
        lines = rdt.schema_lines() if made or not rdt.clos_id else list(rdt.schemata)
        if lines:
            _write(root, os.path.join(group, "schemata"), "".join(s + "\n" for s in lines), "linux.intelRdt")
        _write(root, os.path.join(group, "tasks"), str(pid), "linux.intelRdt")
        if rdt.enable_monitoring:
            mon = os.path.join(group, "mon_groups", cid)
            try:
                os.makedirs(mon, 0o755, exist_ok=True)  # resctrl makes mon_groups with the group
            except OSError as e:
                raise _error(root, "linux.intelRdt.enableMonitoring", f"mkdir {mon}", e) from None
            remove.insert(0, mon)
            _write(root, os.path.join(mon, "tasks"), str(pid), "linux.intelRdt.enableMonitoring")
    except BaseException:
        remove_dirs(remove)
        raise
    return remove


#: In the container's state directory: the resctrl root, the group, then what delete removes.
RECORD = "resctrl"


def record(cdir: str, root: str, group: str, remove: list[str]) -> None:
    with open(os.path.join(cdir, RECORD), "w") as f:
        f.write("".join(line + "\n" for line in (root, group, *remove)))


def _recorded(cdir: str) -> tuple[str, str, list[str]] | None:
    try:
        with open(os.path.join(cdir, RECORD)) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return None
    if len(lines) < 2:
        return None
    return lines[0], lines[1], lines[2:]


def add_task(cdir: str, pid: int) -> None:
    """An exec'd process joins the container's group (and its MON group), as runc."""
    rec = _recorded(cdir)
    if rec is None:
        return
    root, group, remove = rec
    for d in [group, *[d for d in remove if os.path.basename(os.path.dirname(d)) == "mon_groups"]]:
        if os.path.isdir(d):
            _write(root, os.path.join(d, "tasks"), str(pid), "linux.intelRdt")


def enabled(feature: str) -> bool:
    """runc 1.1.5's IsCATEnabled ("L3") and IsMBAEnabled ("MB"): resctrl is mounted and
    offers the feature (its info/<feature> directory; the kernel creates it only where
    the CPU has it and it is not disabled on the command line)."""
    root = mountpoint()
    return root is not None and os.path.isdir(os.path.join(root, "info", feature))


def set_schemata(cdir: str, lines: list[str]) -> None:
    """update: new allocations for the container's recorded group."""
    rec = _recorded(cdir)
    if rec is not None and lines:
        _write(rec[0], os.path.join(rec[1], "schemata"), "".join(s + "\n" for s in lines), "linux.intelRdt")


def release(cdir: str) -> None:
    """delete: remove what create recorded (the group it made without a closID, the
    MON group), never a CLOS named by closID (config-linux.md)."""
    rec = _recorded(cdir)
    if rec is not None:
        remove_dirs(rec[2])


def check_schemata(group: str, rdt) -> None:
    """An existing CLOS given by closID must already hold l3CacheSchema and memBwSchema
    (config-linux.md); compared per cache domain, hex without case or leading zeros."""
    try:
        with open(os.path.join(group, "schemata")) as f:
            have = {_resource(line): _domains(line) for line in f if ":" in line}
    except OSError as e:
        raise PyruncError(f"linux.intelRdt.closID: read {group}/schemata: {(e.strerror or str(e)).lower()}") from None
    for key, want in (("l3CacheSchema", rdt.l3_cache_schema), ("memBwSchema", rdt.mem_bw_schema)):
        if not want:
            continue
        cur = have.get(_resource(want))
        if cur is None or any(cur.get(dom) != val for dom, val in _domains(want).items()):
            raise PyruncError(f"linux.intelRdt.{key}: {want!r} does not match the schemata of the existing "
                              f"CLOS {rdt.clos_id!r}")


def _resource(line: str) -> str:
    return line.split(":", 1)[0].strip().upper()


def _domains(line: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in line.split(":", 1)[1].split(";"):
        dom, eq, val = part.strip().partition("=")
        if eq:
            v = val.strip().lower().lstrip("0") or "0"
            out[dom.strip()] = v
    return out


def remove_dirs(dirs: list[str]) -> None:
    """rmdir each: a resctrl group goes with rmdir with its files in it (its tasks return
    to the parent group).  A plain directory (a fake tree in tests) has real files:
    removed with them, never on resctrl itself."""
    for d in dirs:
        try:
            os.rmdir(d)
        except FileNotFoundError:
            pass
        except OSError:
            if not _is_resctrl(d):
                import shutil

                shutil.rmtree(d, ignore_errors=True)


_RDTGROUP_SUPER_MAGIC = 0x7655821


def _is_resctrl(d: str) -> bool:
    from pyrunc.runtime.linux import libc

    try:
        fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return libc.fstatfs_type(fd) == _RDTGROUP_SUPER_MAGIC
    finally:
        os.close(fd)


def _write(root: str, path: str, value: str, field: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, value.encode())
        finally:
            os.close(fd)
    except OSError as e:
        raise _error(root, field, f"write {value.strip()!r} to {path}", e) from None


def _error(root: str, field: str, what: str, e: OSError) -> PyruncError:
    """With the kernel's own explanation of the last refused command, as runc."""
    msg = f"{field}: {what}: {(e.strerror or str(e)).lower()}"
    try:
        with open(os.path.join(root, "info", "last_cmd_status")) as f:
            status = f.read().strip()
        if status and status != "ok":
            msg += f" (last_cmd_status: {status})"
    except OSError:
        pass
    return PyruncError(msg.replace("\n", " "))
