"""``linux.seccomp`` -> a checked :class:`Seccomp` (config-linux.md "Seccomp", runtime-spec 1.3.0).
Layer: spec (between process and linux: may import linux's pure helpers and the base).

Pure Python: nothing here loads libseccomp (this runs on every ``create``).  The names of
actions, operators, architectures and flags are checked here; syscall names are not (a
newer profile names syscalls this kernel or libseccomp does not know: they are skipped
with a warning when the filter is compiled, as runc does).
"""

from pyrunc.runtime.errors import ConfigError
from pyrunc.spec.check import Obj, integer, join, string

#: config-linux.md "Seccomp", syscalls[].action.
ACTIONS = ("SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",
           "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY")

#: config-linux.md "Seccomp", syscalls[].args[].op.
OPERATORS = ("SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
             "SCMP_CMP_MASKED_EQ")

#: config-linux.md "Seccomp", architectures (as of libseccomp 2.6.0).  Whether the
#: installed libseccomp knows one is decided when the filter is compiled.
ARCHITECTURES = ("SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
                 "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",
                 "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64",
                 "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC",
                 "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K",
                 "SCMP_ARCH_SH", "SCMP_ARCH_SHEB")

#: seccomp(2) filter flags: the spec's four and TSYNC, which runc also accepts.
FLAGS = {"SECCOMP_FILTER_FLAG_TSYNC": 1, "SECCOMP_FILTER_FLAG_LOG": 2, "SECCOMP_FILTER_FLAG_SPEC_ALLOW": 4,
         "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV": 32}

#: Actions that carry an errno (config-linux.md: errnoRet with any other action is an error).
ERRNO_ACTIONS = ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE")

NOTIFY = "SCMP_ACT_NOTIFY"

#: The one call the runtime makes between loading a filter with a listener and handing
#: that listener to the runtime: a notify rule on it could never be answered.
HANDOFF_SYSCALLS = ("sendmsg",)

_U64 = 2**64 - 1
_U16 = 2**16 - 1


class SeccompArg:
    __slots__ = ("index", "value", "value_two", "op")

    def __init__(self, index: int, value: int, value_two: int, op: str) -> None:
        self.index = index
        self.value = value
        self.value_two = value_two
        self.op = op


class SeccompRule:
    """One ``syscalls[i]`` entry: ``path`` is its JSON path, for errors and warnings."""

    __slots__ = ("path", "names", "action", "errno_ret", "args")

    def __init__(self, path: str, names: list[str], action: str, errno_ret: int | None,
                 args: list[SeccompArg]) -> None:
        self.path = path
        self.names = names
        self.action = action
        self.errno_ret = errno_ret
        self.args = args


class Seccomp:
    """A checked ``linux.seccomp``: data only (the runtime keeps the compiled program
    beside the Plan: runtime/process/preexec.CompiledSeccomp)."""

    __slots__ = ("default_action", "default_errno_ret", "architectures", "flags", "listener_path",
                 "listener_metadata", "rules")

    def __init__(self) -> None:
        self.default_action = ""
        self.default_errno_ret: int | None = None
        self.architectures: list[str] = []
        self.flags: list[str] = []
        self.listener_path = ""
        self.listener_metadata = ""
        self.rules: list[SeccompRule] = []

    @property
    def notify(self) -> bool:
        """Whether some rule notifies a listener (the filter is loaded with NEW_LISTENER)."""
        return any(r.action == NOTIFY for r in self.rules)

    @property
    def kernel_flags(self) -> int:
        n = 0
        for f in self.flags:
            n |= FLAGS[f]
        return n


def parse(so: Obj) -> Seccomp | None:
    """``linux.seccomp`` -> Seccomp; None when it asks for nothing (runc: no default
    action and no rules means no filter)."""
    if not so.has("defaultAction") and not so.data.get("syscalls"):
        return None
    sc = Seccomp()
    sc.default_action = _action(string(so.require("defaultAction"), so.at("defaultAction")), so.at("defaultAction"))
    sc.default_errno_ret = _errno_ret(so, "defaultErrnoRet", sc.default_action)
    if sc.default_action == NOTIFY:
        # runc: the runtime's own calls after the load would wait on a listener it has not sent yet.
        raise ConfigError(so.at("defaultAction"), "SCMP_ACT_NOTIFY cannot be the default action")
    for i, arch in enumerate(so.strings("architectures")):
        if arch not in ARCHITECTURES:
            raise ConfigError(join(so.at("architectures"), i), f'unknown seccomp architecture "{arch}"')
        sc.architectures.append(arch)
    sc.flags = _flags(so)
    sc.listener_path = so.str("listenerPath")
    sc.listener_metadata = so.str("listenerMetadata")
    if sc.listener_metadata and not sc.listener_path:
        # config-linux.md: "This field MUST NOT be set if listenerPath is not set."
        raise ConfigError(so.at("listenerMetadata"), "must not be set without listenerPath")
    if sc.listener_path and not sc.listener_path.startswith("/"):
        raise ConfigError(so.at("listenerPath"), f"{sc.listener_path!r} must be an absolute path")
    sc.rules = [_rule(r) for r in so.objs("syscalls")]
    _check_notify(so, sc)
    return sc


def _action(name: str, path: str) -> str:
    if name not in ACTIONS:
        raise ConfigError(path, f'unknown seccomp action "{name}"')
    return name


def _errno_ret(o: Obj, key: str, action: str) -> int | None:
    """config-linux.md: an errno for an action that takes none is an error."""
    v = o.int(key, None, 0, _U16)
    if v is not None and action not in ERRNO_ACTIONS:
        raise ConfigError(o.at(key), f"{action} does not take an errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)")
    return v


def _flags(so: Obj) -> list[str]:
    if "flags" not in so.data or so.data["flags"] is None:
        # runc: no flags at all (not even []) means SPEC_ALLOW, as Docker expects.
        return ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"]
    out = []
    for i, f in enumerate(so.strings("flags")):
        if f not in FLAGS:
            raise ConfigError(join(so.at("flags"), i), f'unknown seccomp flag "{f}"')
        if f not in out:
            out.append(f)
    return out


def _rule(r: Obj) -> SeccompRule:
    names = r.strings("names")
    if not names:
        raise ConfigError(r.at("names"), "must contain at least one syscall name")
    for i, n in enumerate(names):
        if not n:
            raise ConfigError(join(r.at("names"), i), "empty string is not a valid syscall name")
    action = _action(string(r.require("action"), r.at("action")), r.at("action"))
    errno_ret = _errno_ret(r, "errnoRet", action)
    args = []
    for a in r.objs("args"):
        index = integer(a.require("index"), a.at("index"), 0, 5)  # syscalls take at most 6 arguments
        value = integer(a.require("value"), a.at("value"), 0, _U64)
        value_two = a.int("valueTwo", 0, 0, _U64) or 0
        op = string(a.require("op"), a.at("op"))
        if op not in OPERATORS:
            raise ConfigError(a.at("op"), f'unknown seccomp operator "{op}"')
        args.append(SeccompArg(index, value, value_two, op))
    return SeccompRule(r.path, names, action, errno_ret, args)


def _check_notify(so: Obj, sc: Seccomp) -> None:
    if FLAGS["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"] & sc.kernel_flags and not sc.notify:
        # seccomp(2): the flag only applies to a filter with a listener (EINVAL otherwise).
        raise ConfigError(so.at("flags"), "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs an SCMP_ACT_NOTIFY rule")
    if not sc.notify:
        return  # config-linux.md: without SCMP_ACT_NOTIFY, listenerPath is ignored
    if not sc.listener_path:
        # config-linux.md: the listener goes to listenerPath; without it nobody could answer.
        raise ConfigError(so.at("listenerPath"), "is required when a rule uses SCMP_ACT_NOTIFY")
    for r in sc.rules:
        if r.action != NOTIFY:
            continue
        for i, n in enumerate(r.names):
            if n == "write":
                # runc's refusal: the runtime's own writes after the load (its error
                # report, the sync) would wait on the listener and never be answered.
                raise ConfigError(join(join(r.path, "names"), i),
                                  "SCMP_ACT_NOTIFY cannot be used for the write syscall")
            if n in HANDOFF_SYSCALLS:
                raise ConfigError(join(join(r.path, "names"), i),
                                  f"SCMP_ACT_NOTIFY cannot be used for {n}: the runtime hands the listener "
                                  "over with it")


__all__ = ["Seccomp", "SeccompRule", "SeccompArg", "parse", "ACTIONS", "OPERATORS", "ARCHITECTURES", "FLAGS"]
