"""The cgroup v2 device controller: an eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE
built from device rules (the fs2 cgroup driver, linux/cgroups/v2.py, adds runc's default allow list), loaded through the
bpf(2) syscall and attached to the container's cgroup (BPF_CGROUP_DEVICE).

The program reads ``struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }``
(access_type = access << 16 | type) and tries the rules from the last to the first (in
v1's device lists a later rule overrides an earlier one): the first that matches returns
1 (allow) or 0 (deny); none matching denies.
"""

import ctypes
import os
import struct

from pyrunc.runtime.errors import PyruncError

BPF_PROG_LOAD = 5
BPF_PROG_ATTACH = 8
BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6
BPF_F_ALLOW_MULTI = 2
SYS_BPF = 321 if os.uname().machine == "x86_64" else 280

DEV_BLOCK, DEV_CHAR = 1, 2
ACC_MKNOD, ACC_READ, ACC_WRITE = 1, 2, 4

# eBPF opcodes used here
_LDXW = 0x61  # r_dst = *(u32 *)(r_src + off)
_AND_K = 0x57
_RSH_K = 0x77
_MOV_K = 0xB7
_MOV_X = 0xBF
_JNE_K = 0x55
_JEQ_K = 0x15
_EXIT = 0x95


def _insn(op: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", op, (src << 4) | dst, off, imm)


def _rule_fields(rule: dict) -> tuple[int, int, int, int, bool]:
    typ = {"a": 0, "b": DEV_BLOCK, "c": DEV_CHAR}[rule.get("type") or "a"]
    major = rule.get("major")
    minor = rule.get("minor")
    acc = 0
    for ch in rule.get("access") or "rwm":
        acc |= {"m": ACC_MKNOD, "r": ACC_READ, "w": ACC_WRITE}[ch]
    return typ, -1 if major is None else major, -1 if minor is None else minor, acc, bool(rule.get("allow"))


def build(rules: list[dict]) -> bytes:
    """The program's instructions for ``rules`` (already including the defaults)."""
    prog = [
        _insn(_LDXW, 2, 1, 0),          # r2 = access_type
        _insn(_AND_K, 2, imm=0xFFFF),   # r2 = type
        _insn(_LDXW, 3, 1, 0),
        _insn(_RSH_K, 3, imm=16),       # r3 = access
        _insn(_LDXW, 4, 1, 4),          # r4 = major
        _insn(_LDXW, 5, 1, 8),          # r5 = minor
    ]
    for rule in reversed(rules):
        typ, major, minor, acc, allow = _rule_fields(rule)
        block: list[bytes] = []
        if typ:
            block.append(("jne", 2, typ))
        block.append(("mov", 6, 3))
        if allow:
            # an allow rule covers a request within its access: (access & ~acc) == 0
            block.append(("and", 6, ~acc & 0xFFFFFFFF if acc != 7 else 0))
            block.append(("jne", 6, 0))
        else:
            # a deny rule refuses a request that asks for any of its access (v1's rule)
            block.append(("and", 6, acc))
            block.append(("jeq", 6, 0))
        if major >= 0:
            block.append(("jne", 4, major))
        if minor >= 0:
            block.append(("jne", 5, minor))
        block.append(("ret", 0, 1 if allow else 0))
        # Each jump skips to the end of this block (the next rule).
        size = sum(2 if b[0] == "ret" else 1 for b in block)
        pos = 0
        for kind, reg, val in block:
            if kind in ("jne", "jeq"):
                pos += 1
                prog.append(_insn(_JNE_K if kind == "jne" else _JEQ_K, reg, off=size - pos, imm=val))
            elif kind == "mov":
                pos += 1
                prog.append(_insn(_MOV_X, reg, src=3))
            elif kind == "and":
                pos += 1
                imm = val if val < 2**31 else val - 2**32
                prog.append(_insn(_AND_K, reg, imm=imm))
            else:
                pos += 2
                prog.append(_insn(_MOV_K, 0, imm=val))
                prog.append(_insn(_EXIT))
    prog += [_insn(_MOV_K, 0, imm=0), _insn(_EXIT)]
    return b"".join(prog)


class _LoadAttr(ctypes.Structure):
    _fields_ = [("prog_type", ctypes.c_uint32), ("insn_cnt", ctypes.c_uint32), ("insns", ctypes.c_uint64),
                ("license", ctypes.c_uint64), ("log_level", ctypes.c_uint32), ("log_size", ctypes.c_uint32),
                ("log_buf", ctypes.c_uint64), ("kern_version", ctypes.c_uint32), ("prog_flags", ctypes.c_uint32),
                ("pad", ctypes.c_char * 64)]


class _AttachAttr(ctypes.Structure):
    _fields_ = [("target_fd", ctypes.c_uint32), ("attach_bpf_fd", ctypes.c_uint32),
                ("attach_type", ctypes.c_uint32), ("attach_flags", ctypes.c_uint32), ("pad", ctypes.c_char * 32)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def load(insns: bytes) -> int:
    """BPF_PROG_LOAD: the kernel's verifier checks the program; returns its fd."""
    buf = ctypes.create_string_buffer(insns)
    lic = ctypes.create_string_buffer(b"Apache-2.0")
    log = ctypes.create_string_buffer(65536)
    attr = _LoadAttr(BPF_PROG_TYPE_CGROUP_DEVICE, len(insns) // 8, ctypes.addressof(buf), ctypes.addressof(lic),
                     1, len(log), ctypes.addressof(log), 0, 0)
    fd = _libc.syscall(SYS_BPF, BPF_PROG_LOAD, ctypes.byref(attr), ctypes.sizeof(attr))
    if fd < 0:
        err = ctypes.get_errno()
        detail = log.value.decode(errors="replace").strip().splitlines()
        raise PyruncError(f"linux.resources.devices: load the device eBPF program: {os.strerror(err).lower()}"
                          + (f": {detail[-1]}" if detail else ""))
    return int(fd)


def attach(cgroup_dir: str, prog_fd: int) -> None:
    """BPF_PROG_ATTACH to the container's v2 cgroup (pure v2 hosts only)."""
    dfd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        attr = _AttachAttr(dfd, prog_fd, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI)
        if _libc.syscall(SYS_BPF, BPF_PROG_ATTACH, ctypes.byref(attr), ctypes.sizeof(attr)) < 0:
            err = ctypes.get_errno()
            raise PyruncError(f"linux.resources.devices: attach the device eBPF program to {cgroup_dir}: "
                              f"{os.strerror(err).lower()}")
    finally:
        os.close(dfd)

