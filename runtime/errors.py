"""One exception family for the whole runtime.
Layer: base (any layer may import it; it imports only the base).

The texts follow runc's, since containerd's shim matches some of them ("container not
running", "does not exist").  Context goes in front of a message as it rises (a new
error raised ``from None`` with "what: " before the old text) and the CLI prints it once,
as one line.
"""


_MAX_MSG = 1000


class PyruncError(Exception):
    """An error the user sees as one line on stderr, exit status 1."""

    def __init__(self, msg: str) -> None:
        if len(msg) > _MAX_MSG:
            # A hostile value (a path of 300 000 characters) must not become the message.
            msg = msg[:_MAX_MSG] + f"... ({len(msg) - _MAX_MSG} more characters)"
        super().__init__(msg)
        self.msg = msg

    def __str__(self) -> str:
        return self.msg


class NotExist(PyruncError):
    def __init__(self) -> None:
        super().__init__("container does not exist")


class Exists(PyruncError):
    def __init__(self) -> None:
        super().__init__("container with given ID already exists")


class InvalidID(PyruncError):
    def __init__(self) -> None:
        super().__init__("invalid container ID format")


class NotRunning(PyruncError):
    def __init__(self) -> None:
        super().__init__("container not running")


class ConfigError(PyruncError):
    """A config.json value that is wrong: the message names the JSON path."""

    def __init__(self, path: str, msg: str) -> None:
        super().__init__(f"{path}: {msg}" if path else msg)
        self.path = path


class UsageError(PyruncError):
    """Bad command-line usage.  ``kind`` says what runc (urfave/cli) prints on stdout
    before its error line: "args" for the wrong number of arguments (checkArgs:
    "Incorrect Usage." and the command's help), "flag" for a flag it could not parse
    ("Incorrect Usage: <error>" and the help), "" for nothing."""

    kind = ""


class SysError(PyruncError):
    """A failed system call, named with its operation and path."""

    def __init__(self, op: str, errno_: int, path: str = "") -> None:
        import posix

        where = f" {path}" if path else ""
        super().__init__(f"{op}{where}: {posix.strerror(errno_).lower()}")
        self.errno = errno_
