"""A small JSON encoder for the hot path.
Layer: base (any layer may import it; it imports only the base).

``json`` imports ``re`` and costs several milliseconds at start-up; ``state``, ``list``,
the log lines and the state file only ever write str/int/bool/None/list/dict.
"""

_ESC = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def quote(s: str) -> str:
    out = []
    for ch in s:
        e = _ESC.get(ch)
        if e is not None:
            out.append(e)
        elif ord(ch) < 0x20:
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def dumps(obj: object, indent: str | None = None, _level: int = 0) -> str:
    """Encode ``obj``; with ``indent`` the layout is Go's json.MarshalIndent(v, "", indent)."""
    if obj is None:
        return "null"
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if isinstance(obj, int):
        return str(obj)
    if isinstance(obj, float):
        return repr(obj)
    if isinstance(obj, str):
        return quote(obj)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [quote(str(k)) + (": " if indent is not None else ":") + dumps(v, indent, _level + 1)
                 for k, v in obj.items()]
        return _join("{", items, "}", indent, _level)
    if isinstance(obj, (list, tuple)):
        if not obj:
            return "[]"
        return _join("[", [dumps(v, indent, _level + 1) for v in obj], "]", indent, _level)
    raise TypeError(f"cannot encode {type(obj).__name__}")


def _join(open_: str, items: list[str], close: str, indent: str | None, level: int) -> str:
    if indent is None:
        return open_ + ",".join(items) + close
    inner = "\n" + indent * (level + 1)
    return open_ + inner + ("," + inner).join(items) + "\n" + indent * level + close
