"""Listing models: ``GET {chat base}/models`` (reference §3.4; shape beyond ``data[].id`` is UNVERIFIED)."""

from __future__ import annotations

from glmkit.types._base import Endpoint
from glmkit.types._model import Model

LIST_MODELS = Endpoint("GET", "/models", "chat")


class ModelEntry(Model):
    id: str
    object: str = "model"
    created: int | None = None
    owned_by: str | None = None


class ModelList(Model):
    object: str = "list"
    data: list[ModelEntry] = []
