"""Who may import whom (STYLE §1): the wire types and parsers stand alone, the core never reaches into the
rooms (cli, gateway, mcp_server, emulator, setup), the rooms do not import one another, and the emulator
never shares the client's code (sharing its transport, it could share its bugs)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "glmkit"
ROOMS = {"cli", "gateway", "mcp_server", "emulator", "setup"}
CLIENT_SIDE = {
    "_client", "_transport", "_call", "_http11", "_flows", "_auth", "resources", "tools", "_tool_schema", "_remote_mcp",
    "testing",
}  # fmt: skip
STANDALONE = {"types", "_errors", "_sse", "_fileio", "_json"}


def _imports(path: Path) -> set[str]:
    """Every ``glmkit`` module a file imports, at top level or inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(SRC.parent).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            if module != "glmkit":
                found.add(module)
            found.update(f"{module}.{a.name}" for a in node.names)
    return {m for m in found if m == "glmkit" or m.startswith("glmkit.")}


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _files() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


@pytest.mark.parametrize("path", _files(), ids=lambda p: str(p.relative_to(SRC)))
def test_layers(path: Path) -> None:
    here = _part("glmkit." + ".".join(path.relative_to(SRC).with_suffix("").parts))
    targets = {_part(m) for m in _imports(path)} - {"", here}
    # Names from ``glmkit`` itself (the lazy public face: Client, errors, tool) resolve to client-side code.
    if {t for t in targets if not (SRC / t).exists() and not (SRC / f"{t}.py").exists()}:
        targets = {t for t in targets if (SRC / t).exists() or (SRC / f"{t}.py").exists()} | {"_client"}
    if here in STANDALONE:
        # _json is a leaf (the standard library and orjson): the wire parsers may read and write JSON through it
        allowed = {"types", "_errors", "_fileio", "data", "_json"} if here == "types" else {"data", "_json"}
        assert targets <= allowed, f"{path.name} must stand alone, imports {sorted(targets - allowed)}"
    elif here == "emulator":
        assert not targets & (CLIENT_SIDE | ROOMS), (
            f"the emulator imports client code: {sorted(targets & (CLIENT_SIDE | ROOMS))}"
        )
    elif here in ROOMS and here != "cli":
        assert not targets & ROOMS, f"{here} imports another room: {sorted(targets & ROOMS)}"
    elif here not in ROOMS | {"testing", "__init__", "__main__"}:
        assert not targets & ROOMS, f"core module {path.name} imports a room: {sorted(targets & ROOMS)}"


def test_test_modules_have_unique_names() -> None:
    """pytest's default import mode needs each test module's basename to be unique across folders."""
    names = [p.name for p in (SRC.parents[1] / "tests").rglob("test_*.py")]
    assert sorted({n for n in names if names.count(n) > 1}) == []


# Private things (a leading underscore, not a dunder) belong to their room: a room is one of ROOMS or the
# ``testing`` module, and everything else is the SDK core. The core's top-level modules (``glmkit._errors``,
# ``glmkit._config``...) are the floor every room stands on; what is private inside a package or a module is
# its room's own, and a private attribute read through another object belongs to the module that defines it
# (in the core: to the core). Another room gets a public face instead.
PRIVATE_ROOMS = ROOMS | {"testing"}
# Underscored names that are public API where they live.
PUBLIC_UNDERSCORED = {"sys._getframe"}  # documented in ``sys``: how ``@tool`` finds the caller's namespace


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _room(module: str) -> str:
    part = _part(module)
    return part if part in PRIVATE_ROOMS else "core"


def _imported(path: Path, tree: ast.AST) -> list[tuple[int, list[str]]]:
    """(line, dotted parts) of each name a file imports, a relative import made absolute."""
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = (node.module or "").split(".") if node.module else []
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = [*up, *base]
            found += [(node.lineno, [*base, alias.name]) for alias in node.names]
    return found


def _defined(tree: ast.AST) -> set[str]:
    """The names a module defines: functions, classes, assigned names and attributes."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def _trees() -> dict[Path, ast.AST]:
    return {p: ast.parse(p.read_text(encoding="utf-8")) for p in _files()}


def test_no_room_imports_another_rooms_private_module_or_name() -> None:
    wrong = []
    for path, tree in _trees().items():
        here = _room(_module_name(path))
        for line, parts in _imported(path, tree):
            where = f"{path.relative_to(SRC)}:{line} imports {'.'.join(parts)}"
            if parts[0] != "glmkit":
                if any(_private(p) for p in parts[1:]):
                    wrong.append(where + " (a private part of another library)")
                continue
            first = next((i for i, p in enumerate(parts) if i >= 2 and _private(p)), None)
            if first is not None and _room(".".join(parts[:first])) != here:
                wrong.append(where)
    assert wrong == [], "\n".join(wrong)


def test_no_private_attribute_is_read_through_an_object_from_outside_its_module() -> None:
    trees = _trees()
    defined = {path: _defined(tree) for path, tree in trees.items()}
    core = set().union(*(names for path, names in defined.items() if _room(_module_name(path)) == "core"))
    wrong = []
    for path, tree in trees.items():
        own = core if _room(_module_name(path)) == "core" else defined[path]
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and _private(node.attr)):
                continue
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                continue
            if isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "super":
                continue
            if node.attr not in own and ast.unparse(node) not in PUBLIC_UNDERSCORED:
                wrong.append(f"{path.relative_to(SRC)}:{node.lineno} reads {ast.unparse(node)}")
    assert wrong == [], "\n".join(wrong)


def _runtime_imports(path: Path, tree: ast.AST, modules: set[str]) -> set[str]:
    """The glmkit modules a file imports when it runs (at top level or in functions; not for type checkers)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            for _, parts in _imported(path, ast.Module(body=[node], type_ignores=[])):
                name = ".".join(parts)
                found.add(
                    name if name in modules else ".".join(parts[:-1]) if isinstance(node, ast.ImportFrom) else name
                )
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found & modules - {_module_name(path)}


def test_no_import_cycles() -> None:
    trees = _trees()
    modules = {_module_name(p) for p in trees}
    graph = {_module_name(p): _runtime_imports(p, tree, modules) for p, tree in trees.items()}
    cycles = []
    for start in sorted(graph):
        seen, todo = set(), list(graph[start])
        while todo:
            name = todo.pop()
            if name == start:
                cycles.append(start)
                break
            if name not in seen:
                seen.add(name)
                todo.extend(graph[name])
    assert cycles == [], f"modules that import themselves through others: {cycles}"


# Limits from STYLE §1 (measured as an ast walk: end_lineno - lineno + 1). Over-limit files still being split;
# each entry goes when its split lands (a stale entry fails the test too).
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
STILL_OVER: dict[str, str] = {}


def _sizes() -> dict[str, int]:
    """Every module and function over its limit: ``path`` or ``path:function`` -> lines."""
    over = {}
    for path, tree in _trees().items():
        name = str(path.relative_to(SRC))
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_MODULE_LINES:
            over[name] = lines
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    over[f"{name}:{node.name}"] = length
    return over


def test_modules_and_functions_stay_small() -> None:
    over = _sizes()
    assert {k: v for k, v in over.items() if k not in STILL_OVER} == {}
    assert sorted(set(STILL_OVER) - set(over)) == [], "split: drop these from STILL_OVER"
