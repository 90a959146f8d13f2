"""Claude Code: the env block of settings.json, Anthropic-compatible endpoint (reference §15 errata 1)."""

from __future__ import annotations

from pathlib import Path

from glmkit.setup._files import SetupError, get_value
from glmkit.setup._tool import Plan, Tool


class ClaudeCode(Tool):
    """Claude Code, which also reads ``ANTHROPIC_API_KEY`` when it is set."""

    def plan(
        self, values: dict[str, str], *, project: bool = False, mcp: bool = False, cwd: Path | None = None
    ) -> Plan:
        """The settings.json edits, and a warning when an Anthropic key would compete with the Z.AI token."""
        plan = super().plan(values, project=project, mcp=mcp, cwd=cwd)
        path = self.config_path(values, project=project, cwd=cwd)
        try:
            text = path.read_text(encoding="utf-8") if path is not None and path.exists() else ""
            env = get_value(text, "json", ("env",)) if text.strip() else None
        except (OSError, UnicodeDecodeError, SetupError):
            env = None  # render() reports an unreadable file with the full message
        if isinstance(env, dict) and env.get("ANTHROPIC_API_KEY"):
            plan.notes.append(
                f"{path} also sets env.ANTHROPIC_API_KEY: Claude Code then sends that key (x-api-key) as well; "
                "remove it so only ANTHROPIC_AUTH_TOKEN reaches Z.AI."
            )
        return plan


TOOL = ClaudeCode("claude-code")
