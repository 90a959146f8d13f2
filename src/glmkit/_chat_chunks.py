"""A chat stream's chunks read fast: most of them differ from the one before only in the delta's text.

A GLM stream sends thousands of chunks like ``{"id":"…","created":…,"object":"chat.completion.chunk",
"model":"glm-4.7","choices":[{"index":0,"delta":{"content":"word"}}]}``: the bytes before ``"delta":`` are the same
in every one, and only a JSON string changes. ``ChatChunks.read`` parses a chunk fully (``glmkit._json.loads``)
until it meets one whose meaning is exactly "one choice, this text" (no error, no usage, no finish reason, nothing
after the delta); it keeps that chunk's bytes up to the delta as the stream's prefix. A later chunk that starts with
those same bytes and ends in a delta of one string field (``content`` or ``reasoning_content``, optionally after
``"role":"assistant"``) is read from that tail alone (the string by the C scanner ``json.loads`` uses) and comes
back as the pair ``(field, text)``: all that the consumers (the gateway's Anthropic and Responses translators) read
of such a chunk. Any other chunk goes the full way and comes back as its JSON value, with ``json.loads``'s errors.
"""

from __future__ import annotations

from _json import scanstring  # the C scanner json.loads uses for strings
from typing import Any

from glmkit._json import loads

__all__ = ["ChatChunks"]

_DELTA = b'"delta":'
_ROLE = b'{"role":"assistant","'
_CONTENT = b'content":"'
_REASONING = b'reasoning_content":"'
_CLOSE = "}}]}"  # the delta, the choice, the choices and the chunk


def _tail(data: bytes, at: int) -> tuple[str, str] | None:
    """``(field, text)`` if ``data[at:]`` is a delta object of one string field and the closing brackets."""
    if data.startswith(_ROLE, at):
        at += len(_ROLE)
    elif data.startswith(b'{"', at):
        at += 2
    else:
        return None
    if data.startswith(_CONTENT, at):
        field, at = "content", at + len(_CONTENT)
    elif data.startswith(_REASONING, at):
        field, at = "reasoning_content", at + len(_REASONING)
    else:
        return None
    try:
        rest = data[at:].decode()
        text, end = scanstring(rest, 0)
    except ValueError:  # not UTF-8, a control character, a bad escape, no closing quote: the full path says why
        return None
    return (field, text) if rest[end:] == _CLOSE else None


class ChatChunks:
    """One stream's chunk reader: ``read(data)`` is ``json.loads(data)``, or ``(field, text)`` for a plain delta."""

    __slots__ = ("_prefix",)

    def __init__(self) -> None:
        self._prefix: bytes | None = None

    def read(self, data: bytes) -> Any:
        """The chunk (the ``data`` of one SSE event) as JSON, or ``(field, text)`` (a ``tuple``) for a delta of one
        text field whose other bytes repeat the stream's prefix."""
        prefix = self._prefix
        if prefix is not None and data.startswith(prefix):
            pair = _tail(data, len(prefix))
            return pair if pair is not None else loads(data)  # the prefix is known already: nothing to learn
        chunk = loads(data)
        self._learn(data, chunk)
        return chunk

    def _learn(self, data: bytes, chunk: Any) -> None:
        """Keep ``data``'s bytes up to its delta as the prefix if reading its tail alone means the same as ``chunk``."""
        at = data.rfind(_DELTA)
        if at < 0 or not isinstance(chunk, dict) or "error" in chunk or chunk.get("usage"):
            return
        choices = chunk.get("choices")
        if not isinstance(choices, list) or len(choices) != 1 or not isinstance(choices[0], dict):
            return
        choice = choices[0]
        delta = choice.get("delta")
        pair = _tail(data, at + len(_DELTA))
        if choice.get("finish_reason") or not isinstance(delta, dict) or pair is None:
            return
        field, text = pair
        if delta.get(field) == text and set(delta) <= {"role", field}:
            self._prefix = data[: at + len(_DELTA)]
