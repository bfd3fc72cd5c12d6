"""runtime/log.py on a terminal: logrus's coloured TextFormatter lines, byte for byte as
runc 1.1.5 printed them under `script` (the differential tier's cli-exec-tty-*-terminal
scenarios compare the real thing)."""

from pyrunc.runtime import log


def test_short_message_padded_to_44():
    assert log._coloured("error", "exec failed: container does not exist") == \
        "\x1b[31mERRO\x1b[0m[0000] exec failed: container does not exist        \n"


def test_long_message_not_cut():
    assert log._coloured("error", "exec failed: cannot exec in a stopped container") == \
        "\x1b[31mERRO\x1b[0m[0000] exec failed: cannot exec in a stopped container \n"


def test_levels_and_error_field():
    assert log._coloured("warning", "w").startswith("\x1b[33mWARN\x1b[0m[0000] w ")
    assert log._coloured("debug", "d").startswith("\x1b[37mDEBU\x1b[0m")
    assert log._coloured("info", "i").startswith("\x1b[36mINFO\x1b[0m")
    assert log._coloured("warning", "w", "no such file").endswith("  \x1b[33merror\x1b[0m=\"no such file\"\n")
