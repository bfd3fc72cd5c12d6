"""pyrunc pause <container-id>: freeze every process of the container
(the cgroup freezer).  CLI layer: it parses, then calls
container.Container.pause (flags.one_container_command)."""

from pyrunc.runtime.cli.flags import one_container_command

FLAGS: list = []

USAGE, run = one_container_command("pause", "pause suspends all processes inside the container", "pause")
