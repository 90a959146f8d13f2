"""Codex: a Responses-API model provider in ~/.codex/config.toml; the key comes from ZAI_API_KEY.

Codex 0.171 knows nothing of GLM models: without a catalog entry it warns "Model metadata ... not found",
falls back to defaults and offers no ``apply_patch`` tool, so it cannot edit files with patches. Z.AI's
Codex page has users write a ``models.json`` catalog (reference §14.6, keys UNVERIFIED there); glmkit writes
``~/.codex/glmkit-models.json`` with the fields Codex 0.171 requires (found by running it: it names each
missing field) and points ``model_catalog_json`` at it. ``apply_patch`` is the free-form (``custom``) tool,
which the gateway and the emulator turn into a function GLM can call; whether Z.AI's own Responses endpoint
takes ``custom`` tools is UNVERIFIED.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from glmkit.setup._tool import Edit, Plan, Tool, expand

CATALOG = "~/.codex/glmkit-models.json"
INSTRUCTIONS = (
    "You are a coding agent working in the user's workspace. Read files and run commands with the shell tool, "
    "edit files with apply_patch, and keep the user informed briefly. Finish the task before you stop."
)


def catalog_entry(model: str) -> dict[str, Any]:
    """The Codex catalog entry of a GLM model (context, reasoning levels and modalities from glmkit's catalog)."""
    from glmkit.catalog import get_model

    info = get_model(model)
    efforts = list(info.efforts) if info is not None and info.efforts else []
    levels = [{"effort": e, "description": f"GLM reasoning effort {e}"} for e in efforts]
    # reference §14.6: Z.AI's catalog defaults GLM-5.3 to "max"
    default = "max" if "max" in efforts else (efforts[-1] if efforts else None)
    vision = info is not None and info.vision
    return {
        "slug": model,
        "display_name": model.upper(),
        "description": f"{model} on the GLM Coding Plan (glmkit)",
        "base_instructions": INSTRUCTIONS,
        "apply_patch_tool_type": "freeform",
        "shell_type": "shell_command",
        "visibility": "list",
        "supported_in_api": True,
        "priority": 1,
        "context_window": (info.context if info is not None and info.context else 131072),
        "default_reasoning_level": default,
        "supported_reasoning_levels": levels,
        "input_modalities": ["text", "image"] if vision else ["text"],
        "supports_parallel_tool_calls": True,
        "support_verbosity": False,
        "experimental_supported_tools": [],
        "truncation_policy": {"mode": "tokens", "limit": 10000},
    }


class Codex(Tool):
    """Codex, which reads its key from the variable named by ``env_key`` and its models from a catalog file."""

    def plan(
        self, values: dict[str, str], *, project: bool = False, mcp: bool = False, cwd: Path | None = None
    ) -> Plan:
        """The config.toml edits, the model catalog, and a note on where the key comes from."""
        plan = super().plan(values, project=project, mcp=mcp, cwd=cwd)
        config = next((e for e in plan.edits if e.role == "config"), None)
        if config is not None:
            catalog = expand(CATALOG, values)
            config.sets.append((("model_catalog_json",), str(catalog)))
            plan.edits.append(Edit(catalog, "json", [(("models",), [catalog_entry(values["model"])])], role="settings"))
        plan.notes.append(
            'Codex reads the key from ZAI_API_KEY: start it with `glm run codex`, or `eval "$(glm env codex)"` first.'
        )
        return plan


TOOL = Codex("codex")
