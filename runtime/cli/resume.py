"""pyrunc resume <container-id>: thaw a paused container.  CLI layer: it parses, then calls
container.Container.resume (flags.one_container_command)."""

from pyrunc.runtime.cli.flags import one_container_command

FLAGS: list = []

USAGE, run = one_container_command("resume", "resumes all processes that have been previously paused", "resume")
