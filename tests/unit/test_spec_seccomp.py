"""spec/seccomp.py: linux.seccomp (config-linux.md "Seccomp") translated into the Seccomp
the filter is compiled from, with runc's defaults and refusals; every error names its
JSON path.  Nothing here loads libseccomp."""

import pytest
from pyrunc.runtime.errors import ConfigError
from pyrunc.spec import seccomp
from pyrunc.spec.check import Obj

from unit import configs


def parse(profile: dict):
    return seccomp.parse(Obj(profile, "linux.seccomp"))


def test_engine_profile_translated():
    prof = configs.engines.seccomp_allowlist()
    sc = parse(prof)
    assert (sc.default_action, sc.default_errno_ret) == ("SCMP_ACT_ERRNO", 1)
    assert sc.architectures == prof["architectures"]
    allow, clone3 = sc.rules
    assert allow.path == "linux.seccomp.syscalls[0]" and allow.action == "SCMP_ACT_ALLOW"
    assert allow.names == prof["syscalls"][0]["names"] and allow.errno_ret is None and allow.args == []
    assert (clone3.names, clone3.action, clone3.errno_ret) == (["clone3"], "SCMP_ACT_ERRNO", 38)
    # No "flags" key: runc's SPEC_ALLOW, which Docker relies on.
    assert sc.flags == ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"] and sc.kernel_flags == 4
    assert not sc.notify and not hasattr(sc, "program")  # compiled by the process layer, never into the Plan


def test_nothing_asked_is_no_filter():
    assert parse({}) is None
    assert parse({"syscalls": []}) is None
    assert parse({"defaultAction": "SCMP_ACT_ALLOW"}).rules == []


def test_arguments_flags_and_a_listener():
    sc = parse({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_LOG",
                                                            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
                "listenerPath": "/run/agent.sock", "listenerMetadata": "meta",
                "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
                              "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                                       {"index": 1, "value": 255, "valueTwo": 3, "op": "SCMP_CMP_MASKED_EQ"}]},
                             {"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]})
    assert sc.flags == ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]  # once each
    assert sc.kernel_flags == 2 | 32 and sc.notify
    assert (sc.listener_path, sc.listener_metadata) == ("/run/agent.sock", "meta")
    a, b = sc.rules[0].args
    assert (a.index, a.value, a.value_two, a.op) == (0, 8, 0, "SCMP_CMP_EQ")
    assert (b.index, b.value, b.value_two, b.op) == (1, 255, 3, "SCMP_CMP_MASKED_EQ")
    assert parse({"defaultAction": "SCMP_ACT_KILL", "flags": []}).flags == []  # an empty list is no flag


def test_unknown_syscall_names_are_left_to_the_compiler():
    """A newer profile names syscalls this kernel does not know: skipped with a warning
    when the filter is compiled (runc), not refused here."""
    sc = parse({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["not_a_syscall_yet"],
                                                                 "action": "SCMP_ACT_ALLOW"}]})
    assert sc.rules[0].names == ["not_a_syscall_yet"]


NOTIFY = {"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}


@pytest.mark.parametrize("profile,message", [
    ({"syscalls": [NOTIFY]}, "linux.seccomp.defaultAction: is required"),
    ({"defaultAction": "SCMP_ACT_DENY"}, 'linux.seccomp.defaultAction: unknown seccomp action "SCMP_ACT_DENY"'),
    ({"defaultAction": "SCMP_ACT_NOTIFY"}, "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default "
                                           "action"),
    ({"defaultAction": "SCMP_ACT_KILL", "defaultErrnoRet": 1},
     "linux.seccomp.defaultErrnoRet: SCMP_ACT_KILL does not take an errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE "
     "do)"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 65536},
     "linux.seccomp.defaultErrnoRet: 65536 is out of range (maximum 65535)"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_PDP11"]},
     'linux.seccomp.architectures[1]: unknown seccomp architecture "SCMP_ARCH_PDP11"'),
    ({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_FAST"]},
     'linux.seccomp.flags[0]: unknown seccomp flag "SECCOMP_FILTER_FLAG_FAST"'),
    ({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]},
     "linux.seccomp.flags: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs an SCMP_ACT_NOTIFY rule"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "m"},
     "linux.seccomp.listenerMetadata: must not be set without listenerPath"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "agent.sock"},
     "linux.seccomp.listenerPath: 'agent.sock' must be an absolute path"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [NOTIFY]},
     "linux.seccomp.listenerPath: is required when a rule uses SCMP_ACT_NOTIFY"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/a", "syscalls": [{"names": ["read", "write"],
                                                                            "action": "SCMP_ACT_NOTIFY"}]},
     "linux.seccomp.syscalls[0].names[1]: SCMP_ACT_NOTIFY cannot be used for the write syscall"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/a", "syscalls": [{"names": ["sendmsg"],
                                                                            "action": "SCMP_ACT_NOTIFY"}]},
     "linux.seccomp.syscalls[0].names[0]: SCMP_ACT_NOTIFY cannot be used for sendmsg: the runtime hands the "
     "listener over with it"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"action": "SCMP_ACT_ALLOW"}]},
     "linux.seccomp.syscalls[0].names: must contain at least one syscall name"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read", ""], "action": "SCMP_ACT_ALLOW"}]},
     "linux.seccomp.syscalls[0].names[1]: empty string is not a valid syscall name"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"]}]},
     "linux.seccomp.syscalls[0].action: is required"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_LOG",
                                                       "errnoRet": 5}]},
     "linux.seccomp.syscalls[0].errnoRet: SCMP_ACT_LOG does not take an errno (only SCMP_ACT_ERRNO and "
     "SCMP_ACT_TRACE do)"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                                                       "args": [{"index": 6, "value": 0, "op": "SCMP_CMP_EQ"}]}]},
     "linux.seccomp.syscalls[0].args[0].index: 6 is out of range (maximum 5)"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                                                       "args": [{"index": 0, "value": -1, "op": "SCMP_CMP_EQ"}]}]},
     "linux.seccomp.syscalls[0].args[0].value: -1 is out of range (minimum 0)"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                                                       "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_IN"}]}]},
     'linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator "SCMP_CMP_IN"'),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                                                       "args": [{"index": 0, "value": 1}]}]},
     "linux.seccomp.syscalls[0].args[0].op: is required"),
])
def test_refused(profile, message):
    with pytest.raises(ConfigError) as e:
        parse(profile)
    assert str(e.value) == message


def test_through_the_load(build):
    cfg = configs.runc_template()
    cfg["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"],
                                                                                "action": "SCMP_ACT_BOOM"}]}
    with pytest.raises(ConfigError, match=r'^linux.seccomp.syscalls\[0\].action: unknown seccomp action '
                                          r'"SCMP_ACT_BOOM"$'):
        build(cfg)
