"""spec/check.py (typed access to decoded JSON, naming the path of each wrong value) and
spec/version.py (ociVersion is SemVer, 1.0.0 to 1.3.0, pre-releases included)."""

import pytest
from pyrunc.runtime.errors import ConfigError
from pyrunc.spec import check, version
from pyrunc.spec.check import Obj


def test_paths():
    assert check.join("", "process") == "process"
    assert check.join("process", "args") == "process.args"
    assert check.join("process.args", 2) == "process.args[2]"
    o = Obj({"a": {"b": [{"c": 1}]}}, "linux")
    (inner,) = o.obj("a").objs("b")
    assert inner.path == "linux.a.b[0]" and inner.at("c") == "linux.a.b[0].c"


def test_typed_access():
    o = Obj({"s": "x", "b": True, "i": 3, "f": 4.0, "n": None, "l": ["a"]}, "p")
    assert (o.str("s"), o.bool("b"), o.int("i"), o.int("f"), o.strings("l")) == ("x", True, 3, 4, ["a"])
    # null is absent: the default.
    assert (o.str("n", "d"), o.bool("n", True), o.int("n", 7), o.strings("n"), o.objs("n")) == ("d", True, 7, [], [])
    assert not o.has("n") and o.has("s") and Obj(None, "q").data == {}
    assert o.require("i") == 3


@pytest.mark.parametrize("call,message", [
    (lambda o: o.str("i"), "p.i: expected a string, got an integer"),
    (lambda o: o.bool("s"), "p.s: expected a boolean, got a string"),
    (lambda o: o.int("b"), "p.b: expected an integer, got a boolean"),  # JSON true is not 1
    (lambda o: o.int("g"), "p.g: expected an integer, got a number"),
    (lambda o: o.int("i", None, 5), "p.i: 3 is out of range (minimum 5)"),
    (lambda o: o.int("i", None, 0, 2), "p.i: 3 is out of range (maximum 2)"),
    (lambda o: o.strings("s"), "p.s: expected an array, got a string"),
    (lambda o: o.strings("m"), "p.m[1]: expected a string, got an object"),
    (lambda o: o.obj("l"), "p.l: expected an object, got an array"),
    (lambda o: o.objs("l"), "p.l[0]: expected an object, got a string"),
    (lambda o: o.require("absent"), "p.absent: is required"),
    (lambda o: o.require("n"), "p.n: is required"),
])
def test_errors_name_the_path(call, message):
    o = Obj({"s": "x", "b": True, "i": 3, "g": 1.5, "n": None, "l": ["a"], "m": ["a", {}]}, "p")
    with pytest.raises(ConfigError) as e:
        call(o)
    assert str(e.value) == message and e.value.path == message.split(":")[0]


def test_text_is_sane():
    check.text_is_sane({"a": ["ok", {"b": "fine"}], "c": 1})
    with pytest.raises(ConfigError, match=r"^a\[1\].b: contains a NUL character$"):
        check.text_is_sane({"a": ["ok", {"b": "x\x00"}]})
    with pytest.raises(ConfigError, match=r"^a\[0\]: contains a lone UTF-16 surrogate, not valid UTF-8$"):
        check.text_is_sane({"a": ["\udc80"]})
    with pytest.raises(ConfigError, match=r"^config.json: contains a NUL character$"):
        check.text_is_sane("\x00")
    # Deep nesting is walked without recursion.
    deep: list = []
    node = deep
    for _ in range(50_000):
        node.append([])
        node = node[0]
    check.text_is_sane(deep)


@pytest.mark.parametrize("v,parsed", [
    ("1.0.0", (1, 0, 0, False)), ("1.0.2-dev", (1, 0, 2, True)), ("1.3.0", (1, 3, 0, False)),
    ("1.2.1+build.5", (1, 2, 1, False)), ("1.3.0-rc.1+b", (1, 3, 0, True)),
])
def test_versions_accepted(v, parsed):
    assert version.parse(v) == parsed
    version.check(v)


@pytest.mark.parametrize("v", ["1.0", "1.0.0.0", "01.0.0", "1.a.0", "1.0.0-", "", "v1.0.0", "1..0"])
def test_not_semver(v):
    with pytest.raises(ValueError):
        version.parse(v)
    with pytest.raises(ConfigError, match="is not a valid SemVer version"):
        version.check(v)


@pytest.mark.parametrize("v", ["0.9.0", "1.3.1", "1.4.0-rc.1", "2.0.0"])
def test_unsupported(v):
    with pytest.raises(ConfigError) as e:
        version.check(v)
    assert str(e.value) == f"ociVersion: unsupported version {v!r}: pyrunc supports 1.0.0 to 1.3.0"
