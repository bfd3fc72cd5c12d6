"""The one door to libc: the only ``ctypes.CDLL(None)`` of the runtime, the syscall numbers per
architecture, and the calls CPython 3.11 does not expose.
Layer: linux (the bottom: imports only linux and the base).

Every module that needs a libc function or a raw syscall goes through :data:`LIBC` and
:func:`syscall` (or :func:`nr`), so that the numbers live in one table and an architecture
the table does not know is one clear error at the call that needs a number, never the
numbers of another machine.

Loaded on first use only: ``start``, ``state``, ``kill`` and ``delete`` never import it.
Python 3.12 has ``os.unshare``/``os.setns``; those are used when present.
"""

import ctypes
import os

from pyrunc.runtime.errors import PyruncError, SysError

#: libc (the process's own symbols: libc is already mapped, so this works after pivot_root too).
LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.syscall.restype = ctypes.c_long

#: The machine whose syscall numbers this process uses, read once at import: after
#: personality(PER_LINUX32) (process.personality, set before seccomp) uname says "i686".
ARCH = os.uname().machine

# Syscall numbers.  x86_64 has its own table (arch/x86/entry/syscalls/syscall_64.tbl);
# aarch64, riscv64 and loongarch64 share the generic one (include/uapi/asm-generic/unistd.h).
_X86_64 = {"rt_sigaction": 13, "capget": 125, "capset": 126, "pivot_root": 155, "set_mempolicy": 238,
           "keyctl": 250, "ioprio_set": 251, "sched_setattr": 314, "seccomp": 317,
           "bpf": 321}
_GENERIC = {"ioprio_set": 30, "pivot_root": 41, "capget": 90, "capset": 91, "rt_sigaction": 134,
            "keyctl": 219, "set_mempolicy": 237, "sched_setattr": 274, "seccomp": 277,
            "bpf": 280}
# Calls added since Linux 5.1 have one number on both tables (alpha aside, which pyrunc does not know).
_UNIFIED = {"pidfd_send_signal": 424, "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
            "fsmount": 432, "pidfd_open": 434, "clone3": 435, "openat2": 437, "mount_setattr": 442}
_TABLES = {"x86_64": {**_X86_64, **_UNIFIED}, "aarch64": {**_GENERIC, **_UNIFIED},
           "riscv64": {**_GENERIC, **_UNIFIED}, "loongarch64": {**_GENERIC, **_UNIFIED}}


def nr(name: str) -> int:
    """The number of syscall ``name`` on this machine; an unknown architecture is an error."""
    table = _TABLES.get(ARCH)
    if table is None:
        raise PyruncError(f"{name}: no syscall numbers known for the {ARCH} architecture "
                          f"(pyrunc knows {', '.join(_TABLES)})")
    return table[name]


def syscall(name: str, *args) -> int:
    """syscall(2) by name; returns the raw result (-1 with errno set on failure)."""
    return int(LIBC.syscall(ctypes.c_long(nr(name)), *args))


# prctl(2)
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_KEEPCAPS = 8
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4

# openat2(2) resolve flags
RESOLVE_NO_XDEV = 0x01
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_BENEATH = 0x08
RESOLVE_IN_ROOT = 0x10


def _check(ret: int, op: str, path: str = "") -> int:
    if ret < 0:
        raise SysError(op, ctypes.get_errno(), path)
    return ret


def _b(s: str | None) -> bytes | None:
    return None if s is None else os.fsencode(s)


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None,
          what: str = "") -> None:
    """mount(2); ``what`` names the mount in errors (e.g. the config's destination)."""
    ret = LIBC.mount(_b(source), _b(target), _b(fstype), ctypes.c_ulong(flags), _b(data))
    _check(ret, f"mount {source or fstype or ''} to {what or target}".replace("  ", " "))


def umount2(target: str, flags: int = 0) -> None:
    _check(LIBC.umount2(_b(target), flags), "umount", target)


def pivot_root(new_root: str, put_old: str) -> None:
    _check(syscall("pivot_root", _b(new_root), _b(put_old)), "pivot_root", new_root)


def unshare(flags: int) -> None:
    if hasattr(os, "unshare"):
        try:
            os.unshare(flags)  # type: ignore[attr-defined]
        except OSError as e:
            raise SysError("unshare", e.errno or 0) from None
        return
    _check(LIBC.unshare(flags), "unshare")


def setns(fd: int, nstype: int, path: str = "") -> None:
    if hasattr(os, "setns"):
        try:
            os.setns(fd, nstype)  # type: ignore[attr-defined]
        except OSError as e:
            raise SysError("setns", e.errno or 0, path) from None
        return
    _check(LIBC.setns(fd, nstype), "setns", path)


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0, what: str = "prctl") -> int:
    return _check(LIBC.prctl(option, ctypes.c_ulong(arg2), ctypes.c_ulong(arg3), ctypes.c_ulong(arg4),
                              ctypes.c_ulong(arg5)), what)


def setdomainname(name: str) -> None:
    b = name.encode()
    _check(LIBC.setdomainname(b, len(b)), "setdomainname", name)


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


def openat2(dirfd: int, path: str, flags: int, resolve: int, mode: int = 0) -> int:
    """openat2(2).  With RESOLVE_IN_ROOT or RESOLVE_BENEATH the kernel answers EAGAIN when
    a rename or a mount anywhere on the system raced with the lookup (openat2(2): "the
    caller should retry"): retried, a bounded number of times."""
    how = _OpenHow(flags | os.O_CLOEXEC, mode, resolve)
    bpath = _b(path)
    for _ in range(256):
        ret = syscall("openat2", dirfd, bpath, ctypes.byref(how), ctypes.sizeof(how))
        if ret >= 0 or ctypes.get_errno() != 11:  # EAGAIN
            break
    return _check(ret, "openat2", path)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


_CAP_V3 = 0x20080522


def capget() -> tuple[int, int, int]:
    hdr = _CapHeader(_CAP_V3, 0)
    data = (_CapData * 2)()
    _check(syscall("capget", ctypes.byref(hdr), data), "capget")
    e = data[0].effective | (data[1].effective << 32)
    p = data[0].permitted | (data[1].permitted << 32)
    i = data[0].inheritable | (data[1].inheritable << 32)
    return e, p, i


def capset(effective: int, permitted: int, inheritable: int) -> None:
    hdr = _CapHeader(_CAP_V3, 0)
    data = (_CapData * 2)()
    for i, shift in ((0, 0), (1, 32)):
        data[i].effective = (effective >> shift) & 0xFFFFFFFF
        data[i].permitted = (permitted >> shift) & 0xFFFFFFFF
        data[i].inheritable = (inheritable >> shift) & 0xFFFFFFFF
    _check(syscall("capset", ctypes.byref(hdr), data), "capset")


def join_session_keyring(name: str | None) -> None:
    """keyctl(KEYCTL_JOIN_SESSION_KEYRING): a new session keyring for the container."""
    KEYCTL_JOIN_SESSION_KEYRING = 1
    ret = syscall("keyctl", KEYCTL_JOIN_SESSION_KEYRING, _b(name))
    _check(ret, "join session keyring")


class _KSigaction(ctypes.Structure):
    """The kernel's struct sigaction (x86_64/aarch64 layout)."""

    _fields_ = [("handler", ctypes.c_void_p), ("flags", ctypes.c_ulong), ("restorer", ctypes.c_void_p),
                ("mask", ctypes.c_ulong)]


def reset_signal_dispositions() -> None:
    """Every signal 1..64 back to SIG_DFL, through the raw syscall: glibc's wrappers refuse
    its own two internal real-time signals, which a caller may have left ignored."""
    act = _KSigaction(None, 0, None, 0)
    number = ctypes.c_long(nr("rt_sigaction"))
    for sig in range(1, 65):
        if sig in (9, 19):  # SIGKILL, SIGSTOP
            continue
        LIBC.syscall(number, sig, ctypes.byref(act), None, 8)


# The new mount API (mount_setattr(2), open_tree(2), fsopen(2)).
OPEN_TREE_CLONE = 1
AT_RECURSIVE = 0x8000
AT_EMPTY_PATH = 0x1000
MOVE_MOUNT_F_EMPTY_PATH = 0x4
FSCONFIG_CMD_CREATE = 6
MOUNT_ATTR_NOSUID = 0x2
MOUNT_ATTR_NODEV = 0x4
MOUNT_ATTR_NOEXEC = 0x8
MOUNT_ATTR_IDMAP = 0x100000


def fs_instance(fstype: str, attrs: int) -> int:
    """A new, detached instance of ``fstype`` (fsopen, fsconfig create, fsmount): an fd
    of its root that no path leads to, so nothing mounted anywhere can shadow it."""
    fsfd = _check(syscall("fsopen", _b(fstype), 1), "fsopen", fstype)  # FSOPEN_CLOEXEC
    try:
        _check(syscall("fsconfig", fsfd, FSCONFIG_CMD_CREATE, None, None, 0), "fsconfig", fstype)
        return _check(syscall("fsmount", fsfd, 1, attrs), "fsmount", fstype)  # FSMOUNT_CLOEXEC
    finally:
        os.close(fsfd)


def open_tree(dirfd: int, path: str, flags: int) -> int:
    return _check(syscall("open_tree", dirfd, _b(path), flags | os.O_CLOEXEC), "open_tree", path)


def move_mount_fd(from_fd: int, to_fd: int, what: str) -> None:
    """Attach the detached tree ``from_fd`` on the directory ``to_fd`` (both fds)."""
    flags = MOVE_MOUNT_F_EMPTY_PATH | 0x40  # MOVE_MOUNT_T_EMPTY_PATH
    _check(syscall("move_mount", from_fd, b"", to_fd, b"", flags), "move_mount", what)


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def mount_setattr(fd: int, attr_set: int, attr_clr: int, recursive: bool, userns_fd: int = 0,
                  what: str = "") -> None:
    attr = _MountAttr(attr_set, attr_clr, 0, userns_fd)
    flags = AT_EMPTY_PATH | (AT_RECURSIVE if recursive else 0)
    _check(syscall("mount_setattr", fd, b"", flags, ctypes.byref(attr), ctypes.sizeof(attr)),
           "mount_setattr", what)


def fstatfs_type(fd: int) -> int:
    """f_type of fstatfs(2): which filesystem an fd is on (first field of struct statfs)."""
    buf = ctypes.create_string_buffer(128)
    _check(LIBC.fstatfs(fd, buf), "fstatfs")
    return ctypes.c_long.from_buffer(buf).value


# Process attributes: sched_setattr(2), ioprio_set(2), personality(2).
IOPRIO_WHO_PROCESS = 1


def sched_setattr(policy: int, flags: int, nice: int, priority: int, runtime: int, deadline: int,
                  period: int) -> None:
    """sched_setattr(2) on the calling thread (struct sched_attr, 48 bytes)."""
    import struct

    attr = ctypes.create_string_buffer(struct.pack("=IIQiIQQQ", 48, policy, flags, nice, priority,
                                                   runtime, deadline, period))
    _check(syscall("sched_setattr", ctypes.c_long(0), attr, ctypes.c_long(0)), "sched_setattr")


def ioprio_set(which: int, who: int, prio: int) -> None:
    _check(syscall("ioprio_set", ctypes.c_long(which), ctypes.c_long(who), ctypes.c_long(prio)), "ioprio_set")


def personality(persona: int) -> None:
    _check(LIBC.personality(ctypes.c_ulong(persona)), "personality")


# clone3(2)
CLONE_INTO_CGROUP = 0x200000000
_SIGCHLD = 17


class _CloneArgs(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in (
        "flags", "pidfd", "child_tid", "parent_tid", "exit_signal", "stack", "stack_size", "tls",
        "set_tid", "set_tid_size", "cgroup")]


def only_thread() -> bool:
    """This process runs one thread (/proc/self/task): a raw clone3 is then as safe as
    fork(2), no lock of libc's or of the interpreter's held by a thread the child lacks."""
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


def fork_into_cgroup(cgroup_fd: int) -> int:
    """fork(), the child born in the cgroup2 directory ``cgroup_fd`` (clone3's
    CLONE_INTO_CGROUP, Linux 5.7): no migration afterwards, so none of the cgroup lock's
    RCU grace period a write of a pid to cgroup.procs waits for.  Returns the child's pid,
    0 in the child; raises OSError (ENOSYS, EINVAL, EACCES, ...: the caller forks as
    before).  Only for a process running one thread (:func:`only_thread`), as the
    interpreter's own fork: it brackets the call with the interpreter's fork hooks and
    holds the GIL through it (a PyDLL call)."""
    api = ctypes.pythonapi
    call = ctypes.PyDLL(None, use_errno=True).syscall
    call.restype = ctypes.c_long
    args = _CloneArgs(flags=CLONE_INTO_CGROUP, exit_signal=_SIGCHLD, cgroup=cgroup_fd)
    number = ctypes.c_long(nr("clone3"))
    size = ctypes.c_size_t(ctypes.sizeof(args))
    api.PyOS_BeforeFork()
    pid = call(number, ctypes.byref(args), size)
    if pid == 0:
        api.PyOS_AfterFork_Child()
        return 0
    err = ctypes.get_errno()
    api.PyOS_AfterFork_Parent()
    if pid < 0:
        raise OSError(err, os.strerror(err))
    return int(pid)
