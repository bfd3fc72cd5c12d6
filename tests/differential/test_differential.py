"""The differential tier: every scenario under runc and under pyrunc, compared
(harness.py says what is compared and how; known.py lists what others still fix)."""

import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402
import rootfs as rootfs_builder  # noqa: E402  (tests/, on the path through tests/conftest.py)
import scenarios_cli  # noqa: E402
import scenarios_config  # noqa: E402
import scenarios_engines  # noqa: E402
import scenarios_ns  # noqa: E402

SCENARIOS = [*scenarios_config.SCENARIOS, *scenarios_cli.SCENARIOS, *scenarios_engines.SCENARIOS,
             *scenarios_ns.SCENARIOS]
_names = [s.name for s in SCENARIOS]
assert len(_names) == len(set(_names)), "scenario names must be unique"

if not os.path.exists(harness.RUNC):
    pytest.skip(f"no runc at {harness.RUNC} (set RUNC)", allow_module_level=True)


# The tier's fixtures live here, not in a conftest.py of this directory: a second module
# named "conftest" would stand in for tests/conftest.py in the other test modules' imports.
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



@pytest.mark.parametrize("scn", SCENARIOS, ids=_names)
def test_scenario(scn, base_dir, diff_rootfs, sysprobe, request):
    res = harness.compare(scn, base_dir, diff_rootfs, sysprobe)
    print(res.report())
    # for the run's summary (conftest.py): the reference this scenario used
    request.node.user_properties.append(("diff-reference", res.reference))
    if res.ref_split:
        request.node.user_properties.append(("diff-ref-split", ", ".join(res.ref_split)))
    assert res.ok, res.report()
    if res.known:
        pytest.xfail("known, owned elsewhere: " + "; ".join(sorted(set(res.known.values()))))
