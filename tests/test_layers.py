"""Who may import whom (STYLE §1): the wire types and parsers stand alone, the core never reaches into the
rooms (cli, gateway, mcp_server, emulator, setup), the rooms do not import one another, and the emulator
never shares the client's code (sharing its transport, it could share its bugs)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "glmkit"
ROOMS = {"cli", "gateway", "mcp_server", "emulator", "setup"}
CLIENT_SIDE = {"_client", "_transport", "_flows", "_auth", "resources", "tools", "_remote_mcp", "testing"}
STANDALONE = {"types", "_errors", "_sse", "_fileio"}


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
        allowed = {"types", "_errors", "_fileio", "data"} if here == "types" else {"data"}
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
