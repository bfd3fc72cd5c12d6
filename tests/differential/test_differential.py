"""The differential tier: every scenario under runc and under pyrunc, compared
(harness.py says what is compared and how; known.py lists what others still fix)."""

import os

import harness
import pytest
import scenarios_cli
import scenarios_config

SCENARIOS = [*scenarios_config.SCENARIOS, *scenarios_cli.SCENARIOS]
_names = [s.name for s in SCENARIOS]
assert len(_names) == len(set(_names)), "scenario names must be unique"

if not os.path.exists(harness.RUNC):
    pytest.skip(f"no runc at {harness.RUNC} (set RUNC)", allow_module_level=True)


@pytest.mark.parametrize("scn", SCENARIOS, ids=_names)
def test_scenario(scn, base_dir, diff_rootfs, sysprobe):
    res = harness.compare(scn, base_dir, diff_rootfs, sysprobe)
    print(res.report())
    assert res.ok, res.report()
    if res.known:
        pytest.xfail("known, owned elsewhere: " + "; ".join(sorted(set(res.known.values()))))
