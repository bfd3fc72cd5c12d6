"""pyrunc pause <container-id>: freeze every process of the container
(the cgroup freezer): container.Container.pause, through flags.one_container_command.
Layer: cli (parses and dispatches; may import every layer below it)."""

from pyrunc.runtime.cli.flags import one_container_command

FLAGS: list = []

USAGE, run = one_container_command("pause", "pause suspends all processes inside the container", "pause")
