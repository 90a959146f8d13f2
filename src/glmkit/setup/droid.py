"""Factory Droid: glmkit's entry in the customModels array of ~/.factory/settings.json, made the session default.

Droid names a custom model ``custom:<displayName with blanks as dashes>-<n>``, ``n`` counting earlier entries
of the same display name; glmkit's entry is the one whose displayName ends in ``(glmkit)``. It is replaced in
place (or appended), every other entry is kept as it was, and ``sessionDefaultSettings.model`` names it, so
``droid exec`` uses it without ``-m``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from glmkit.setup._files import SetupError, get_value
from glmkit.setup._tool import Plan, Tool, fill

MARK = "(glmkit)"


class Droid(Tool):
    """Factory Droid, whose models are elements of an array."""

    def plan(
        self, values: dict[str, str], *, project: bool = False, mcp: bool = False, cwd: Path | None = None
    ) -> Plan:
        """The settings.json edits: the merged customModels array and the default model."""
        if project and not mcp:
            raise SetupError(
                "Factory Droid reads custom models only from ~/.factory/settings.json.",
                hint="Run `glm setup droid` without --project.",
            )
        plan = super().plan(values, project=project, mcp=mcp, cwd=cwd)
        config = plan.edits[0] if plan.edits and plan.edits[0].role == "config" else None
        if config is not None:
            entry = fill(self.facts["config"]["entry"], values)
            config.sets.insert(0, (("customModels",), merged_models(config.path, entry)))
        return plan


def merged_models(path: Path, entry: dict[str, Any]) -> list[Any]:
    """The file's customModels with glmkit's entry replaced (or appended); other entries untouched."""
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        current = get_value(text, "json", ("customModels",)) if text.strip() else None
    except (OSError, UnicodeDecodeError, SetupError):
        current = None  # render() reports an unreadable file with the full message
    models = list(current) if isinstance(current, list) else []
    ours = [i for i, m in enumerate(models) if isinstance(m, dict) and str(m.get("displayName", "")).endswith(MARK)]
    if ours:
        models[ours[0]] = {**models[ours[0]], **entry}  # keep fields the user added (maxOutputTokens, ...)
        models = [m for i, m in enumerate(models) if i not in ours[1:]]
    else:
        models.append(entry)
    return models


TOOL = Droid("droid")
