"""JSON decoding with CPython's C scanner, without ``json.decoder``.
Layer: base (any layer may import it; it imports only the base).

``import json`` pulls in ``re`` and ``enum`` (several milliseconds of every ``create``);
the scanner in ``_json`` needs neither.  Errors are json.JSONDecodeError as usual (the
module is imported on the error path only).
"""

try:
    from _json import make_scanner as _make_scanner
except ImportError:  # pragma: no cover - other interpreters
    _make_scanner = None

_WS = " \t\n\r"


def _constant(name: str) -> float:
    return {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}[name]


class _Context:
    """The attributes the C scanner reads from a JSONDecoder."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = staticmethod(_constant)
    memo: dict = {}


def _error(msg: str, doc: str, pos: int) -> ValueError:
    import json

    return json.JSONDecodeError(msg, doc, pos)


def loads(text: str | bytes) -> object:
    if isinstance(text, bytes):
        text = text.decode("utf-8")  # not "utf-8-sig": that codec is one more import
    if text[:1] == "\ufeff":
        text = text[1:]
    if _make_scanner is None:
        import json

        return json.loads(text)
    scan = _make_scanner(_Context())
    i = 0
    n = len(text)
    while i < n and text[i] in _WS:
        i += 1
    try:
        obj, end = scan(text, i)
    except RecursionError:
        raise _error("nested too deeply", text, i) from None
    except StopIteration as e:
        raise _error("Expecting value", text, e.value) from None
    except (SystemError, ValueError):
        # The C scanner reports errors through json.decoder, which must be imported for
        # that: decode again with the json module to get its JSONDecodeError.
        import json

        return json.loads(text)
    while end < n and text[end] in _WS:
        end += 1
    if end != n:
        raise _error("Extra data", text, end)
    return obj
