"""Fixtures of the differential tier: the busybox rootfs and the syscall probe, built once
per worker (each pytest-xdist worker has its own base directory)."""

import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import rootfs as rootfs_builder  # noqa: E402


@pytest.fixture(scope="session")
def diff_rootfs(base_dir):
    return rootfs_builder.build(os.path.join(base_dir, "diff-rootfs"))


@pytest.fixture(scope="session")
def sysprobe(base_dir):
    out = os.path.join(base_dir, "sysprobe")
    p = subprocess.run(["gcc", "-static", "-O1", "-o", out, os.path.join(HERE, "sysprobe.c")],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        pytest.fail(f"gcc -static sysprobe.c: {p.stderr.strip()}")
    return out


def pytest_terminal_summary(terminalreporter):
    """Which runc each scenario was compared with (and where runc 1.1.5 and 1.5 differ)."""
    refs: dict[str, int] = {}
    split = []
    for reports in terminalreporter.stats.values():
        for r in reports:
            props = dict(getattr(r, "user_properties", ()) or ())
            if getattr(r, "when", "") != "call" or "diff-reference" not in props:
                continue
            refs[props["diff-reference"]] = refs.get(props["diff-reference"], 0) + 1
            if "diff-ref-split" in props:
                split.append(f"{r.nodeid.split('[')[-1].rstrip(']')}: {props['diff-ref-split']}")
    if not refs:
        return
    terminalreporter.section("differential tier: references")
    for ref, n in refs.items():
        terminalreporter.write_line(f"{n} scenarios compared with {ref}")
    for line in split:
        terminalreporter.write_line(f"runc 1.1.5 and 1.5 differ (1.5 won) in {line}")
