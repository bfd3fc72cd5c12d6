"""The import graph of runtime/, spec/ and hooks/ (read with ast, nothing imported),
function-level (lazy) imports included: imports point down, and no module is in a cycle.

The layers (README "Layout", STYLE.md), top to bottom: runtime.cli > runtime.container >
runtime.process > spec > runtime.linux; a module may import its own layer and those below
it.  spec/ (config.json -> Plan) sits between: cli and container read configs through it,
the process layer consumes the Plan's types it produces, and it may use linux's constants
and pure helpers (mount flags, id lists), but linux never reads spec (issue 21 point 4: the
linux <-> spec cycle).  runtime's top-level errors, log, fault, jsonin, jsonout and ocistate
(and the package itself) are the base: anything may import them and they import only each
other.  hooks/ programs are run, never imported: nothing imports them, and they may use
the base and linux's syscall layer only.  No module imports another's
private (underscore) names.  For spec and hooks every runtime layer but the base counts
as "above" them in the messages.  Imports under ``if TYPE_CHECKING:`` are not edges: they
never run, and naming the Plan's types (spec's) in an annotation is how spec hands them
down (issue 21 point 1: typed resources for the cgroup manager).
"""

import ast
import functools
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
#: The source folders and the package each installs as (pyproject.toml).
PACKAGES = {"runtime": "pyrunc.runtime", "spec": "pyrunc.spec", "hooks": "pyrunc.hooks"}
BASE = {"runtime", "runtime.errors", "runtime.log", "runtime.fault", "runtime.jsonin", "runtime.jsonout",
        "runtime.ocistate"}
ORDER = ["runtime.linux", "spec", "runtime.process", "runtime.container", "runtime.cli"]  # bottom to top

# Violations accepted for now, each with its reason (empty: issue 21 removed the last ones;
# test_allowed_is_current keeps it from going stale).
ALLOWED: set[str] = set()


def modules() -> dict[str, str]:
    """Dotted name (without "pyrunc.") -> file, for every module under the three folders."""
    out = {}
    for top in PACKAGES:
        for d, _dirs, files in os.walk(os.path.join(ROOT, top)):
            for f in files:
                if not f.endswith(".py"):
                    continue
                rel = os.path.relpath(os.path.join(d, f), ROOT)[:-3].split(os.sep)
                if rel[-1] == "__init__":
                    rel = rel[:-1]
                out[".".join(rel)] = os.path.join(d, f)
    return out


MODULES = modules()


def _internal(name: str) -> str | None:
    """"pyrunc.runtime.linux.consts" -> "runtime.linux.consts"; None outside pyrunc."""
    if name == "pyrunc" or not name.startswith("pyrunc."):
        return None
    return name[len("pyrunc."):]


def _resolve(name: str) -> str | None:
    """The module a dotted name is (or, for a name defined in a module, its module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


@functools.cache
def _tree(path: str) -> ast.Module:
    with open(path) as f:
        return ast.parse(f.read(), path)


def _type_only(tree: ast.Module) -> set[int]:
    """The nodes under ``if TYPE_CHECKING:`` (typing's, or a module's own constant False):
    annotations only, never run."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and (getattr(node.test, "id", None) == "TYPE_CHECKING"
                                         or getattr(node.test, "attr", None) == "TYPE_CHECKING"):
            for stmt in node.body:
                out.update(id(n) for n in ast.walk(stmt))
    return out


def imports(name: str) -> list[tuple[str, str, int]]:
    """(module imported, name as written, line) for each import in ``name``'s file,
    wherever it stands (module level, function, class, try); type-only ones left out."""
    path = MODULES[name]
    tree = _tree(path)
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    skip = _type_only(tree)
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                mod = _internal(alias.name)
                if mod:
                    out.append((_resolve(mod), mod, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                src = ".".join(base + ([node.module] if node.module else []))
            else:
                src = _internal(node.module or "")
            if not src:
                continue
            for alias in node.names:
                full = f"{src}.{alias.name}"
                out.append((full if full in MODULES else _resolve(src), full, node.lineno))
    return [(m, written, line) for m, written, line in out if m and m != name]


def layer(name: str) -> str:
    if name in BASE:
        return "runtime base"
    for top in ORDER:
        if name == top or name.startswith(top + "."):
            return top
    if name.startswith("runtime."):
        return "runtime base"  # a new top-level runtime module: it must follow the base's rule
    return "hooks"


def may_import(src: str, dst: str) -> bool:
    a, b = layer(src), layer(dst)
    if b == "runtime base" or a == b:
        return True
    if a == "runtime base" or b == "hooks":
        return False
    if a == "hooks":
        return b == "runtime.linux"
    return ORDER.index(b) < ORDER.index(a)


def graph() -> dict[str, set[str]]:
    return {m: {dst for dst, _w, _l in imports(m)} for m in MODULES}


def layer_violations() -> list[str]:
    out = []
    for src in sorted(MODULES):
        for dst in sorted({d for d, _w, _l in imports(src)}):
            if not may_import(src, dst):
                out.append(f"{src} imports {dst} (layer {layer(dst)} above {layer(src)})")
    return out


def private_violations() -> list[str]:
    """``from pyrunc.x import _name`` and ``module._name`` of another module."""
    out = set()
    for src in sorted(MODULES):
        tree = _tree(MODULES[src])
        bound: dict[str, str] = {}  # local name -> internal module it is
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and _internal(node.module or ""):
                mod = _internal(node.module)
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        out.add(f"{src} imports {_resolve(mod)}.{alias.name} (a private name)")
                    elif f"{mod}.{alias.name}" in MODULES:
                        bound[alias.asname or alias.name] = f"{mod}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    mod = _internal(alias.name)
                    if mod and alias.asname and mod in MODULES:
                        bound[alias.asname] = mod
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound
                    and node.attr.startswith("_") and not node.attr.startswith("__")
                    and bound[node.value.id] != src):
                out.add(f"{src} imports {bound[node.value.id]}.{node.attr} (a private name)")
    return sorted(out)


def cycles() -> list[str]:
    """Each strongly connected set of modules (Tarjan), as "cycle: a <-> b <-> c" sorted."""
    g = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append("cycle: " + " <-> ".join(sorted(comp)))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return sorted(out)


def violations() -> list[str]:
    return layer_violations() + private_violations() + cycles()


def test_the_walk_sees_the_tree():
    """The walk finds the layers and the lazy imports (a check of the checker)."""
    assert {"runtime.cli.main", "runtime.container.store", "runtime.process.init", "runtime.linux.mounts",
            "spec.load", "spec.plan", "hooks.bridge", "runtime.errors"} <= set(MODULES)
    assert {layer(m) for m in MODULES} == {"runtime base", "hooks", *ORDER}
    # spec.load imports spec.resources inside a function only.
    lazy = [(dst, line) for dst, _w, line in imports("spec.load") if dst == "spec.resources"]
    assert lazy, imports("spec.load")
    assert may_import("runtime.cli.run", "runtime.linux.mounts") and not may_import("runtime.linux.mounts",
                                                                                   "runtime.cli.run")
    assert not may_import("runtime.linux.mounts", "spec.plan") and may_import("runtime.container.create",
                                                                             "spec.load")
    assert may_import("spec.load", "runtime.linux.consts") and may_import("spec.load", "runtime.errors")
    assert not may_import("spec.load", "runtime.process.sync") and may_import("runtime.process.init", "spec.plan")
    assert not may_import("runtime.errors", "runtime.linux.consts")
    assert may_import("hooks.bridge", "runtime.linux.net") and not may_import("hooks.bridge", "runtime.cli.run")
    assert not may_import("runtime.cli.run", "hooks.bridge")


def test_imports_point_down_and_make_no_cycle():
    new = [v for v in violations() if v not in ALLOWED]
    assert not new, "imports that break the layering (STYLE.md, issue 21):\n" + "\n".join(new)


def test_allowed_is_current():
    """An entry of ALLOWED that no longer happens goes from the list (it must not come back)."""
    gone = sorted(ALLOWED - set(violations()))
    assert not gone, "no longer violations, remove them from ALLOWED:\n" + "\n".join(gone)


def test_a_new_violation_is_caught(tmp_path, monkeypatch):
    """Modules added for the test (files under tmp_path): a lazy upward import, spec reaching
    into runtime, hooks importing the runtime, a private name, a new cycle; and a type-only
    import, which is none of these."""
    fake = {
        "runtime.linux.fake_up": "def f():\n    from pyrunc.runtime.cli import main\n",
        "spec.fake_down": "import pyrunc.runtime.process.sync\n",
        "runtime.linux.fake_spec": "from pyrunc.spec import plan\n",
        "hooks.fake_hook": "from pyrunc.runtime.container import store\nfrom pyrunc.runtime import log\n",
        "runtime.process.fake_a": ("from pyrunc.runtime.process import fake_b\n"
                                   "from pyrunc.runtime.errors import _MAX_MSG\n"),
        "runtime.process.fake_b": "def g():\n    import pyrunc.runtime.process.fake_a as a\n    return a._hidden\n",
        "runtime.linux.fake_typed": ("TYPE_CHECKING = False\nif TYPE_CHECKING:\n"
                                     "    from pyrunc.spec.plan import Plan\n"),
    }
    for name, text in fake.items():
        path = tmp_path / (name + ".py")
        path.write_text(text)
        monkeypatch.setitem(MODULES, name, str(path))
    new = set(violations()) - ALLOWED
    assert new == {
        "runtime.linux.fake_up imports runtime.cli.main (layer runtime.cli above runtime.linux)",
        "spec.fake_down imports runtime.process.sync (layer runtime.process above spec)",
        "runtime.linux.fake_spec imports spec.plan (layer spec above runtime.linux)",
        "hooks.fake_hook imports runtime.container.store (layer runtime.container above hooks)",
        "runtime.process.fake_a imports runtime.errors._MAX_MSG (a private name)",
        "runtime.process.fake_b imports runtime.process.fake_a._hidden (a private name)",
        "cycle: runtime.process.fake_a <-> runtime.process.fake_b",
    }, new
