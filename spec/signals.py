"""Signal names and numbers as runc parses them (``kill``, the image's stopSignal)."""

from pyrunc.runtime.errors import PyruncError

#: Linux signal numbers (signal(7)); a table here avoids importing ``signal`` (and enum).
SIGNALS = {
    "HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "IOT": 6, "BUS": 7, "FPE": 8,
    "KILL": 9, "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15, "STKFLT": 16,
    "CHLD": 17, "CLD": 17, "CONT": 18, "STOP": 19, "TSTP": 20, "TTIN": 21, "TTOU": 22, "URG": 23,
    "XCPU": 24, "XFSZ": 25, "VTALRM": 26, "PROF": 27, "WINCH": 28, "IO": 29, "POLL": 29, "PWR": 30,
    "SYS": 31,
}


def parse_signal(raw: str) -> int:
    """A number, or a name with or without SIG, any case (runc's parseSignal)."""
    if raw.isdigit():
        n = int(raw)
        if 0 <= n <= 64:
            return n
        raise PyruncError(f'unknown signal "{raw}"')
    name = raw.upper()
    if name.startswith("SIG"):
        name = name[3:]
    if name.startswith("RTMIN") or name.startswith("RTMAX"):
        base, off = (34, name[5:]) if name.startswith("RTMIN") else (64, name[5:])
        try:
            n = base + int(off) if off else base
        except ValueError:
            n = 0
        if 34 <= n <= 64:
            return n
    if name in SIGNALS:
        return SIGNALS[name]
    raise PyruncError(f'unknown signal "{raw}"')
