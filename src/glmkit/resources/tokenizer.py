"""``client.tokenizer``: count tokens with Z.AI's tokenizer."""

from __future__ import annotations

from typing import Any

from typing_extensions import Unpack

from glmkit._errors import InputError
from glmkit._resource import AsyncResource, SyncResource
from glmkit._transport import Call, split_options, with_options
from glmkit.types.tokenizer import TOKENIZER, TOKENIZER_MODELS, TokenCountParams, TokenizerParams, TokenizerResult


def tokenizer_call(params: dict[str, Any]) -> Call[TokenizerResult]:
    """The ``Call`` counting tokens; plain text becomes one user message, other models count as glm-4.6."""
    params = dict(params)
    options = split_options(params)
    text = params.pop("text", None)
    if text is not None:
        params["messages"] = [{"role": "user", "content": text}]
    messages = params.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InputError("Give text=... or a non-empty messages list to count.")
    model = str(params.get("model") or "glm-4.6").lower()
    if model not in TOKENIZER_MODELS:
        model = "glm-4.6v" if _has_media(messages) else "glm-4.6"  # the endpoint only knows these (reference §9)
    params["model"] = model
    return with_options(Call(TOKENIZER, json=params, parse=TokenizerResult.model_validate_json), options)


def _has_media(messages: list[Any]) -> bool:
    return any(
        isinstance(m, dict)
        and isinstance(m.get("content"), list)
        and any(p.get("type") != "text" for p in m["content"])
        for m in messages
    )


class Tokenizer(SyncResource):
    """``client.tokenizer``."""

    def create(self, **params: Unpack[TokenizerParams]) -> TokenizerResult:
        """Count the tokens of messages (``POST /tokenizer``)."""
        return self._client._request(tokenizer_call(dict(params)))

    def count(self, text: str | None = None, **params: Unpack[TokenCountParams]) -> int:
        """The prompt-token count of a text (or ``messages=``)."""
        body: dict[str, Any] = dict(params)
        if text is not None:
            body["text"] = text
        return self._client._request(tokenizer_call(body)).usage.total_tokens


class AsyncTokenizer(AsyncResource):
    """``client.tokenizer`` on ``AsyncClient``."""

    async def create(self, **params: Unpack[TokenizerParams]) -> TokenizerResult:
        """Count the tokens of messages (``POST /tokenizer``)."""
        return await self._client._request(tokenizer_call(dict(params)))

    async def count(self, text: str | None = None, **params: Unpack[TokenCountParams]) -> int:
        """The prompt-token count of a text (or ``messages=``)."""
        body: dict[str, Any] = dict(params)
        if text is not None:
            body["text"] = text
        return (await self._client._request(tokenizer_call(body))).usage.total_tokens
