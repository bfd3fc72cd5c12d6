"""Logging as runc does it (logrus): text or JSON lines, to stderr or to ``--log``.
Layer: base (any layer may import it; it imports only the base).

Without ``--log`` an error goes to stderr as a text-format line
(``time="..." level=error msg="..."``).  With ``--log FILE`` the line goes to the file
(JSON with ``--log-format json``, as containerd's shim reads it) and the bare message to
stderr.  Lower layers call :func:`warn`; the CLI configures the sink once.  A text line to a
stderr that is a terminal is logrus's TextFormatter's coloured form, as runc prints it
there: ``ESC[31mERROESC[0m[0000] msg`` (level cut to four letters, seconds since the
start, the message padded to 44 characters, fields after it).
"""

import posix
import sys
import time

_path: str = ""
_fd: int = -1
_json: bool = False
_debug: bool = False
_forward = None  # set in a container's process: a line's way to the runtime that started it


_started = 0.0  # logrus's baseTimestamp: the "[0000]" of a coloured line counts from it

#: logrus's colours by level (TextFormatter.printColored); four letters of the level.
_COLOURS = {"debug": 37, "trace": 37, "warning": 33, "error": 31, "fatal": 31, "panic": 31}


def configure(path: str, fmt: str, debug: bool) -> None:
    global _path, _json, _debug, _started
    _path, _json, _debug = path, fmt == "json", debug
    _started = time.monotonic()


def pin() -> None:
    """Open the log file now and keep the fd: the container's init calls this before
    pivot_root, after which the host's path would name a file inside the container."""
    global _fd
    if _path and _fd < 0:
        try:
            _fd = posix.open(_path, posix.O_WRONLY | posix.O_APPEND | posix.O_CREAT | posix.O_CLOEXEC, 0o644)
        except OSError:
            _fd = -1


def forward(send) -> None:
    """In a child that is becoming the container's process: hand each line to ``send``
    (level, msg), the sync channel to the runtime, which logs it as its own.  The child's
    stderr may already be the container's terminal or stdio, where no warning of the
    runtime belongs (runc's init writes to its log pipe, read by runc)."""
    global _forward
    _forward = send


def pinned_fd() -> int:
    return _fd


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _quote(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20:
            out.append("\\x%02x" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _needs_quote(s: str) -> bool:
    if not s:
        return True
    return any(not (c.isalnum() or c in "-._/@^+") for c in s)


def format_line(level: str, msg: str, error: str = "") -> str:
    """``error``: logrus's error field (WithError), after the message, as runc writes it."""
    if _json:
        from pyrunc.runtime.jsonout import dumps

        d = {"error": error} if error else {}
        return dumps({**d, "level": level, "msg": msg, "time": _now()}) + "\n"
    m = _quote(msg) if _needs_quote(msg) else msg
    e = "" if not error else " error=" + (_quote(error) if _needs_quote(error) else error)
    return f'time="{_now()}" level={level} msg={m}{e}\n'


def _emit(level: str, msg: str, error: str = "") -> None:
    line = format_line(level, msg, error)
    if _fd >= 0:
        try:
            posix.write(_fd, line.encode())
        except OSError:
            pass
    elif _forward is not None:
        try:
            _forward(level, msg)
        except OSError:
            pass
    elif _path:
        try:
            fd = posix.open(_path, posix.O_WRONLY | posix.O_APPEND | posix.O_CREAT | posix.O_CLOEXEC, 0o644)
            try:
                posix.write(fd, line.encode())
            finally:
                posix.close(fd)
        except OSError:
            pass
    elif not _json and posix.isatty(2):
        _write_stderr(_coloured(level, msg, error))
    else:
        _write_stderr(line)


def _coloured(level: str, msg: str, error: str = "") -> str:
    """logrus's TextFormatter on a terminal: ``ESC[COLOURm`` + LEVE + ``ESC[0m[SSSS]``,
    the message (unquoted) padded to 44, then `` key=value`` with the key coloured."""
    c = _COLOURS.get(level, 36)
    secs = int(time.monotonic() - _started) if _started else 0
    out = f"\x1b[{c}m{level.upper()[:4]}\x1b[0m[{secs:04d}] {msg.removesuffix(chr(10)):<44} "
    if error:
        out += f" \x1b[{c}merror\x1b[0m=" + (_quote(error) if _needs_quote(error) else error)
    return out + "\n"


def _write_stderr(text: str) -> None:
    try:
        posix.write(2, text.encode())
    except OSError:
        pass


def relay(payload: str) -> None:
    """A line a container's process sent (:func:`forward`): "level NUL msg"."""
    level, _, msg = payload.partition("\0")
    if level != "debug" or _debug:
        _emit(level or "warning", msg)


def error(msg: str) -> None:
    """Log an error; with ``--log`` the bare message also goes to stderr (runc's fatal())."""
    _emit("error", msg)
    if _path:
        _write_stderr(msg + "\n")


def warn(msg: str, error: str = "") -> None:
    _emit("warning", msg, error)


def debug(msg: str) -> None:
    if _debug:
        _emit("debug", msg)


def flush() -> None:
    try:
        sys.stdout.flush()
    except Exception:
        pass
