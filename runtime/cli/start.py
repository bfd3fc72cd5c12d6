"""pyrunc start <container-id>: the created container's init execs its program (it
waits on the exec FIFO until then): container.Container.start, through flags.one_container_command.
Layer: cli (parses and dispatches; may import every layer below it)."""

from pyrunc.runtime.cli.flags import one_container_command

FLAGS: list = []

USAGE, run = one_container_command("start", "executes the user defined process in a created container", "start")
