"""spec/signals.py: runc's parseSignal (kill, the image's stopSignal): numbers as given,
names with or without SIG in any case, signal(7)'s table only."""

import pytest
from pyrunc.runtime.errors import PyruncError
from pyrunc.spec.signals import SIGNALS, parse_signal


@pytest.mark.parametrize("raw,num", [
    ("9", 9), ("KILL", 9), ("SIGKILL", 9), ("kill", 9), ("sigterm", 15), ("SigHup", 1), ("WINCH", 28),
    ("SYS", 31), ("0", 0), ("64", 64), ("-1", -1), ("+3", 3), ("999", 999),
])
def test_parsed(raw, num):
    assert parse_signal(raw) == num


@pytest.mark.parametrize("raw", ["FOO", "SIGFOO", "SIG", "", "RTMIN+1", "SIGIOT", "9.0", "1e3", " 9",
                                 str(1 << 63)])
def test_unknown(raw):
    with pytest.raises(PyruncError) as e:
        parse_signal(raw)
    assert str(e.value) == f'unknown signal "{raw}"'


def test_the_table_is_linuxs():
    import signal

    for name, num in SIGNALS.items():
        assert getattr(signal, "SIG" + name) == num, name
    assert len(SIGNALS) == 31 and sorted(SIGNALS.values()) == list(range(1, 32))
