"""Tokenizer: ``POST {base}/tokenizer`` (reference §9)."""

from __future__ import annotations

from typing import Any, Required

from glmkit.types._base import Endpoint
from glmkit.types._model import Model
from glmkit.types._params import RequestOptions

TOKENIZER = Endpoint("POST", "/tokenizer", "general")
TOKENIZER_MODELS = ("glm-4.6", "glm-4.6v", "glm-4.5")


class TokenizerParams(RequestOptions, total=False):
    model: Required[str]
    """``glm-4.6`` (default), ``glm-4.6v`` or ``glm-4.5``; counts for newer models are approximations."""
    messages: Required[list[Any]]
    tools: list[Any]
    request_id: str
    user_id: str


class TokenCountParams(RequestOptions, total=False):
    """``client.tokenizer.count(text, ...)``: the tokenizer request with ``messages`` optional (``text`` instead)."""

    model: str
    """``glm-4.6`` (default), ``glm-4.6v`` or ``glm-4.5``."""
    messages: list[Any]
    tools: list[Any]
    request_id: str
    user_id: str


class TokenizerUsage(Model):
    prompt_tokens: int = 0
    image_tokens: int | None = None
    video_tokens: int | None = None
    total_tokens: int = 0


class TokenizerResult(Model):
    id: str | None = None
    created: int | None = None
    request_id: str | None = None
    usage: TokenizerUsage
