"""Mounting config.md "Mounts" entries inside the rootfs, through fds.
Layer: linux (the bottom: imports only linux and the base).

Each destination is resolved inside the rootfs with openat2(RESOLVE_IN_ROOT) and the
mount is made on /proc/self/fd/N of that handle, so the container cannot swap the target
for a symlink between the check and the mount (CVE-2021-30465).
"""

import errno
import os
import stat

from pyrunc.runtime.errors import PyruncError, SysError
from pyrunc.runtime.linux import consts as c
from pyrunc.runtime.linux import libc, paths

#: Flags that a bind mount only honours through a remount (mount(2), "MS_BIND").
_REMOUNT_FLAGS = (c.MS_RDONLY | c.MS_NOSUID | c.MS_NODEV | c.MS_NOEXEC | c.MS_NOATIME | c.MS_NODIRATIME
                  | c.MS_RELATIME | c.MS_STRICTATIME | c.MS_NOSYMFOLLOW)


def _mount_at(rootfd: int, dest: str, source: str | None, fstype: str | None, flags: int,
              data: str | None, what: str) -> None:
    fd = paths.open_in_root(rootfd, dest)
    try:
        libc.mount(source, paths.fd_path(fd), fstype, flags, data, what=what)
    finally:
        os.close(fd)


def _existing_mode(rootfd: int, dest: str) -> int | None:
    """The permission bits of ``dest`` if it exists: runc 1.1 gives a tmpfs the mode of
    the directory it covers (after mounting, so over a mode= in the data too)."""
    try:
        fd = paths.open_in_root(rootfd, dest)
    except (OSError, SysError):
        return None
    try:
        return stat.S_IMODE(os.fstat(fd).st_mode)
    finally:
        os.close(fd)


def _chmod_in_root(rootfd: int, dest: str, mode: int) -> None:
    fd = paths.open_in_root(rootfd, dest)
    try:
        os.chmod(paths.fd_path(fd), mode)
    except OSError as e:
        raise SysError("chmod", e.errno or errno.EIO, dest) from None
    finally:
        os.close(fd)


def set_propagation(rootfd: int, dest: str, flags: list[int], what: str) -> None:
    for p in flags:
        _mount_at(rootfd, dest, None, None, p, None, what)


def make_target(rootfd: int, dest: str, source_is_dir: bool) -> None:
    fd = paths.mkdir_all(rootfd, dest) if source_is_dir else paths.create_file(rootfd, dest)
    os.close(fd)


def mount_entry(rootfd: int, m, cgroup_ns: bool, tree_fd: int = -1,
                source_fd: int = -1) -> bool:  # m: pyrunc.spec.plan.Mount
    """Mount one config entry; errors name its JSON path and destination.  ``tree_fd``:
    a detached (idmapped) tree to attach instead of binding the source; ``source_fd``:
    the bind source, opened by the runtime (O_PATH, in our mount namespace, with the
    host's credentials: see mountsrc), bound from instead of the path.  True: a tmpfs
    mounted read-write for now, to be made read-only by ``remount_readonly`` once the
    other mounts (and the hooks) are done, as runc's finalizeRootfs does (a mount point
    may still have to be made in it, and it takes the covered directory's mode first)."""
    try:
        return _mount_entry(rootfd, m, cgroup_ns, tree_fd, source_fd)
    except SysError as e:
        raise PyruncError(f"{m.path}: {e.msg}") from None
    finally:
        for fd in (tree_fd, source_fd):
            if fd >= 0:
                os.close(fd)


def remount_readonly(rootfd: int, m) -> None:
    """The deferred read-only remount of a tmpfs entry (see mount_entry): of the mount,
    not the filesystem (MS_BIND, as runc: also allowed in a user namespace)."""
    flags = (m.flags & _REMOUNT_FLAGS) | c.MS_BIND | c.MS_REMOUNT | c.MS_RDONLY
    try:
        _mount_at(rootfd, m.destination, None, None, flags, None, m.destination)
    except SysError as e:
        raise PyruncError(f"{m.path}: {e.msg}") from None


def _mount_entry(rootfd: int, m, cgroup_ns: bool, tree_fd: int, source_fd: int = -1) -> bool:
    dest = m.destination
    what = dest
    ro_later = False
    if m.is_bind:
        # The source as the runtime opened it, where it did; else by its path, as we are.
        source = paths.fd_path(source_fd) if source_fd >= 0 else m.source
        try:
            st = os.fstat(source_fd) if source_fd >= 0 else os.stat(m.source)
        except OSError as e:
            raise SysError("stat bind source", e.errno or errno.ENOENT, m.source) from None
        check_proc_destination(rootfd, m)
        make_target(rootfd, dest, stat.S_ISDIR(st.st_mode))
        if tree_fd >= 0:
            target = paths.open_in_root(rootfd, dest)
            try:
                libc.move_mount_fd(tree_fd, target, what)
            finally:
                os.close(target)
        else:
            bind_flags = c.MS_BIND | (m.flags & c.MS_REC)
            _mount_at(rootfd, dest, source, None, bind_flags, None, what)
        if m.flags & _REMOUNT_FLAGS:
            # A bind mount takes ro/nosuid/... only through MS_REMOUNT (mount(2)).
            _mount_at(rootfd, dest, None, None,
                      c.MS_BIND | c.MS_REMOUNT | (m.flags & _REMOUNT_FLAGS) | _locked_flags(source),
                      None, what)
    elif m.type == "cgroup":
        check_proc_destination(rootfd, m)
        make_target(rootfd, dest, True)
        mount_cgroup(rootfd, dest, m.flags & ~c.MS_REMOUNT, cgroup_ns, what)
    else:
        check_proc_destination(rootfd, m)
        if m.type in ("proc", "sysfs"):
            check_ordinary_directory(rootfd, m)
        mode = _existing_mode(rootfd, dest) if m.type == "tmpfs" else None
        copyup = "tmpcopyup" in m.extensions and m.type == "tmpfs"
        existed = mode is not None
        make_target(rootfd, dest, True)
        flags = m.flags & ~c.MS_REMOUNT
        if m.type == "tmpfs" and flags & c.MS_RDONLY:
            flags &= ~c.MS_RDONLY
            ro_later = True
        if copyup:
            _tmpcopyup(rootfd, dest, m.source, flags, m.data, what, existed)
        elif m.type == "sysfs":
            _mount_sysfs(rootfd, dest, m, flags, what)
        else:
            _mount_at(rootfd, dest, m.source or m.type, m.type, flags, m.data or None, what)
        if mode is not None:
            _chmod_in_root(rootfd, dest, mode)
    if m.rec_set or m.rec_clr:
        # config.md "Mounts": the recursive options reach every submount (mount_setattr
        # with AT_RECURSIVE, on the mount just made).
        fd = paths.open_in_root(rootfd, dest)
        try:
            libc.mount_setattr(fd, m.rec_set, m.rec_clr, True, what=what)
        finally:
            os.close(fd)
    if m.propagation:
        set_propagation(rootfd, dest, m.propagation, what)
    return ro_later


#: Files under /proc that may be mounted over: those lxcfs emulates (runc's list).
PROC_MOUNTABLE = ("stat", "meminfo", "cpuinfo", "uptime", "loadavg", "slabinfo", "diskstats", "swaps",
                  "net/dev", "sys/kernel/ns_last_pid", "sys/crypto/fips_enabled")


def check_proc_destination(rootfd: int, m) -> None:
    """Nothing is mounted inside the container's /proc but procfs itself and the files
    lxcfs emulates: a mount over /proc/sys or /proc/self/attr would stand between the
    container and the kernel's knobs (CVE-2019-19921).  Checked on the resolved target,
    so a symlink in the image cannot lead a mount there unnoticed."""
    target = _resolved(rootfd, m.destination)
    proc = os.readlink(paths.fd_path(rootfd)).rstrip("/") + "/proc"
    if target != proc and not target.startswith(proc + "/"):
        return
    rel = target[len(proc) + 1:]
    if not rel:
        if m.is_bind and _is_proc_root(m.source):
            return
        if not m.is_bind and m.type == "proc":
            return
        raise PyruncError(f'{m.path}: "{m.destination}" cannot be mounted because it is not of type proc')
    if rel in PROC_MOUNTABLE:
        return
    raise PyruncError(f'{m.path}: "{m.destination}" cannot be mounted because it is inside /proc')


def check_ordinary_directory(rootfd: int, m) -> None:
    """procfs and sysfs only on a directory of the rootfs itself: where the image has
    /proc or /sys as a symlink (or a file), the mount would land wherever it points
    (CVE-2019-19921, CVE-2023-27561: e.g. over a directory the container later uses to
    reach the host's knobs).  runc refuses it with this text."""
    parent, _, name = paths.clean(m.destination).rpartition("/")
    if not name:
        return
    pfd = _open_parent(rootfd, parent)
    if pfd < 0:
        return  # the parent does not exist yet: it is made, the entry with it
    try:
        st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
    except FileNotFoundError:
        return
    except OSError as e:
        raise SysError("lstat", e.errno or 0, m.destination) from None
    finally:
        os.close(pfd)
    if not stat.S_ISDIR(st.st_mode):
        raise PyruncError(f'{m.path}: error mounting "{m.source or m.type}" to rootfs at "{m.destination}": '
                          f'filesystem "{m.type}" must be mounted on ordinary directory')


def _open_parent(rootfd: int, parent: str) -> int:
    try:
        return paths.open_in_root(rootfd, parent or ".")
    except SysError:
        return -1


def _resolved(rootfd: int, dest: str) -> str:
    """The host path ``dest`` resolves to inside the root, as far as it exists (the rest
    of it is appended as written: it will be created beneath)."""
    parts = paths.clean(dest).split("/")
    for i in range(len(parts), -1, -1):
        try:
            fd = paths.open_in_root(rootfd, "/".join(parts[:i]) or ".")
        except SysError:
            continue
        try:
            base = os.readlink(paths.fd_path(fd))
        finally:
            os.close(fd)
        return "/".join([base.rstrip("/")] + parts[i:])
    return dest


def _is_proc_root(source: str) -> bool:
    from pyrunc.runtime.linux import procwrite

    try:
        fd = os.open(source, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return libc.fstatfs_type(fd) == procwrite.PROC_SUPER_MAGIC and os.fstat(fd).st_ino == 1
    finally:
        os.close(fd)


def _mount_sysfs(rootfd: int, dest: str, m, flags: int, what: str) -> None:
    """A sysfs needs a network namespace owned by our user namespace; in a user namespace
    that joined another's network namespace (or rootless without one) the kernel says
    EPERM.  Then, as runc does, the host's /sys is bound instead, read-only and with the
    entry's other flags."""
    try:
        _mount_at(rootfd, dest, m.source or "sysfs", "sysfs", flags, m.data or None, what)
        return
    except SysError as e:
        if e.errno != errno.EPERM:
            raise
    _mount_at(rootfd, dest, "/sys", None, c.MS_BIND | c.MS_REC, None, what)
    keep = flags & (c.MS_NOSUID | c.MS_NODEV | c.MS_NOEXEC)
    _mount_at(rootfd, dest, None, None, c.MS_BIND | c.MS_REMOUNT | c.MS_RDONLY | keep | _locked_flags("/sys"),
              None, what)


def _locked_flags(source: str) -> int:
    """Flags the kernel keeps locked on a bind of ``source`` (statvfs), kept on remount."""
    try:
        sv = os.statvfs(source)
    except OSError:
        return 0
    keep = 0
    for st_flag, ms in ((os.ST_NOSUID, c.MS_NOSUID), (os.ST_NODEV, c.MS_NODEV), (os.ST_NOEXEC, c.MS_NOEXEC)):
        if sv.f_flag & st_flag:
            keep |= ms
    return keep


def _tmpcopyup(rootfd: int, dest: str, source: str, flags: int, data: str, what: str, existed: bool) -> None:
    """runc's tmpcopyup extension: the tmpfs starts with a copy of what it covers, and the
    mode of the directory it covers if that was in the image (runc's chmod after the
    mount); over a directory made for it, the tmpfs keeps its own mode (``mode=``)."""
    import shutil
    import tempfile

    tmp = tempfile.mkdtemp(prefix="pyrunc-copyup-")
    mounted = moved = False
    try:
        libc.mount(source or "tmpfs", tmp, "tmpfs", flags, data or None, what=what)
        mounted = True
        own_mode = os.stat(tmp).st_mode & 0o7777
        src_fd = paths.open_in_root(rootfd, dest, os.O_RDONLY | os.O_DIRECTORY)
        try:
            shutil.copytree(f"/proc/self/fd/{src_fd}", tmp, symlinks=True, dirs_exist_ok=True)
            if not existed:
                os.chmod(tmp, own_mode)
        except (OSError, shutil.Error) as e:
            raise PyruncError(f"tmpcopyup of {dest}: cannot copy: {str(e)[:200]}") from None
        finally:
            os.close(src_fd)
        fd = paths.open_in_root(rootfd, dest)
        try:
            libc.mount(tmp, paths.fd_path(fd), None, c.MS_MOVE, None, what=what)
            moved = True
        finally:
            os.close(fd)
    finally:
        if mounted and not moved:
            try:
                libc.umount2(tmp, c.MNT_DETACH)
            except SysError:
                pass
        try:
            os.rmdir(tmp)
        except OSError:
            pass


def mount_cgroup(rootfd: int, dest: str, flags: int, cgroup_ns: bool, what: str) -> None:
    """A "cgroup" mount (config-linux.md leaves the layout to the runtime; runc 1.1's):
    cgroup2 on a pure v2 host; on a v1 or hybrid host a rw tmpfs at ``dest`` holding one
    mount per v1 hierarchy, named for its host mount point: with a cgroup namespace a
    fresh mount of the hierarchy (its root is then the container's cgroup), without one a
    bind of the container's own directory of it (so a limit read inside is the
    container's, and other containers' cgroups stay out of sight; a bind also works in a
    user namespace, where mounting a hierarchy is not allowed).  A combined hierarchy
    ("cpu,cpuacct") gets a symlink per controller."""
    from pyrunc.runtime.linux.cgroups import hierarchy

    base = flags & (c.MS_NOSUID | c.MS_NODEV | c.MS_NOEXEC | c.MS_RDONLY)
    hier = hierarchy.v1_mounts()
    if not hier:
        _mount_at(rootfd, dest, "cgroup2", "cgroup2", base, None, what)
        return
    # runc: nosuid,nodev,noexec and rw whatever the entry says (only the hierarchies are
    # ro), with the mode of the directory it covers (sysfs's 0555).
    mode = _existing_mode(rootfd, dest)
    _mount_at(rootfd, dest, "tmpfs", "tmpfs", c.MS_NOSUID | c.MS_NODEV | c.MS_NOEXEC, "mode=755", what)
    if mode is not None:
        _chmod_in_root(rootfd, dest, mode)
    own = {} if cgroup_ns else hierarchy.own_cgroups()
    merged = []
    for mnt, root, key in hier:
        name = os.path.basename(mnt)
        sub = dest.rstrip("/") + "/" + name
        os.close(paths.mkdir_all(rootfd, sub))
        if "," in name:
            merged.append(name)
        if cgroup_ns:
            data = "name=systemd" if name == "systemd" else name
            _mount_at(rootfd, sub, "systemd" if name == "systemd" else "cgroup", "cgroup", base, data, what)
            continue
        rel = os.path.relpath(own.get(key, root), root)
        source = mnt if rel == "." else os.path.join(mnt, rel)
        _mount_at(rootfd, sub, source, None, c.MS_BIND | c.MS_REC, None, what)
        # A bind takes its flags only through a remount (mount(2), "MS_BIND").
        _mount_at(rootfd, sub, None, None, c.MS_BIND | c.MS_REMOUNT | base | _locked_flags(source),
                  None, what)
    if merged:
        fd = paths.open_in_root(rootfd, dest, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for name in merged:
                for ctrl in name.split(","):
                    try:
                        os.symlink(name, ctrl, dir_fd=fd)
                    except FileExistsError:
                        pass
        finally:
            os.close(fd)
