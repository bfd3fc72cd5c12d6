"""-ENOSYS for syscalls newer than the profile: a short BPF prologue in front of the
program libseccomp exports.
Layer: linux (the bottom: imports only linux and the base).

Why: a profile is written against the syscalls of its day.  A program that tries a newer
syscall (clone3, openat2, faccessat2, ...) and gets the profile's default action, say
EPERM, gives up; told ENOSYS, it falls back to the older call, as it would on an older
kernel.  runc (>= 1.0.2) prepends such a stub; these are its semantics, in our own code:

* for each architecture the profile lists (none listed: no stub), the largest syscall
  number any of its rules names on that architecture (whatever the rule's action);
* a syscall above it gets ERRNO(ENOSYS) before the filter runs; anything else goes to
  the filter unchanged (a syscall below it that the profile does not name still gets
  the default action);
* x86_64 and x32 share one AUDIT_ARCH: the x32 bit of the syscall number tells them
  apart, each with its own largest number; on s390/s390x syscall 0 (the multiplexer
  unknown syscalls end up as) gets ENOSYS too;
* no stub when it could change nothing or would be wrong: a permissive default action
  (ALLOW, LOG, TRACE: a tracer handles new syscalls itself), or a default that already
  answers ENOSYS.

Every jump of the stub lands inside it or on the first instruction after it (the
filter), so all offsets are short (< 256).
"""

import errno
import struct

#: classic BPF opcodes (linux/bpf_common.h)
_LD_W_ABS = 0x20
_JMP_JA = 0x05
_JMP_JEQ_K = 0x15
_JMP_JGT_K = 0x25
_JMP_JSET_K = 0x45
_RET_K = 0x06

#: struct seccomp_data: nr at 0, arch at 4
_OFF_NR = 0
_OFF_ARCH = 4

_RET_ERRNO = 0x00050000
RET_ENOSYS = _RET_ERRNO | errno.ENOSYS

AUDIT_ARCH_X86_64 = 0xC000003E
_AUDIT_ARCH_S390 = 0x00000016
_AUDIT_ARCH_S390X = 0x80000016
X32_SYSCALL_BIT = 0x40000000

_PERMISSIVE = ("SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_TRACE")


def wanted(sc) -> bool:
    """Whether ``sc`` (spec.seccomp.Seccomp) gets the stub at all."""
    if sc.default_action in _PERMISSIVE:
        return False
    if sc.default_action == "SCMP_ACT_ERRNO" and sc.default_errno_ret == errno.ENOSYS:
        return False
    return bool(sc.architectures)


def largest_syscalls(sc, arch_token, resolve) -> dict[int, dict[str, int]]:
    """AUDIT_ARCH -> {"x32" | "native": largest syscall number the rules name}.
    ``arch_token(name)`` is libseccomp's token of an SCMP_ARCH_* name; ``resolve(token,
    syscall)`` its number there (negative: unknown, skipped)."""
    names = {n for r in sc.rules for n in r.names}
    out: dict[int, dict[str, int]] = {}
    for arch in sc.architectures:
        token = arch_token(arch)
        x32 = arch == "SCMP_ARCH_X32"
        native = AUDIT_ARCH_X86_64 if x32 else token
        mode = "x32" if x32 else "native"
        if mode in out.get(native, {}):
            continue
        top = max((nr for nr in (resolve(token, n) for n in names) if nr >= 0), default=0)
        if top > 0:
            out.setdefault(native, {})[mode] = top
    return out


def stub(largest: dict[int, dict[str, int]]) -> bytes:
    """The prologue for ``largest`` (see largest_syscalls), as packed sock_filter structs;
    b"" when there is nothing to check."""
    if not largest:
        return b""
    # (code, jt, jf, k) with jt/jf/k either numbers or labels, resolved below.
    prog: list[tuple] = [(_LD_W_ABS, 0, 0, _OFF_ARCH)]
    archs = sorted(largest)
    for a in archs:
        prog.append((_JMP_JEQ_K, f"arch{a}", 0, a))
    prog.append((_JMP_JA, 0, 0, "filter"))
    for a in archs:
        modes = largest[a]
        prog.append(("label", f"arch{a}"))
        prog.append((_LD_W_ABS, 0, 0, _OFF_NR))
        if a in (_AUDIT_ARCH_S390, _AUDIT_ARCH_S390X):
            prog.append((_JMP_JEQ_K, "enosys", 0, 0))
        if a == AUDIT_ARCH_X86_64:
            # The x32 bit picks the mode; a mode the profile does not list goes to the filter.
            prog.append((_JMP_JSET_K, f"x32_{a}" if "x32" in modes else "filter",
                         f"x86_{a}" if "native" in modes else "filter", X32_SYSCALL_BIT))
            for mode, label in (("native", f"x86_{a}"), ("x32", f"x32_{a}")):
                if mode in modes:
                    prog.append(("label", label))
                    prog.append((_JMP_JGT_K, "enosys", "filter", modes[mode]))
        else:
            prog.append((_JMP_JGT_K, "enosys", "filter", modes["native"]))
    prog.append(("label", "enosys"))
    prog.append((_RET_K, 0, 0, RET_ENOSYS))
    prog.append(("label", "filter"))
    return _assemble(prog)


def _assemble(prog: list[tuple]) -> bytes:
    where: dict[str, int] = {}
    n = 0
    for ins in prog:
        if ins[0] == "label":
            where[ins[1]] = n
        else:
            n += 1
    out = []
    i = 0
    for ins in prog:
        if ins[0] == "label":
            continue
        code, jt, jf, k = ins

        def off(x, i=i) -> int:
            if isinstance(x, str):
                d = where[x] - (i + 1)
                if not 0 <= d < 256:
                    raise ValueError(f"seccomp ENOSYS stub: jump to {x} out of range")
                return d
            return x

        if code == _JMP_JA:
            out.append(struct.pack("=HBBI", code, 0, 0, off(k)))
        else:
            out.append(struct.pack("=HBBI", code, off(jt), off(jf), k))
        i += 1
    return b"".join(out)
