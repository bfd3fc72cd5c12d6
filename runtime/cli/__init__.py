"""The command line: argv -> command, with runc's flags, texts and exit codes.
One module per command; parsing only, no kernel calls."""
