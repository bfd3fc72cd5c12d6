"""Signal names and numbers as runc parses them (``kill``, the image's stopSignal).
Layer: spec (between process and linux: may import linux's pure helpers and the base)."""

from pyrunc.runtime.errors import PyruncError

#: Linux signal numbers (signal(7)); a table here avoids importing ``signal`` (and enum).
SIGNALS = {
    "HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "BUS": 7, "FPE": 8,
    "KILL": 9, "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15, "STKFLT": 16,
    "CHLD": 17, "CONT": 18, "STOP": 19, "TSTP": 20, "TTIN": 21, "TTOU": 22, "URG": 23,
    "XCPU": 24, "XFSZ": 25, "VTALRM": 26, "PROF": 27, "WINCH": 28, "IO": 29, "PWR": 30,
    "SYS": 31,
}


def parse_signal(raw: str) -> int:
    """runc's parseSignal: a decimal number (any, even one the kernel will refuse: kill
    then fails with EINVAL), else a name with or without SIG, any case, one of the names
    of signal(7)'s table (no aliases, no SIGRTMIN+n, as runc's x/sys/unix list)."""
    digits = raw[1:] if raw[:1] in ("+", "-") else raw
    # ASCII digits only, as Go's Atoi (int() would also take "1_0", " 9" and other scripts'
    # digits); not ``re``: it and enum cost kill about 5 ms of start-up.
    if digits and digits.isascii() and digits.isdigit() and abs(int(raw)) < 1 << 63:
        return int(raw)
    name = raw.upper()
    if name.startswith("SIG"):
        name = name[3:]
    if name in SIGNALS:
        return SIGNALS[name]
    raise PyruncError(f'unknown signal "{raw}"')
