"""pyrunc resume <container-id>: thaw a paused container: container.Container.resume,
through flags.one_container_command.
Layer: cli (parses and dispatches; may import every layer below it)."""

from pyrunc.runtime.cli.flags import one_container_command

FLAGS: list = []

USAGE, run = one_container_command("resume", "resumes all processes that have been previously paused", "resume")
