"""The command line: argv -> command, with runc's flags, texts and exit codes.
One module per command; parsing only, no kernel calls.
Layer: cli (parses and dispatches; may import every layer below it)."""
