"""Codex: a Responses-API model provider in ~/.codex/config.toml; the key comes from ZAI_API_KEY."""

from __future__ import annotations

from pathlib import Path

from glmkit.setup._tool import Plan, Tool


class Codex(Tool):
    """Codex, which reads its key from the variable named by ``env_key``."""

    def plan(
        self, values: dict[str, str], *, project: bool = False, mcp: bool = False, cwd: Path | None = None
    ) -> Plan:
        """The config.toml edits, and a note on where the key comes from."""
        plan = super().plan(values, project=project, mcp=mcp, cwd=cwd)
        plan.notes.append(
            'Codex reads the key from ZAI_API_KEY: start it with `glm run codex`, or `eval "$(glm env codex)"` first.'
        )
        return plan


TOOL = Codex("codex")
