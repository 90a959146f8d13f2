"""Is a tool set up, and does it point where it should? (``glm setup --list`` and ``glm doctor``.)"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from glmkit.setup._files import SetupError, get_value
from glmkit.setup._tool import Tool, gateway_url, target_values

__all__ = ["ToolStatus", "status_values", "tool_status"]


@dataclass
class ToolStatus:
    """What glmkit found in one tool's files."""

    id: str
    name: str
    installed: bool
    state: str  # configured | not-configured | partial | other-key | manual | unreadable
    target: str | None = None  # z.ai | gateway
    file: str | None = None
    problems: list[str] = field(default_factory=list)
    mcp: bool | None = None  # glmkit registered as an MCP server (None: the tool has no MCP file)
    mcp_command: str | None = None  # the program the registration starts, when the file says

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return dict(self.__dict__)


def status_values(settings: Any) -> tuple[dict[str, str], dict[str, str]]:
    """Template values for Z.AI and for the gateway, with whatever key there is (for checks, not writes)."""
    return target_values(settings), target_values(settings, gateway=gateway_url())


def _read(path: Any) -> str | None:
    try:
        return str(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise SetupError(f"cannot read {path}: {exc}") from None


def _mismatches(tool: Tool, values: dict[str, str]) -> tuple[list[str], list[str], str | None, bool]:
    """(wrong non-secret settings, wrong secret settings, first file, any setting present) against one target."""
    plan = tool.plan(values)
    wrong: list[str] = []
    wrong_secret: list[str] = []
    first: str | None = None
    present = False
    for edit in plan.edits:
        if edit.role not in ("config", "settings"):
            continue
        first = first or str(edit.path)
        text = _read(edit.path)
        for path, expected in edit.sets:
            current = get_value(text or "", edit.format, path) if text is not None else None
            present = present or current is not None
            if current == expected:
                continue
            name = "/".join(path)
            if expected == values["token"] == "":
                continue  # no key here to compare with
            if expected == values["token"]:
                wrong_secret.append(name)
            else:
                wrong.append(
                    f"{name} is {current!r}, expected {expected!r}" if current is not None else f"{name} is missing"
                )
    return wrong, wrong_secret, first, present


def tool_status(tool: Tool, direct: dict[str, str], gateway: dict[str, str]) -> ToolStatus:
    """Compare a tool's user-level files with what ``glm setup`` would write (for Z.AI or the gateway)."""
    status = ToolStatus(tool.id, tool.name, tool.installed(), "manual")
    mcp_path = tool.mcp_path(direct, project=False)
    try:
        if mcp_path is not None:
            text = _read(mcp_path)
            entry = tool.section("mcp") or {}
            found = get_value(text, entry["format"], tuple(entry["path"].split("/"))) if text else None
            status.mcp = found is not None
            if isinstance(found, dict):
                command = found.get("command") or found.get("cmd")
                status.mcp_command = str(command[0] if isinstance(command, list) and command else command or "") or None
        if tool.section("config") is None:
            return status
        results = {name: _mismatches(tool, values) for name, values in (("z.ai", direct), ("gateway", gateway))}
    except SetupError as exc:
        status.state, status.problems = "unreadable", [str(exc)]
        return status
    status.file = results["z.ai"][2]
    for target, (wrong, wrong_secret, _, _) in results.items():
        if not wrong and not wrong_secret:
            status.state, status.target = "configured", target
            return status
    wrong, wrong_secret, _, present = results["z.ai"]
    gw_wrong = results["gateway"][0]
    if not gw_wrong:  # points at the gateway with another token: the gateway decides
        status.state, status.target = "configured", "gateway"
        return status
    if not wrong:
        status.state, status.target, status.problems = (
            "other-key",
            "z.ai",
            [f"{n} differs from your key" for n in wrong_secret],
        )
        return status
    status.state = "partial" if present else "not-configured"
    status.problems = wrong if present else []
    return status
