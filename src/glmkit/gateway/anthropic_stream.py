"""GLM chunks -> the exact Anthropic event sequence, as bytes: the hot loop of the gateway.

One read per upstream chunk (``glmkit._chat_chunks``: a plain text delta is read from its tail alone); frames
are built from byte templates with ``encode_basestring`` (no models, no ``json.dumps`` of a dict per chunk). Events: ``message_start``, ``content_block_start`` /
``content_block_delta`` (``text_delta``, ``thinking_delta``, ``input_json_delta``) / ``content_block_stop``,
``message_delta`` (stop reason, integer usage), ``message_stop``, ``ping``, ``error``.
"""

from __future__ import annotations

import uuid
from json.encoder import encode_basestring as _q
from typing import Any

from glmkit._chat_chunks import ChatChunks
from glmkit._json import dumpb as _DUMPB
from glmkit._json import dumps as _DUMPS
from glmkit.gateway.anthropic_response import Plan, cut_at_stop, message_id, stop_reason_for, usage_of

__all__ = ["MESSAGE_STOP", "PING", "StreamTranslator", "error_frame", "frame", "message_start"]


def frame(event: str, data: Any) -> bytes:
    """One Anthropic SSE event (``event:`` line, compact JSON ``data:`` line)."""
    return b"event: " + event.encode() + b"\ndata: " + _DUMPB(data) + b"\n\n"


PING = frame("ping", {"type": "ping"})
MESSAGE_STOP = frame("message_stop", {"type": "message_stop"})


def error_frame(status: int, message: str, code: str | None = None) -> bytes:
    """The ``error`` event a stream ends with when something fails after the first byte."""
    from glmkit.types.anthropic import error_body

    return frame("error", error_body(status, message, code=code))


def message_start(plan: Plan, msg_id: str) -> bytes:
    """``message_start`` with the gateway's input-token estimate (Z.AI's own endpoint reports zero)."""
    message: dict[str, Any] = {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "model": plan.model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": plan.input_tokens, "output_tokens": 1},
    }
    return frame("message_start", {"type": "message_start", "message": message})


class StreamTranslator:
    """GLM chunks in, Anthropic events out.

    ``start()`` gives ``message_start``; ``feed(data, out)`` appends the frames one chunk's ``data``
    bytes produce to ``out`` and returns ``False`` once the answer is over (a stop sequence matched,
    or the upstream reported an error); ``finish()`` closes the message; ``fail()`` gives an ``error`` event.
    """

    __slots__ = (
        "_hold",
        "_max_stop",
        "_chunks",
        "_open",
        "_text_prefix",
        "_tool_index",
        "error",
        "finish_reason",
        "index",
        "msg_id",
        "output_chars",
        "plan",
        "reasoning_chars",
        "stop_sequence",
        "usage",
    )

    def __init__(self, plan: Plan, msg_id: str | None = None) -> None:
        self.plan = plan
        self.msg_id = msg_id or message_id(None)
        self.index = -1
        self._chunks = ChatChunks()
        self._open: str | None = None  # "text" | "thinking" | "tool"
        self._tool_index: int | None = None
        self._hold = ""
        self._max_stop = max((len(s) for s in plan.stop_sequences), default=0)
        self._text_prefix = b""
        self.usage: dict[str, Any] | None = None
        self.finish_reason: str | None = None
        self.stop_sequence: str | None = None
        self.error: dict[str, Any] | None = None
        self.output_chars = 0
        self.reasoning_chars = 0

    def start(self) -> bytes:
        """The ``message_start`` event."""
        return message_start(self.plan, self.msg_id)

    # -- blocks

    def _close(self, out: list[bytes]) -> None:
        if self._open is None:
            return
        out.append(b'event: content_block_stop\ndata: {"type":"content_block_stop","index":%d}\n\n' % self.index)
        self._open = None
        self._tool_index = None

    def _flush_hold(self, out: list[bytes]) -> None:
        if self._hold:
            held, self._hold = self._hold, ""
            self._emit_text(held, out)

    def _begin(self, kind: str, block: bytes, out: list[bytes]) -> bytes:
        if kind != "text":
            self._flush_hold(out)
        self._close(out)
        self.index += 1
        self._open = kind
        i = self.index
        out.append(
            b'event: content_block_start\ndata: {"type":"content_block_start","index":%d,"content_block":%s}\n\n'
            % (i, block)
        )
        return b'event: content_block_delta\ndata: {"type":"content_block_delta","index":%d,"delta":' % i

    def _emit_text(self, text: str, out: list[bytes]) -> None:
        # the text block opens with its first non-empty text, so a stop sequence at the start leaves no empty block
        if self._open != "text":
            head = self._begin("text", b'{"type":"text","text":""}', out)
            self._text_prefix = head + b'{"type":"text_delta","text":'
        out.append(self._text_prefix + _q(text).encode() + b"}}\n\n")

    def _text(self, text: str, out: list[bytes]) -> bool:
        self.output_chars += len(text)
        if not self._max_stop:
            self._emit_text(text, out)
            return True
        buf = self._hold + text
        cut, seq = cut_at_stop(buf, self.plan.stop_sequences)
        if seq is not None:
            self._hold = ""
            if cut:
                self._emit_text(cut, out)
            self.stop_sequence = seq
            return False
        keep = self._max_stop - 1
        emit, self._hold = (buf[:-keep], buf[-keep:]) if keep and len(buf) > keep else ("", buf) if keep else (buf, "")
        if emit:
            self._emit_text(emit, out)
        return True

    def _tool(self, call: dict[str, Any], out: list[bytes]) -> None:
        idx = call.get("index", 0)
        fn = call.get("function") or {}
        if self._open != "tool" or (idx != self._tool_index and (call.get("id") or fn.get("name"))):
            block: dict[str, Any] = {
                "type": "tool_use",
                "id": call.get("id") or f"toolu_{uuid.uuid4().hex[:24]}",
                "name": fn.get("name") or "",
                "input": {},
            }
            head = self._begin("tool", _DUMPB(block), out)
            self._tool_index = idx
            self._text_prefix = head + b'{"type":"input_json_delta","partial_json":'
        args = fn.get("arguments")
        if args:
            if not isinstance(args, str):
                args = _DUMPS(args)
            self.output_chars += len(args)
            out.append(self._text_prefix + _q(args).encode() + b"}}\n\n")

    def feed(self, data: bytes, out: list[bytes]) -> bool:
        """Translate one upstream chunk (the ``data`` of one SSE event); ``False`` when the answer is over."""
        chunk = self._chunks.read(data)
        if type(chunk) is tuple:  # a plain delta: (field, text)
            if chunk[0] == "content":
                return self._content(chunk[1], out)
            self._reasoning(chunk[1], out)
            return True
        if "error" in chunk:
            self.error = chunk["error"] if isinstance(chunk["error"], dict) else {"message": str(chunk["error"])}
            return False
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        choices = chunk.get("choices")
        if not choices:
            return True
        choice = choices[0]
        delta = choice.get("delta")
        if delta:
            self._reasoning(delta.get("reasoning_content"), out)
            if not self._content(delta.get("content"), out):
                return False
            calls = delta.get("tool_calls")
            if calls:
                for call in calls:
                    self._tool(call, out)
        finish = choice.get("finish_reason")
        if finish:
            self.finish_reason = finish
        return True

    def _reasoning(self, reasoning: str | None, out: list[bytes]) -> None:
        if reasoning:
            if self._open != "thinking":
                head = self._begin("thinking", b'{"type":"thinking","thinking":"","signature":""}', out)
                self._text_prefix = head + b'{"type":"thinking_delta","thinking":'
            self.reasoning_chars += len(reasoning)
            out.append(self._text_prefix + _q(reasoning).encode() + b"}}\n\n")

    def _content(self, text: str | None, out: list[bytes]) -> bool:
        """A piece of the answer's text; ``False`` when a stop sequence ended the answer."""
        if text and not self._text(text, out):
            self.finish_reason = "stop"
            return False
        return True

    def finish(self, out: list[bytes]) -> None:
        """Close the open block and the message (``message_delta`` with stop reason and usage, ``message_stop``)."""
        self._flush_hold(out)
        self._close(out)
        usage = usage_of(self.usage, self.plan)
        if self.usage is None:
            usage["output_tokens"] = (self.output_chars + self.reasoning_chars + 3) // 4  # ~4 characters a token
        reason = "stop_sequence" if self.stop_sequence is not None else stop_reason_for(self.finish_reason)
        delta = {"stop_reason": reason, "stop_sequence": self.stop_sequence}
        out.append(frame("message_delta", {"type": "message_delta", "delta": delta, "usage": usage}))
        out.append(MESSAGE_STOP)

    @property
    def complete(self) -> bool:
        """Whether the upstream said how the answer ended (a finish reason, or a stop sequence matched)."""
        return self.finish_reason is not None or self.stop_sequence is not None

    def fail(self, status: int, message: str, code: str | None = None) -> bytes:
        """The ``error`` event for a failure after the first byte."""
        return error_frame(status, message, code)
