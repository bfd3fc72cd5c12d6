"""process.scheduler, process.ioPriority, linux.personality and the LSM labels (config.md
"process", config-linux.md "Personality"), seen from inside real containers."""

import json
import os

import pytest


def stat_fields(text: str) -> list[str]:
    """/proc/PID/stat as fields numbered from 1 (the comm may hold spaces: split after it)."""
    head, _, rest = text.rpartition(")")
    return ["", head.split(" (")[0], "comm"] + rest.split()


def run_out(pyrunc, b, cid: str) -> str:
    p = pyrunc("run", "-b", b.path, cid)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_personality_linux32(pyrunc, make_bundle):
    b = make_bundle(["uname", "-m"])
    b.config["linux"]["personality"] = {"domain": "LINUX32"}
    b.write()
    assert run_out(pyrunc, b, "p32").strip() == "i686"


def test_personality_linux_and_ignored_flags(pyrunc, make_bundle):
    b = make_bundle(["uname", "-m"])
    b.config["linux"]["personality"] = {"domain": "LINUX", "flags": ["ADDR_NO_RANDOMIZE"]}
    b.write()
    p = pyrunc("run", "-b", b.path, "p64")
    assert p.returncode == 0 and p.stdout.strip() == "x86_64"
    assert "linux.personality.flags: ignored" in p.stderr


def test_personality_applies_to_exec(pyrunc, make_bundle):
    b = make_bundle(["sleep", "1000"])
    b.config["linux"]["personality"] = {"domain": "LINUX32"}
    b.write()
    pyrunc("run", "-d", "-b", b.path, "pex", check=True)
    try:
        assert pyrunc("exec", "pex", "uname", "-m", check=True).stdout.strip() == "i686"
    finally:
        pyrunc("delete", "--force", "pex")


@pytest.mark.parametrize("policy,number,nice", [("SCHED_BATCH", 3, 7), ("SCHED_IDLE", 5, 0), ("SCHED_OTHER", 0, -5)])
def test_scheduler_policy_and_nice(pyrunc, make_bundle, policy, number, nice):
    """/proc/self/stat field 41 is the policy, 19 the nice value."""
    b = make_bundle(["cat", "/proc/self/stat"])
    b.config["process"]["scheduler"] = {"policy": policy, "nice": nice}
    b.write()
    f = stat_fields(run_out(pyrunc, b, "sched"))
    assert f[41] == str(number) and f[19] == str(nice)


def test_scheduler_applies_to_exec(pyrunc, make_bundle):
    b = make_bundle(["sleep", "1000"])
    b.config["process"]["scheduler"] = {"policy": "SCHED_BATCH", "nice": 3}
    b.write()
    pyrunc("run", "-d", "-b", b.path, "sex", check=True)
    try:
        f = stat_fields(pyrunc("exec", "sex", "cat", "/proc/self/stat", check=True).stdout)
        assert f[41] == "3" and f[19] == "3"
    finally:
        pyrunc("delete", "--force", "sex")


def test_fifo_without_realtime_budget_fails_clearly(pyrunc, make_bundle):
    """With the v1 cpu controller's RT group scheduling the container's cgroup has no RT
    budget (cpu.rt_runtime_us 0): sched_setattr is refused, and create says so."""
    if not os.path.exists("/sys/fs/cgroup/cpu/cpu.rt_runtime_us"):
        pytest.skip("no RT group scheduling on this host")
    b = make_bundle(["true"])
    b.config["process"]["scheduler"] = {"policy": "SCHED_FIFO", "priority": 10}
    b.write()
    p = pyrunc("run", "-b", b.path, "fifo")
    assert p.returncode == 1
    assert "process.scheduler: sched_setattr SCHED_FIFO: operation not permitted" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("cls,prio,shown", [("IOPRIO_CLASS_BE", 5, "best-effort: prio 5"),
                                            ("IOPRIO_CLASS_IDLE", 0, "idle"),
                                            ("IOPRIO_CLASS_RT", 2, "realtime: prio 2")])
def test_io_priority(pyrunc, make_bundle, cls, prio, shown):
    """busybox ionice -p PID prints ioprio_get(2)'s class and level."""
    b = make_bundle(["sh", "-c", "ionice -p $$"])
    b.config["process"]["ioPriority"] = {"class": cls, "priority": prio}
    b.write()
    assert run_out(pyrunc, b, "io").strip() == shown


def test_io_priority_applies_to_exec(pyrunc, make_bundle):
    b = make_bundle(["sleep", "1000"])
    b.config["process"]["ioPriority"] = {"class": "IOPRIO_CLASS_BE", "priority": 6}
    b.write()
    pyrunc("run", "-d", "-b", b.path, "iox", check=True)
    try:
        assert pyrunc("exec", "iox", "sh", "-c", "ionice -p $$", check=True).stdout.strip() == "best-effort: prio 6"
    finally:
        pyrunc("delete", "--force", "iox")


BAD = [
    ({"process": {"scheduler": {"policy": "SCHED_ISO"}}},
     "process.scheduler.policy: SCHED_ISO is not implemented by Linux"),
    ({"process": {"scheduler": {"policy": "SCHED_FOO"}}},
     "process.scheduler.policy: unknown scheduler policy 'SCHED_FOO'"),
    ({"process": {"scheduler": {"policy": "SCHED_FIFO"}}},
     "process.scheduler.priority: SCHED_FIFO needs a priority in 1..99"),
    ({"process": {"scheduler": {"policy": "SCHED_BATCH", "priority": 3}}},
     "process.scheduler.priority: can only be set for SCHED_FIFO or SCHED_RR"),
    ({"process": {"scheduler": {"policy": "SCHED_OTHER", "nice": 40}}}, "process.scheduler.nice: 40 is out of range"),
    ({"process": {"scheduler": {"policy": "SCHED_BATCH", "runtime": 5}}},
     "process.scheduler: runtime, deadline and period can only be set for SCHED_DEADLINE"),
    ({"process": {"scheduler": {"policy": "SCHED_OTHER", "flags": ["SCHED_FLAG_NOPE"]}}},
     "process.scheduler.flags[0]: unknown scheduler flag 'SCHED_FLAG_NOPE'"),
    ({"process": {"ioPriority": {"class": "IOPRIO_CLASS_WOW", "priority": 1}}},
     "process.ioPriority.class: unknown I/O priority class 'IOPRIO_CLASS_WOW'"),
    ({"process": {"ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 8}}},
     "process.ioPriority.priority: 8 is out of range (maximum 7)"),
    ({"linux": {"personality": {"domain": "LINUX16"}}},
     "linux.personality.domain: unknown personality domain 'LINUX16'"),
    ({"process": {"apparmorProfile": "docker-default"}},
     "process.apparmorProfile: AppArmor is not enabled on this host"),
    ({"process": {"selinuxLabel": "system_u:system_r:container_t:s0"}},
     "process.selinuxLabel: SELinux is not enabled on this host"),
]


@pytest.mark.parametrize("change,message", BAD, ids=[m.split(":")[0] + str(i) for i, (_, m) in enumerate(BAD)])
def test_bad_attributes(pyrunc, make_bundle, change, message):
    if "AppArmor" in message and os.path.isdir("/sys/kernel/security/apparmor"):
        pytest.skip("this host has AppArmor")
    if "SELinux" in message and os.path.isdir("/sys/fs/selinux"):
        pytest.skip("this host has SELinux")
    b = make_bundle(["true"])
    for key, sub in change.items():
        b.config[key].update(sub)
    b.write()
    p = pyrunc("create", "-b", b.path, "bad")
    assert p.returncode == 1
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and message.replace('"', '\\"') in lines[0], p.stderr


@pytest.mark.parametrize("flag,message", [("--apparmor", "--apparmor: AppArmor is not enabled on this host"),
                                          ("--process-label", "--process-label: SELinux is not enabled on this host")])
def test_exec_lsm_flags_are_refused_here(pyrunc, make_bundle, flag, message):
    if os.path.isdir("/sys/kernel/security/apparmor") or os.path.isdir("/sys/fs/selinux"):
        pytest.skip("this host has an LSM")
    b = make_bundle(["sleep", "1000"])
    pyrunc("run", "-d", "-b", b.path, "lsm", check=True)
    try:
        p = pyrunc("exec", flag, "some-label", "lsm", "true")
        assert p.returncode == 255 and message in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    finally:
        pyrunc("delete", "--force", "lsm")


def test_exec_process_json_lsm_field_refused_here(pyrunc, make_bundle, tmp_path):
    if os.path.isdir("/sys/kernel/security/apparmor"):
        pytest.skip("this host has AppArmor")
    b = make_bundle(["sleep", "1000"])
    pyrunc("run", "-d", "-b", b.path, "lsmp", check=True)
    try:
        f = tmp_path / "p.json"
        f.write_text(json.dumps({"args": ["true"], "cwd": "/", "apparmorProfile": "x"}))
        p = pyrunc("exec", "-p", str(f), "lsmp")
        assert p.returncode == 255 and "process.apparmorProfile: AppArmor is not enabled" in p.stderr, p.stderr
    finally:
        pyrunc("delete", "--force", "lsmp")
