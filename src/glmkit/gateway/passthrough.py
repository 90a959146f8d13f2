"""Fixes applied to answers of Z.AI's own Anthropic-compatible endpoint (``passthrough`` mode), reference §17.

That endpoint reports zero usage in ``message_start`` (so Claude Code shows no context use), sends float
usage after cache hits, and may open empty text blocks. ``fix_message`` mends a whole message;
``PassthroughFixer`` mends the event stream, re-encoding only the events it changes (a delta whose index
needs no shift is relayed as the bytes that came in).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from glmkit._json import loads as json_loads
from glmkit._sse import Event
from glmkit.gateway.anthropic_check import TranslationError
from glmkit.gateway.anthropic_response import Plan, as_int
from glmkit.gateway.anthropic_stream import frame

__all__ = ["PassthroughFixer", "fix_message", "fix_usage", "fold_system_messages"]


def fold_system_messages(body: dict[str, Any]) -> dict[str, Any]:
    """``role: system`` messages moved to the end of the top-level ``system`` (their blocks, ``cache_control`` kept).

    Claude Code 2.1.3xx sends environment facts as a system message inside ``messages``. Whether Z.AI's
    Anthropic endpoint takes that role is UNVERIFIED (the emulator, choosing caution, refuses it as the
    Messages API did before ``SystemMessageParam``); the top-level ``system`` it takes for certain, and the
    text keeps its meaning there: instructions from the operator, not words of the user.
    """
    messages = body["messages"]
    if not any(m.get("role") == "system" for m in messages):
        return body
    system = body.get("system")
    blocks: list[Any] = [{"type": "text", "text": system}] if isinstance(system, str) and system else list(system or [])
    kept = []
    for m in messages:
        if m.get("role") != "system":
            kept.append(m)
            continue
        content = m.get("content")
        blocks.extend([{"type": "text", "text": content}] if isinstance(content, str) else content or [])
    if not kept:
        raise TranslationError("messages: needs a user message besides the system messages.")
    return {**body, "system": [b for b in blocks if b.get("text")], "messages": kept}


def fix_usage(usage: Any, plan: Plan, *, estimate: bool) -> dict[str, Any]:
    """Usage with integer counts; a zero input count replaced by the gateway's estimate when ``estimate``."""
    out: dict[str, Any] = dict(usage) if isinstance(usage, dict) else {}
    for key, value in list(out.items()):
        if key.endswith("_tokens") and value is not None:
            out[key] = as_int(value)
    out.setdefault("output_tokens", 0)
    if estimate and not out.get("input_tokens"):
        out["input_tokens"] = plan.input_tokens
    return out


def fix_message(message: dict[str, Any], plan: Plan) -> dict[str, Any]:
    """A whole Anthropic message from the upstream, mended: integer usage, no empty text blocks. The same object
    when there was nothing to mend (its bytes may then be relayed as they came)."""
    given = message.get("content")
    content = [b for b in given or [] if not (isinstance(b, dict) and b.get("type") == "text" and not b.get("text"))]
    usage = fix_usage(message.get("usage"), plan, estimate=True)
    if isinstance(given, list) and len(content) == len(given) and _same(usage, message.get("usage")):
        return message
    return {**message, "content": content, "usage": usage}


def _same(a: Any, b: Any) -> bool:
    """Equal, types included (``1.0`` mended to ``1`` is a change)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(v, b[k]) for k, v in a.items())
    return bool(a == b)


class PassthroughFixer:
    """Mends an upstream Anthropic event stream on the fly.

    ``feed(event, out)`` appends the frames to relay and returns ``False`` after ``message_stop`` or ``error``.
    With ``started=True`` the gateway already sent its own ``message_start`` (while the request was queued),
    so the upstream's is dropped.
    """

    def __init__(self, plan: Plan, *, started: bool = False) -> None:
        self.plan = plan
        self.started = started
        self.shift = 0
        self.deferred: int | None = None
        self.deferred_block: dict[str, Any] | None = None
        self.stop_reason: str | None = None
        self.usage: dict[str, Any] = {}
        self.error: dict[str, Any] | None = None
        self.complete = False
        self.first_content = False

    def _emit(self, name: str, data: dict[str, Any], out: list[bytes]) -> None:
        out.append(frame(name, data))

    def feed(self, event: Event, out: list[bytes]) -> bool:
        """Relay one upstream event (mended); ``False`` once the message is over."""
        name = event.event or "message"
        if name == "content_block_delta" and self.shift == 0 and self.deferred is None:
            self.first_content = True  # the common case, relayed as the bytes that came in
            out.append(b"event: content_block_delta\ndata: " + event.data + b"\n\n")
            return True
        if name == "ping":
            out.append(frame("ping", {"type": "ping"}))
            return True
        data = json_loads(event.data)
        mend = self._MENDERS.get(name)
        if mend is not None:
            mend(self, data, out)
        elif name == "message_stop":
            self.complete = True
            out.append(frame(name, data))
            return False
        elif name == "error":
            self.error = data.get("error") if isinstance(data.get("error"), dict) else {"message": str(data)}
            out.append(frame(name, data))
            return False
        else:
            out.append(frame(name, data))
        return True

    def _moved(self, data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "index": data.get("index", 0) - self.shift}

    def _message_start(self, data: dict[str, Any], out: list[bytes]) -> None:
        if not self.started:
            message = dict(data.get("message") or {})
            message["usage"] = fix_usage(message.get("usage"), self.plan, estimate=True)
            self._emit("message_start", {**data, "message": message}, out)
            self.started = True

    def _block_start(self, data: dict[str, Any], out: list[bytes]) -> None:
        block = data.get("content_block") or {}
        if block.get("type") == "text" and not block.get("text"):
            self.deferred, self.deferred_block = data.get("index"), block  # opened once it has text
        else:
            self._emit("content_block_start", self._moved(data), out)

    def _block_delta(self, data: dict[str, Any], out: list[bytes]) -> None:
        self.first_content = True
        if self.deferred is not None and data.get("index") == self.deferred:
            delta = data.get("delta") or {}
            if delta.get("type") == "text_delta" and not delta.get("text"):
                return
            start = {"type": "content_block_start", "index": self.deferred - self.shift}
            self._emit("content_block_start", {**start, "content_block": self.deferred_block}, out)
            self.deferred = None
        self._emit("content_block_delta", self._moved(data), out)

    def _block_stop(self, data: dict[str, Any], out: list[bytes]) -> None:
        if data.get("index") == self.deferred:  # an empty text block: dropped, later blocks move down
            self.deferred, self.deferred_block = None, None
            self.shift += 1
        else:
            self._emit("content_block_stop", self._moved(data), out)

    def _message_delta(self, data: dict[str, Any], out: list[bytes]) -> None:
        self.usage = fix_usage(data.get("usage"), self.plan, estimate=False)
        self.stop_reason = (data.get("delta") or {}).get("stop_reason")
        self._emit("message_delta", {**data, "usage": self.usage}, out)

    _MENDERS: ClassVar[dict[str, Callable[[PassthroughFixer, dict[str, Any], list[bytes]], None]]] = {
        "message_start": _message_start,
        "content_block_start": _block_start,
        "content_block_delta": _block_delta,
        "content_block_stop": _block_stop,
        "message_delta": _message_delta,
    }
