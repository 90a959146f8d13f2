"""The OpenAI-style routes: ``/v1/chat/completions`` and ``/v1/models``, passed through to the coding endpoint.

Bodies go up as the client wrote them (GLM's extra fields such as ``thinking``, ``tool_stream`` or
``reasoning_effort`` intact) with only the model name mapped, and come back as the upstream wrote them,
plus the ``object`` field OpenAI clients expect when the upstream leaves it out: the live API sends it since
2026 (live evidence §1), 2025 recordings lack it, and the ``openai`` package's ``.stream()`` helper drops every
chunk whose ``object`` is not ``chat.completion.chunk``. Pure functions.
"""

from __future__ import annotations

from typing import Any

from glmkit._json import dumpb as _DUMPB
from glmkit._json import loads as json_loads
from glmkit.gateway.anthropic_check import TranslationError

__all__ = ["ChunkObjects", "anthropic_models", "fix_completion", "stream_usage", "to_upstream"]


def to_upstream(body: Any, config: Any) -> dict[str, Any]:
    """The body to send upstream: the client's, with a Claude name or ``[1m]`` id mapped to a GLM model.

    A body that is not a chat request raises ``TranslationError`` (a 400 naming the field)."""
    if not isinstance(body, dict):
        raise TranslationError("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise TranslationError("model: required, a model id such as 'glm-5.3'.")
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        raise TranslationError("messages: required, a non-empty list.")
    return {**body, "model": config.map_model(model)}  # a copy: the pre-flight may repair it


def fix_completion(content: bytes) -> bytes:
    """Add ``"object": "chat.completion"`` when the upstream left it out; otherwise the bytes unchanged."""
    if b'"object"' in content[:200]:
        return content
    data = json_loads(content)
    if isinstance(data, dict) and "object" not in data:
        data = {"object": "chat.completion", **data}
    return _DUMPB(data)


class ChunkObjects:
    """Adds ``"object": "chat.completion.chunk"`` to the chunks of an SSE stream that lack it.

    ``feed(bytes)`` returns the bytes to relay (complete events only, until the first chunk is seen); when the
    first chunk already carries ``object`` (the live API today) every later byte is relayed as it came.
    ``flush()`` returns what is left at the end.
    """

    _TAG = b'"object":"chat.completion.chunk",'

    def __init__(self) -> None:
        self.relay: bool | None = None  # None: not decided before the first chunk
        self.pending = b""

    def feed(self, raw: bytes) -> bytes:
        """The bytes to send on for ``raw``."""
        if self.relay:
            return raw
        self.pending += raw
        cut = self.pending.rfind(b"\n\n")
        if cut < 0:
            return b""
        ready, self.pending = self.pending[: cut + 2], self.pending[cut + 2 :]
        if self.relay is None:
            first = next((e for e in ready.split(b"\n\n") if b'"choices"' in e), None)
            if first is None:
                return ready
            self.relay = b'"object"' in first
            if self.relay:
                ready, self.pending = ready + self.pending, b""
                return ready
        return self._tag(ready)

    def flush(self) -> bytes:
        """What is left (an unfinished last event), tagged like the rest."""
        rest, self.pending = self.pending, b""
        return rest if self.relay else self._tag(rest)

    def _tag(self, events: bytes) -> bytes:
        out = []
        for event in events.split(b"\n\n"):
            at = event.find(b"{", event.find(b"data:"))
            if b"data:" in event and at >= 0 and b'"choices"' in event and b'"object"' not in event:
                event = event[: at + 1] + self._TAG + event[at + 1 :]
            out.append(event)
        return b"\n\n".join(out)


def stream_usage(tail: bytes) -> dict[str, Any] | None:
    """The ``usage`` of a GLM stream, read from its last bytes (it rides on the final chunk only, §2.6)."""
    at = tail.rfind(b'"usage"')
    if at < 0:
        return None
    start = tail.rfind(b"data:", 0, at)
    end = tail.find(b"\n", at)
    if start < 0:
        return None
    try:
        chunk = json_loads(tail[start + 5 : end if end >= 0 else None])
    except ValueError:
        return None
    usage = chunk.get("usage") if isinstance(chunk, dict) else None
    return usage if isinstance(usage, dict) else None


def anthropic_models(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """``GET /v1/models`` for Anthropic clients (Claude Code's gateway model discovery): the mapped names."""
    data = [
        {
            "type": "model",
            "id": name,
            "display_name": f"{target} via glmkit" + ("" if name == f"claude-{target}" else f" (as {name})"),
            "created_at": "2026-01-01T00:00:00Z",
        }
        for name, target in pairs
    ]
    return {
        "data": data,
        "has_more": False,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }
