"""Scenarios over config.json: runc's default, then field by field."""

from harness import Scenario, lifecycle, run_once

SCENARIOS: list[Scenario] = [
    Scenario("default-run", run_once()),
    Scenario("default-lifecycle", lifecycle(), hold=True),
]
