"""``glm setup``: point coding tools at Z.AI (or at ``glm serve``) by merging their real config files.

One module per tool (``claude_code.py``, ``cursor.py``, ...) exposes ``TOOL``; their facts live in
``data/tools.toml``. ``_files`` edits JSON/TOML/YAML in place, ``_backups`` backs up, writes and undoes.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from glmkit.setup._tool import Tool

__all__ = ["ALIASES", "TOOL_MODULES", "all_tools", "get_tool", "resolve_name"]

# tool id -> module; the order is the order of `glm setup --list`.
TOOL_MODULES = {
    "claude-code": "claude_code",
    "cursor": "cursor",
    "cline": "cline",
    "roo-code": "roo_code",
    "kilo-code": "kilo_code",
    "opencode": "opencode",
    "crush": "crush",
    "goose": "goose",
    "codex": "codex",
    "droid": "droid",
}
# Names people type (program names, short forms).
ALIASES = {
    "claude": "claude-code",
    "claude_code": "claude-code",
    "roo": "roo-code",
    "kilo": "kilo-code",
    "factory-droid": "droid",
    "factory": "droid",
}


def resolve_name(name: str) -> str:
    """The tool id for a name or alias; ``SetupError`` naming the known tools otherwise."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key not in TOOL_MODULES:
        from glmkit.setup._files import SetupError

        raise SetupError(f"Unknown tool {name!r}.", hint="Known tools: " + ", ".join(TOOL_MODULES) + ".")
    return key


def get_tool(name: str) -> Tool:
    """The ``Tool`` for a name or alias."""
    tool_id = resolve_name(name)
    module = importlib.import_module(f"glmkit.setup.{TOOL_MODULES[tool_id]}")
    return module.TOOL  # type: ignore[no-any-return]


def all_tools() -> list[Tool]:
    """Every known tool, in list order."""
    return [get_tool(t) for t in TOOL_MODULES]
