"""Seccomp filters: compiled with libseccomp (ctypes, Debian's libseccomp.so.2), loaded with seccomp(2).
Layer: linux (the bottom: imports only linux and the base).

Two steps, in two places:

* :func:`compile_filter` turns a spec ``Seccomp`` into a classic BPF program (bytes) with
  libseccomp: ``seccomp_init``, ``seccomp_arch_add``, ``seccomp_rule_add_array``,
  ``seccomp_export_bpf`` to a memfd.  It runs before the mount namespace changes, while
  the host's libseccomp.so is still reachable.
* :func:`load` hands those bytes to seccomp(2) ``SECCOMP_SET_MODE_FILTER`` with the config's
  flags (plus ``NEW_LISTENER`` for ``SCMP_ACT_NOTIFY``) and returns the listener fd.  It
  needs nothing but libc, so it works after pivot_root, right before execve.

Exporting the program and loading it ourselves (as runc does) is what makes every flag of
config-linux.md possible: libseccomp 2.5.4 has no attribute for
``SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV``, the kernel (>= 5.19) has.  Nothing here is
imported unless the config has ``linux.seccomp``.
"""

import ctypes
import errno
import os

from pyrunc.runtime import log
from pyrunc.runtime.errors import PyruncError

#: libseccomp's seccomp.h (2.5.4).
_ACT = {"SCMP_ACT_KILL": 0x00000000, "SCMP_ACT_KILL_THREAD": 0x00000000, "SCMP_ACT_KILL_PROCESS": 0x80000000,
        "SCMP_ACT_TRAP": 0x00030000, "SCMP_ACT_NOTIFY": 0x7FC00000, "SCMP_ACT_ERRNO": 0x00050000,
        "SCMP_ACT_TRACE": 0x7FF00000, "SCMP_ACT_LOG": 0x7FFC0000, "SCMP_ACT_ALLOW": 0x7FFF0000}
_CMP = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4, "SCMP_CMP_GE": 5,
        "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}
_FLTATR_CTL_NNP = 3
_FLTATR_CTL_OPTIMIZE = 8
_FLTATR_API_SYSRAWRC = 9
_NR_SCMP_ERROR = -1

#: seccomp(2)
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_TSYNC = 1
SECCOMP_FILTER_FLAG_NEW_LISTENER = 8
SECCOMP_FILTER_FLAG_TSYNC_ESRCH = 16

#: the libseccomp names of the config's SCMP_ARCH_* constants (seccomp_arch_resolve_name).
ARCH_NAMES = {"SCMP_ARCH_X86": "x86", "SCMP_ARCH_X86_64": "x86_64", "SCMP_ARCH_X32": "x32",
              "SCMP_ARCH_ARM": "arm", "SCMP_ARCH_AARCH64": "aarch64", "SCMP_ARCH_MIPS": "mips",
              "SCMP_ARCH_MIPS64": "mips64", "SCMP_ARCH_MIPS64N32": "mips64n32", "SCMP_ARCH_MIPSEL": "mipsel",
              "SCMP_ARCH_MIPSEL64": "mipsel64", "SCMP_ARCH_MIPSEL64N32": "mipsel64n32", "SCMP_ARCH_PPC": "ppc",
              "SCMP_ARCH_PPC64": "ppc64", "SCMP_ARCH_PPC64LE": "ppc64le", "SCMP_ARCH_S390": "s390",
              "SCMP_ARCH_S390X": "s390x", "SCMP_ARCH_PARISC": "parisc", "SCMP_ARCH_PARISC64": "parisc64",
              "SCMP_ARCH_RISCV64": "riscv64", "SCMP_ARCH_LOONGARCH64": "loongarch64", "SCMP_ARCH_M68K": "m68k",
              "SCMP_ARCH_SH": "sh", "SCMP_ARCH_SHEB": "sheb"}

#: runc: above this many syscall rules, ask libseccomp for a binary tree of syscall numbers.
_OPTIMIZE_ABOVE = 32


class _ArgCmp(ctypes.Structure):
    """struct scmp_arg_cmp"""

    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


class _SockFprog(ctypes.Structure):
    """struct sock_fprog"""

    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


_lib: ctypes.CDLL | None = None


def library() -> ctypes.CDLL:
    """dlopen libseccomp.so.2 once, with the prototypes this module uses."""
    global _lib
    if _lib is not None:
        return _lib
    try:
        lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    except OSError as e:
        raise PyruncError(f"linux.seccomp: cannot load libseccomp.so.2 (install libseccomp2): {e}") from None
    vp, u32, i = ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int
    for name, res, args in (
        ("seccomp_init", vp, [u32]), ("seccomp_release", None, [vp]), ("seccomp_arch_add", i, [vp, u32]),
        ("seccomp_arch_native", u32, []), ("seccomp_arch_resolve_name", u32, [ctypes.c_char_p]),
        ("seccomp_attr_set", i, [vp, i, u32]), ("seccomp_syscall_resolve_name", i, [ctypes.c_char_p]),
        ("seccomp_syscall_resolve_num_arch", vp, [u32, i]),
        ("seccomp_syscall_resolve_name_arch", i, [u32, ctypes.c_char_p]),
        ("seccomp_rule_add_array", i, [vp, u32, i, ctypes.c_uint, ctypes.POINTER(_ArgCmp)]),
        ("seccomp_export_bpf", i, [vp, i]),
    ):
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
    _lib = lib
    return lib


def action_value(action: str, errno_ret: int | None) -> int:
    """The libseccomp action: ERRNO and TRACE carry an errno, EPERM when none is given."""
    v = _ACT[action]
    if action in ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"):
        v |= (errno.EPERM if errno_ret is None else errno_ret) & 0xFFFF
    return v


def _check(ret: int, what: str) -> None:
    if ret < 0:
        raise PyruncError(f"linux.seccomp: {what}: {os.strerror(-ret).lower()}")


def compile_filter(sc) -> bytes:
    """``sc`` (spec.seccomp.Seccomp) -> the BPF program, as the kernel takes it."""
    lib = library()
    default = action_value(sc.default_action, sc.default_errno_ret)
    ctx = lib.seccomp_init(default)
    if not ctx:
        raise PyruncError(f"linux.seccomp.defaultAction: libseccomp refused {sc.default_action}")
    try:
        # We set no_new_privs ourselves (process.noNewPrivileges); error codes come back raw.
        _check(lib.seccomp_attr_set(ctx, _FLTATR_CTL_NNP, 0), "set the no_new_privs attribute")
        _check(lib.seccomp_attr_set(ctx, _FLTATR_API_SYSRAWRC, 1), "set the raw return code attribute")
        if sum(len(r.names) for r in sc.rules) > _OPTIMIZE_ABOVE:
            lib.seccomp_attr_set(ctx, _FLTATR_CTL_OPTIMIZE, 2)  # older libseccomp: not fatal
        _add_architectures(lib, ctx, sc.architectures)
        for rule in sc.rules:
            _add_rule(lib, ctx, rule, default)
        program = _export(lib, ctx)
    finally:
        lib.seccomp_release(ctx)
    return enosys_prologue(lib, sc) + program


def enosys_prologue(lib: ctypes.CDLL, sc) -> bytes:
    """runc's -ENOSYS stub for syscalls newer than the profile (see seccomp_enosys)."""
    from pyrunc.runtime.linux import seccomp_enosys

    if not seccomp_enosys.wanted(sc):
        return b""
    largest = seccomp_enosys.largest_syscalls(
        sc, lambda arch: lib.seccomp_arch_resolve_name(ARCH_NAMES[arch].encode()),
        lambda token, name: lib.seccomp_syscall_resolve_name_arch(token, name.encode()))
    return seccomp_enosys.stub(largest)


def _add_architectures(lib: ctypes.CDLL, ctx: int, archs: list[str]) -> None:
    """The native architecture is always in a new filter (as runc); the others are added."""
    for i, name in enumerate(archs):
        token = lib.seccomp_arch_resolve_name(ARCH_NAMES[name].encode())
        if not token:
            raise PyruncError(f"linux.seccomp.architectures[{i}]: {name} is not supported by this libseccomp")
        ret = lib.seccomp_arch_add(ctx, token)
        if ret < 0 and ret != -errno.EEXIST:
            _check(ret, f"add architecture {name}")


def _add_rule(lib: ctypes.CDLL, ctx: int, rule, default: int) -> None:
    act = action_value(rule.action, rule.errno_ret)
    if act == default:
        return  # runc: a rule that does what the default does is skipped (libseccomp refuses it)
    groups = _condition_groups(rule.args)
    for i, name in enumerate(rule.names):
        nr = lib.seccomp_syscall_resolve_name(name.encode())
        if nr == _NR_SCMP_ERROR:
            # runc: a syscall this libseccomp/kernel does not know is skipped, so newer profiles
            # load; runc says so at debug level only (1.1.5 and 1.5), so do we.
            log.debug(f'{rule.path}.names[{i}]: unknown seccomp syscall "{name}" ignored')
            continue
        for conds in groups:
            arr = (_ArgCmp * len(conds))(*[_ArgCmp(a.index, _CMP[a.op], a.value, a.value_two) for a in conds])
            _check(lib.seccomp_rule_add_array(ctx, act, nr, len(conds), arr), f"{rule.path}: add rule for {name}")


def _condition_groups(args: list) -> list[list]:
    """All conditions in one rule (they must all match), unless two test the same
    argument: then, as runc, one rule per condition (libseccomp cannot AND those)."""
    indexes = [a.index for a in args]
    if len(set(indexes)) == len(indexes):
        return [list(args)]
    return [[a] for a in args]


def _export(lib: ctypes.CDLL, ctx: int) -> bytes:
    fd = os.memfd_create("pyrunc-seccomp", os.MFD_CLOEXEC)
    try:
        _check(lib.seccomp_export_bpf(ctx, fd), "export the BPF program")
        size = os.lseek(fd, 0, os.SEEK_CUR)
        program = os.pread(fd, size, 0)
    finally:
        os.close(fd)
    if not program or len(program) % 8:
        raise PyruncError("linux.seccomp: libseccomp exported an empty or truncated program")
    return program


def load(program: bytes, flags: int, listener: bool) -> int:
    """seccomp(2) SECCOMP_SET_MODE_FILTER: this thread (and with TSYNC every thread) runs
    under ``program`` from now on.  Returns the notify listener fd, or -1."""
    from pyrunc.runtime.linux import libc

    buf = ctypes.create_string_buffer(program, len(program))
    prog = _SockFprog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
    if listener:
        flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER
        if flags & SECCOMP_FILTER_FLAG_TSYNC:
            flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH  # the only way the kernel takes both
    # Tests read this line (``--debug``), as runc's do: the flags the kernel was given.
    log.debug(f"seccomp filter flags: {flags}")
    try:
        nr = libc.nr("seccomp")  # libc.ARCH, not uname now: a 32-bit personality may be set already
    except PyruncError as e:
        raise PyruncError(f"linux.seccomp: {e}") from None
    ret = libc.LIBC.syscall(ctypes.c_long(nr), ctypes.c_long(SECCOMP_SET_MODE_FILTER), ctypes.c_long(flags),
                            ctypes.byref(prog))
    if ret < 0:
        e = ctypes.get_errno()
        raise PyruncError(f"error loading seccomp filter into kernel: {os.strerror(e).lower()} "
                          f"(seccomp flags {flags:#x})")
    return int(ret) if listener else -1


def syscall_names(lo: int = 0, hi: int = 460) -> list[str]:
    """The native architecture's syscall names numbered lo..hi (for tests and the bench)."""
    from pyrunc.runtime.linux.libc import LIBC

    lib = library()
    free = LIBC.free
    free.argtypes = [ctypes.c_void_p]
    arch = lib.seccomp_arch_native()
    out = []
    for nr in range(lo, hi + 1):
        p = lib.seccomp_syscall_resolve_num_arch(arch, nr)
        if p:
            out.append(ctypes.string_at(p).decode())
            free(p)
    return out


def library_version() -> str:
    """libseccomp's own version (seccomp_version(3)), "major.minor.micro"; "" when the
    library cannot be loaded or has no such call."""
    class _Ver(ctypes.Structure):
        _fields_ = [("major", ctypes.c_uint), ("minor", ctypes.c_uint), ("micro", ctypes.c_uint)]

    try:
        fn = library().seccomp_version
        fn.restype = ctypes.POINTER(_Ver)
        fn.argtypes = []
        v = fn().contents
        return f"{v.major}.{v.minor}.{v.micro}"
    except (PyruncError, OSError, AttributeError, ValueError):
        return ""


def supported_architectures() -> list[str]:
    """The config's SCMP_ARCH_* names this libseccomp can build filters for."""
    lib = library()
    return sorted(k for k, v in ARCH_NAMES.items() if lib.seccomp_arch_resolve_name(v.encode()))


def process_state(sc, pid: int, state: dict) -> str:
    """config-linux.md "The Container Process State", as JSON: ``pid`` is the process the
    filter belongs to, ``state`` the container's (runtime.md "State", built by the caller
    with runtime/ocistate.py)."""
    from pyrunc.runtime import OCI_VERSION
    from pyrunc.runtime.jsonout import dumps

    out: dict = {"ociVersion": OCI_VERSION, "fds": ["seccompFd"], "pid": pid}
    if sc.listener_metadata:
        out["metadata"] = sc.listener_metadata
    out["state"] = state
    return dumps(out)


def hand_over_listener(listener_path: str, fd: int, process_state: str) -> None:
    """config-linux.md "The Container Process State": one connection to ``listenerPath``
    (AF_UNIX, SOCK_STREAM), the state as JSON with the listener fd as SCM_RIGHTS in the
    same sendmsg, then close.  A failure is an error of the operation (runtime.md)."""
    import _socket

    from pyrunc.runtime.linux.unixsock import send_fds

    s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
    try:
        s.settimeout(10)
        s.connect(listener_path)
        data = process_state.encode()
        sent = send_fds(s, data, [fd])
        if sent < len(data):
            s.sendall(data[sent:])  # the fd went with the first part only (config-linux.md)
    except OSError as e:
        raise PyruncError(f"send the seccomp listener to {listener_path}: "
                          f"{(e.strerror or str(e)).lower()}") from None
    finally:
        s.close()


__all__ = ["compile_filter", "load", "hand_over_listener", "process_state", "syscall_names", "supported_architectures",
           "action_value", "ARCH_NAMES"]
