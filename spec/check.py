"""Typed access to decoded JSON, naming the JSON path of every value that is wrong.
Layer: spec (between process and linux: may import linux's pure helpers and the base)."""

from pyrunc.runtime.errors import ConfigError

_KIND = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
         int: "an integer", float: "a number", type(None): "null"}


def kind(v: object) -> str:
    return _KIND.get(type(v), type(v).__name__)


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def obj(v: object, path: str) -> dict:
    if not isinstance(v, dict):
        raise ConfigError(path, f"expected an object, got {kind(v)}")
    return v


def string(v: object, path: str) -> str:
    if not isinstance(v, str):
        raise ConfigError(path, f"expected a string, got {kind(v)}")
    return v


def boolean(v: object, path: str) -> bool:
    if not isinstance(v, bool):
        raise ConfigError(path, f"expected a boolean, got {kind(v)}")
    return v


def integer(v: object, path: str, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        else:
            raise ConfigError(path, f"expected an integer, got {kind(v)}")
    if lo is not None and v < lo:
        raise ConfigError(path, f"{v} is out of range (minimum {lo})")
    if hi is not None and v > hi:
        raise ConfigError(path, f"{v} is out of range (maximum {hi})")
    return v


def array(v: object, path: str) -> list:
    if not isinstance(v, list):
        raise ConfigError(path, f"expected an array, got {kind(v)}")
    return v


def strings(v: object, path: str) -> list[str]:
    return [string(x, join(path, i)) for i, x in enumerate(array(v, path))]


class Obj:
    """A JSON object with its path: ``o.str("hostname")`` checks and names ``hostname``."""

    def __init__(self, data: object, path: str) -> None:
        self.data = obj(data, path) if data is not None else {}
        self.path = path

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def at(self, key: str) -> str:
        return join(self.path, key)

    def str(self, key: str, default: str = "") -> str:
        v = self.data.get(key)
        return default if v is None else string(v, self.at(key))

    def bool(self, key: str, default: bool = False) -> bool:
        v = self.data.get(key)
        return default if v is None else boolean(v, self.at(key))

    def int(self, key: str, default: int | None = None, lo: int | None = None,
            hi: int | None = None) -> int | None:
        v = self.data.get(key)
        return default if v is None else integer(v, self.at(key), lo, hi)

    def strings(self, key: str) -> list[str]:
        v = self.data.get(key)
        return [] if v is None else strings(v, self.at(key))

    def obj(self, key: str) -> "Obj":
        return Obj(self.data.get(key), self.at(key))

    def objs(self, key: str) -> list["Obj"]:
        v = self.data.get(key)
        if v is None:
            return []
        return [Obj(x, join(self.at(key), i)) for i, x in enumerate(array(v, self.at(key)))]

    def require(self, key: str) -> object:
        v = self.data.get(key)
        if v is None:
            raise ConfigError(self.at(key), "is required")
        return v


def text_is_sane(node: object, path: str = "") -> None:
    """No string of the config (key or value) holds a NUL byte or a lone surrogate (JSON
    can spell both, ``\\u0000`` and ``\\ud800``): neither can reach the kernel as a path,
    an argument or a file's content, and the error names the first one's JSON path."""
    stack = [(node, path)]
    while stack:
        v, p = stack.pop()
        if isinstance(v, str):
            _sane(v, p)
        elif isinstance(v, dict):
            for k, item in v.items():
                kp = join(p, k)
                _sane(k, kp)
                stack.append((item, kp))
        elif isinstance(v, list):
            stack.extend((item, join(p, i)) for i, item in enumerate(v))


def _sane(s: str, path: str) -> None:
    if "\x00" in s:
        raise ConfigError(path or "config.json", "contains a NUL character")
    try:
        s.encode()
    except UnicodeEncodeError:
        raise ConfigError(path or "config.json", "contains a lone UTF-16 surrogate, not valid UTF-8") from None
