"""Scenarios over the command line: each command, its flags, its failure paths."""

from harness import Call, Scenario

SCENARIOS: list[Scenario] = [
    Scenario("cli-state-missing", [Call(["state", "nosuch"])], probe=False),
    Scenario("cli-delete-missing", [Call(["delete", "nosuch"])], probe=False),
]
