"""`pyrunc validate`, and the conformance runner's TAP reading (pure functions, no suite)."""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "conformance"))
import run as conformance  # noqa: E402


def test_validate_accepts_the_default_spec(pyrunc, make_bundle):
    b = make_bundle(["true"])
    p = pyrunc("validate", "--bundle", b.path)
    assert p.returncode == 0 and "valid" in p.stdout, p.stderr


def test_validate_lists_every_violation_with_its_path(pyrunc, make_bundle):
    b = make_bundle(["true"])
    b.config["process"]["args"] = "sh"
    b.config["process"]["user"]["uid"] = -1
    b.config["linux"]["namespaces"].append({"type": "bogus"})
    b.config["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_BOGUS"}
    b.write()
    p = pyrunc("validate", "--bundle", b.path)
    assert p.returncode == 1
    out = p.stdout.splitlines()
    assert any(line.startswith("process.args:") for line in out)
    assert any(line.startswith("process.user.uid:") for line in out)
    assert any(line.startswith("linux.namespaces[6].type:") for line in out)
    assert any(line.startswith("linux.seccomp.defaultAction:") for line in out)
    assert "4 violation(s)" in p.stderr


def test_validate_runs_the_loaders_rules_too(pyrunc, make_bundle):
    b = make_bundle(["true"])
    b.config["linux"]["namespaces"] = [n for n in b.config["linux"]["namespaces"] if n["type"] != "uts"]
    b.write()
    p = pyrunc("validate", "--bundle", b.path)
    assert p.returncode == 1 and "hostname" in p.stdout and "UTS" in p.stdout


def test_create_path_never_imports_jsonschema(make_bundle, pyrunc):
    """jsonschema (and json/re/enum) stay off the create path: run create under -X importtime."""
    b = make_bundle(["true"])
    launcher = pyrunc.cmd()[0]
    p = subprocess.run([sys.executable, "-X", "importtime", launcher, "--root", pyrunc.root, "run", "-b", b.path,
                        "imp"], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert p.returncode == 0, p.stderr
    imported = {line.split("|")[-1].strip() for line in p.stderr.splitlines() if line.startswith("import time:")}
    for heavy in ("jsonschema", "json.decoder", "re", "enum", "typing", "argparse", "subprocess", "socket"):
        assert heavy not in imported, heavy


def test_tap_parsing_quirks():
    ok = conformance.parse_tap("state", "TAP version 13\nok 1 - a\nok 2 - b\n1..2\n", 0, False)
    assert (ok.status, ok.passed, ok.failed) == ("pass", 2, 0)
    two = conformance.parse_tap("x", "TAP version 13\nok 1 - a\n1..1\nTAP version 13\nnot ok 1 - b\n  ---\n"
                                "  {\"error\": \"boom\"}\n  ...\n1..1\n", 0, False)
    assert two.status == "fail" and two.passed == 1 and two.failed == 1 and "boom" in two.first_failure
    hook_ok = conformance.parse_tap("prestart", "1..0\n", 0, False)
    assert hook_ok.status == "pass"
    hook_bad = conformance.parse_tap("prestart", "1..0\n---\nerror: hook did not run\n...\n", 0, False)
    assert hook_bad.status == "fail" and "hook did not run" in hook_bad.first_failure
    # tap-go writes the YAML block in JSON form too: "error": ... is a failure as well.
    hook_json = conformance.parse_tap("hooks", 'TAP version 13\n  ---\n  {\n    "error": "Hooks MUST be called in '
                                      'the listed order"\n  }\n  ...\n1..0\n', 0, False)
    assert hook_json.status == "fail" and "listed order" in hook_json.first_failure
    assert conformance.parse_tap("poststart_fail", "", 0, False).status == "pass"
    assert conformance.parse_tap("create", "", 1, False).status == "error"
    assert conformance.parse_tap("create", "ok 1 - a\n", 0, True).status == "error"


def test_timing_sensitive_tests_are_repeated_and_flaky_is_not_a_pass(tmp_path):
    for name, src in (("kill", "util.WaitingForStatus(r, s, time.Second*10, time.Second)"), ("state", "t.Ok(1)")):
        (tmp_path / "validation" / name).mkdir(parents=True)
        (tmp_path / "validation" / name / f"{name}.go").write_text(f"package main\nfunc main() {{ {src} }}\n")
    assert conformance.timing_sensitive(str(tmp_path), "validation/kill/kill.t")
    assert not conformance.timing_sensitive(str(tmp_path), "validation/state/state.t")
    ok = conformance.parse_tap("kill", "ok 1 - a\n1..1\n", 0, False)
    bad = conformance.parse_tap("kill", "not ok 1 - a\n1..1\n", 0, False)
    same = conformance.combine([conformance.parse_tap("kill", "ok 1 - a\n1..1\n", 0, False) for _ in range(3)])
    assert same.status == "pass"
    mixed = conformance.combine([ok, bad, conformance.parse_tap("kill", "ok 1 - a\n1..1\n", 0, False)])
    assert mixed.status == "flaky" and mixed.first_failure.startswith("2 of 3 runs passed")
    assert conformance.judge({"kill": mixed}, "260e151" + "0" * 33, "") == 1  # expected to pass: a regression


def test_runner_without_tree_exits_3(tmp_path):
    p = subprocess.run([sys.executable, os.path.join(HERE, "..", "conformance", "run.py"), "--tree",
                        str(tmp_path)], capture_output=True, text=True, timeout=30, env=dict(os.environ,
                                                                                             RUNTIME_TOOLS=""))
    assert p.returncode == 3 and "runtime-tools" in p.stderr


def test_expectations_files_are_well_formed():
    d = os.path.join(HERE, "..", "conformance")
    files = [f for f in os.listdir(d) if f.startswith("expectations-") and not f.startswith("expectations-critest-")]
    assert files, "the conformance expectations are committed"
    for f in files:
        data = json.load(open(os.path.join(d, f)))
        for name, e in data["executables"].items():
            assert e["expect"] in ("pass", "fail"), name
            if e["expect"] == "fail":
                assert e.get("reason"), f"{f}: {name} needs its measured reason"
    # critest's (conformance/critest.py): each spec's state under each handler; one that
    # does not pass under some handler says why.
    critest = [f for f in os.listdir(d) if f.startswith("expectations-critest-")]
    assert critest, "the critest expectations are committed"
    for f in critest:
        specs = json.load(open(os.path.join(d, f)))["specs"]
        for name, e in specs.items():
            assert {e["runc"], e["pyrunc"]} <= {"passed", "failed"}, name
            if "failed" in (e["runc"], e["pyrunc"]):
                assert e.get("reason"), f"{f}: {name} needs its measured reason"


def test_runner_keeps_an_executables_mounts_off_the_host(tmp_path):
    """A runtime that mounts outside its containers' namespaces (runc 1.1.5 does, for a
    config without a mount namespace) must not leave those mounts in the host's table."""
    exe = tmp_path / "tree" / "validation" / "leaky" / "leaky.t"
    exe.parent.mkdir(parents=True)
    exe.write_text('#!/bin/sh\nmkdir -p "$TMPDIR/leak" && mount -t tmpfs pyrunc-leak-probe "$TMPDIR/leak" '
                   '&& echo "ok 1 - mounted"\necho "1..1"\n')
    exe.chmod(0o755)
    p = subprocess.run([sys.executable, os.path.join(HERE, "..", "conformance", "run.py"), "--tree",
                        str(tmp_path / "tree")], capture_output=True, text=True, timeout=60)
    assert "leaky" in p.stdout and " pass " in p.stdout, p.stdout + p.stderr
    assert "pyrunc-leak-probe" not in open("/proc/self/mountinfo").read()
