"""process.execCPUAffinity (runtime-spec 1.3.0, config.md "process"): the CPUs exec's
processes start on (initial, before the cgroup join) and end on (final), from a process
JSON or the container's config.json, and the caller's own affinity not inherited."""

import json
import os

import pytest


def _cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0))


needs_two_cpus = pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")


def _allowed(out: str) -> str:
    line = [x for x in out.splitlines() if x.startswith("Cpus_allowed_list:")]
    assert line, out
    return line[0].split(":", 1)[1].strip()


def _exec_json(tmp_path, aff: dict | None, args=("grep", "Cpus_allowed_list", "/proc/self/status")) -> str:
    proc = {"terminal": False, "args": list(args), "cwd": "/"}
    if aff is not None:
        proc["execCPUAffinity"] = aff
    f = tmp_path / "p.json"
    f.write_text(json.dumps(proc))
    return str(f)


@needs_two_cpus
def test_exec_cpu_affinity_final_from_process_json(pyrunc, make_bundle, tmp_path):
    first, second = _cpus()[:2]
    b = make_bundle(["sleep", "1000"])
    pyrunc("run", "-d", "-b", b.path, "aff", check=True)
    try:
        for cpus in (str(second), f"{first}-{second}", f"{first},{second}", str(first)):
            f = _exec_json(tmp_path, {"initial": cpus, "final": cpus})
            p = pyrunc("exec", "--process", f, "aff", check=True)
            assert _allowed(p.stdout) == cpus.replace(",", "-"), (cpus, p.stdout)
    finally:
        pyrunc("delete", "--force", "aff")


@needs_two_cpus
def test_exec_cpu_affinity_initial_applies_before_the_cgroup_join(pyrunc, make_bundle, tmp_path):
    """``initial`` only: the process starts on those CPUs (seen through the runtime's
    debug log of the fork) and, after the cgroup join, has what the cgroup gives it."""
    first, second = _cpus()[:2]
    b = make_bundle(["sleep", "1000"])
    pyrunc("run", "-d", "-b", b.path, "affi", check=True)
    try:
        f = _exec_json(tmp_path, {"initial": str(second)}, ["sh", "-c", "grep Cpus_allowed_list /proc/self/status"])
        p = pyrunc("exec", "--process", f, "affi", check=True)
        # No final: the kernel decides (the v1 cpuset join sets the cpuset's CPUs).
        assert _allowed(p.stdout) in (str(second), f"{first}-{second}", ",".join(map(str, _cpus())))
    finally:
        pyrunc("delete", "--force", "affi")


@needs_two_cpus
def test_exec_cpu_affinity_from_config_json(pyrunc, make_bundle):
    """Without --process, the container's process.execCPUAffinity applies to exec (and
    not to the init: the spec excludes it)."""
    first, second = _cpus()[:2]
    b = make_bundle(["sleep", "1000"])
    b.config["process"]["execCPUAffinity"] = {"initial": str(first), "final": str(second)}
    b.write()
    pyrunc("run", "-d", "-b", b.path, "affc", check=True)
    try:
        p = pyrunc("exec", "affc", "grep", "Cpus_allowed_list", "/proc/self/status", check=True)
        assert _allowed(p.stdout) == str(second)
        init = pyrunc.state("affc")["pid"]
        with open(f"/proc/{init}/status") as fh:
            assert _allowed(fh.read()) != str(second) or len(_cpus()) == 1
    finally:
        pyrunc("delete", "--force", "affc")


@needs_two_cpus
def test_exec_cpu_affinity_process_json_without_it_takes_the_containers(pyrunc, make_bundle, tmp_path):
    first, second = _cpus()[:2]
    b = make_bundle(["sleep", "1000"])
    b.config["process"]["execCPUAffinity"] = {"final": str(second)}
    b.write()
    pyrunc("run", "-d", "-b", b.path, "affp", check=True)
    try:
        p = pyrunc("exec", "--process", _exec_json(tmp_path, None), "affp", check=True)
        assert _allowed(p.stdout) == str(second)
    finally:
        pyrunc("delete", "--force", "affp")


@needs_two_cpus
def test_exec_and_init_do_not_inherit_the_callers_affinity(pyrunc, make_bundle):
    """runc resets the affinity after the cgroup join: ``taskset -c 0 runc exec`` does
    not pin the container's process to CPU 0."""
    first = _cpus()[0]
    b = make_bundle(["sleep", "1000"])
    pin = lambda: os.sched_setaffinity(0, {first})  # noqa: E731
    pyrunc("run", "-d", "-b", b.path, "affr", check=True, preexec_fn=pin)
    try:
        init = pyrunc.state("affr")["pid"]
        with open(f"/proc/{init}/status") as fh:
            assert _allowed(fh.read()) != str(first)
        p = pyrunc("exec", "affr", "grep", "Cpus_allowed_list", "/proc/self/status", check=True, preexec_fn=pin)
        assert _allowed(p.stdout) != str(first)
    finally:
        pyrunc("delete", "--force", "affr")


@pytest.mark.parametrize("aff,message", [
    ({"initial": "0-x"}, "process.execCPUAffinity.initial: '0-x' is not a list such as"),
    ({"final": "2-1"}, "process.execCPUAffinity.final: '2-1': invalid range '2-1'"),
    ({"final": 3}, "process.execCPUAffinity.final: expected a string, got an integer"),
    ({"final": "4000"}, "process.execCPUAffinity.final: sched_setaffinity 4000: invalid argument"),
    ({"initial": "4000"}, "process.execCPUAffinity.initial: sched_setaffinity 4000: invalid argument"),
])
def test_bad_exec_cpu_affinity(pyrunc, make_bundle, tmp_path, aff, message):
    b = make_bundle(["sleep", "1000"])
    pyrunc("run", "-d", "-b", b.path, "affb", check=True)
    try:
        p = pyrunc("exec", "--process", _exec_json(tmp_path, aff, ["true"]), "affb")
        assert p.returncode == 255
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], p.stderr
        assert pyrunc.state("affb")["status"] == "running"
    finally:
        pyrunc("delete", "--force", "affb")


def test_bad_exec_cpu_affinity_in_config_fails_create(pyrunc, make_bundle):
    b = make_bundle(["true"])
    b.config["process"]["execCPUAffinity"] = {"initial": "1,,a"}
    b.write()
    p = pyrunc("create", "-b", b.path, "affcfg")
    assert p.returncode == 1 and "process.execCPUAffinity.initial: '1,,a' is not a list" in p.stderr
