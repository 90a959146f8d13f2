"""``glm setup``: point coding tools at Z.AI (or at ``glm serve``) by merging their real config files.

One module per tool (``claude_code.py``, ``cursor.py``, ...) exposes ``TOOL``; their facts live in
``data/tools.toml``. ``_files`` edits JSON/TOML/YAML in place, ``_backups`` backs up, writes and undoes,
``_status`` reads what a tool's files say now. This module is the face the rest of glmkit uses.
"""

from __future__ import annotations

import importlib

from glmkit.setup._backups import Change, apply_changes, diff_text, render, undo
from glmkit.setup._files import get_value
from glmkit.setup._status import ToolStatus, status_values, tool_status
from glmkit.setup._tool import Tool, gateway_url, target_values, tools_data
from glmkit.setup.errors import SetupError

__all__ = [
    "ALIASES",
    "TOOL_MODULES",
    "Change",
    "SetupError",
    "Tool",
    "ToolStatus",
    "all_tools",
    "apply_changes",
    "diff_text",
    "gateway_url",
    "get_tool",
    "get_value",
    "render",
    "resolve_name",
    "status_values",
    "target_values",
    "tool_status",
    "tools_data",
    "undo",
]

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
