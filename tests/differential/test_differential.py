"""The differential tier: every scenario under runc and under pyrunc, compared
(harness.py says what is compared and how; known.py lists what others still fix)."""

import os

import harness
import pytest
import scenarios_cli
import scenarios_config
import scenarios_engines
import scenarios_ns

SCENARIOS = [*scenarios_config.SCENARIOS, *scenarios_cli.SCENARIOS, *scenarios_engines.SCENARIOS,
             *scenarios_ns.SCENARIOS]
_names = [s.name for s in SCENARIOS]
assert len(_names) == len(set(_names)), "scenario names must be unique"

if not os.path.exists(harness.RUNC):
    pytest.skip(f"no runc at {harness.RUNC} (set RUNC)", allow_module_level=True)


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
