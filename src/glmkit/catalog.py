"""The model catalog (``data/models.toml``) as typed records, and the per-model request rules."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

from glmkit._errors import InputError

__all__ = ["ModelInfo", "all_models", "default_model", "get_model", "normalize_model_id"]

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*(\[1m\])?$")


@dataclass(frozen=True)
class ModelInfo:
    """What glmkit knows of one model."""

    id: str
    kind: str = "chat"
    released: str | None = None
    context: int = 0
    max_output: int = 0
    default_output: int = 0
    thinking: str = "none"
    efforts: tuple[str, ...] = ()
    effort_map: dict[str, str] = field(default_factory=dict)
    modalities: tuple[str, ...] = ("text",)
    vision: bool = False
    plan: bool = False
    tool_stream: bool = False

    @property
    def can_disable_thinking(self) -> bool:
        """False for models that always think (the GLM-5.3 family)."""
        return self.thinking != "always"


@functools.cache
def _table() -> dict[str, ModelInfo]:
    from glmkit import data

    raw = data.load("models")["models"]
    out = {}
    for mid, row in raw.items():
        row = dict(row)
        for key in ("efforts", "modalities"):
            if key in row:
                row[key] = tuple(row[key])
        out[mid] = ModelInfo(id=mid, **row)
    return out


def all_models() -> list[ModelInfo]:
    """Every known model, newest chat models first."""
    return list(_table().values())


def default_model(slot: str = "chat") -> str:
    """The default model for a slot: chat, fast, vision, tokenizer, opus, sonnet, haiku."""
    from glmkit import data

    return str(data.load("models")["defaults"][slot])


def get_model(model_id: str) -> ModelInfo | None:
    """The record of a known model (``[1m]`` suffix ignored), or ``None``."""
    return _table().get(model_id.removesuffix("[1m]"))


def normalize_model_id(model: Any) -> str:
    """Check a model id's form and lowercase it (``GLM-4.7`` -> ``glm-4.7``); unknown ids pass through."""
    if not isinstance(model, str) or not model.strip():
        raise InputError("model must be a non-empty string such as 'glm-5.3'.", hint="`glm models` lists them.")
    mid = model.strip().lower()
    if not _ID_RE.match(mid):
        raise InputError(
            f"{model!r} is not a model id: ids are lowercase letters, digits, '.', '_' and '-' (e.g. 'glm-4.7').",
            hint="`glm models` lists them.",
        )
    return mid
