"""GLM chat deltas (or a whole chat completion) as Responses API events and the ``response`` object."""

from __future__ import annotations

import base64
import json
import os
import time
from json.encoder import encode_basestring as _q
from typing import Any

from glmkit._chat_chunks import ChatChunks
from glmkit._json import dumpb as _DUMPB
from glmkit._json import dumps as _DUMPS
from glmkit.responses_chat.request import ENCRYPTED_PREFIX, Plan

__all__ = ["ResponseWriter", "usage_of"]

# finish_reason -> (status, incomplete reason)
_FINISH = {
    "stop": ("completed", None),
    "tool_calls": ("completed", None),
    "length": ("incomplete", "max_output_tokens"),
    "model_context_window_exceeded": ("incomplete", "max_output_tokens"),
    "sensitive": ("incomplete", "content_filter"),
}


def usage_of(usage: dict[str, Any] | None) -> dict[str, Any]:
    """GLM chat usage as Responses usage (input/output tokens, cached and reasoning details)."""
    u = usage or {}
    cached = int(((u.get("prompt_tokens_details") or {}).get("cached_tokens")) or 0)
    reasoning = int(((u.get("completion_tokens_details") or {}).get("reasoning_tokens")) or 0)
    inp, outp = int(u.get("prompt_tokens") or 0), int(u.get("completion_tokens") or 0)
    return {
        "input_tokens": inp,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": outp,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": int(u.get("total_tokens") or inp + outp),
    }


def _event(kind: str, seq: int, body: bytes) -> bytes:
    return (
        b"event: " + kind.encode() + b'\ndata: {"type":"' + kind.encode() + b'","sequence_number":%d,' % seq + body[1:]
    )


def _delta_frame(item: dict[str, Any], kind: str, index: int) -> tuple[dict[str, Any], bytes, bytes, bytes]:
    """The fixed bytes of a text or reasoning delta event of ``item``: before the sequence number, between it and
    the delta's JSON string, and after it (what ``_event`` would build around the same body)."""
    extra = b',"logprobs":[]' if kind == "response.output_text.delta" else b""
    head = b'event: %b\ndata: {"type":"%b","sequence_number":' % (kind.encode(), kind.encode())
    mid = b',"item_id":"%b","output_index":%d,"content_index":0,"delta":' % (item["id"].encode(), index)
    return item, head, mid, extra + b"}\n\n"


class _Discard(list[bytes]):
    """Where a whole answer's events go (``add_message``): nowhere, and nothing is encoded for them."""

    def append(self, _: bytes) -> None:
        pass


_DISCARD = _Discard()


class ResponseWriter:
    """Chat deltas in; Responses events (as SSE bytes) and the whole response object out.

    ``start(out)`` opens the response; ``reasoning``/``text``/``tool_call`` add deltas (each appends its events
    to ``out``); ``finish(out, finish_reason, usage)`` closes it with ``response.completed`` (or ``incomplete``);
    ``fail(out, status, message, code)`` ends it with an ``error`` event and ``response.failed``.
    """

    def __init__(self, plan: Plan, response_id: str | None = None, created_at: float | None = None) -> None:
        self.plan = plan
        self.id = response_id or "resp_" + os.urandom(16).hex()
        self.created_at = int(created_at if created_at is not None else time.time())
        self.seq = 0
        self.items: list[dict[str, Any]] = []
        self._open: dict[str, Any] | None = None
        self._frame: tuple[dict[str, Any], bytes, bytes, bytes] | None = None  # _delta_frame of the open item
        self._calls: dict[int, dict[str, Any]] = {}
        self._chunks = ChatChunks()
        self.usage: dict[str, Any] | None = None
        self.chat_usage: dict[str, Any] | None = None
        self.finish_reason: str | None = None
        self.error: dict[str, Any] | None = None
        self.done = False

    # -- the response object

    def response(self, status: str = "completed", **extra: Any) -> dict[str, Any]:
        """The ``response`` object as it stands (``status`` and any extra fields given)."""
        body: dict[str, Any] = {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "model": self.plan.model,
            "output": self.items if status != "in_progress" else [],
            "error": None,
            "incomplete_details": None,
            "tool_choice": "auto",
            "tools": [],
            "parallel_tool_calls": True,
            **self.plan.echo,
        }
        if status != "in_progress" and self.usage is not None:
            body["usage"] = self.usage
        body.update(extra)
        return body

    def _emit(self, out: list[bytes], kind: str, data: dict[str, Any]) -> None:
        if out is not _DISCARD:
            out.append(_event(kind, self.seq, _DUMPB(data)) + b"\n\n")
        self.seq += 1

    def start(self, out: list[bytes]) -> None:
        """``response.created`` and ``response.in_progress``."""
        self._emit(out, "response.created", {"response": self.response("in_progress")})
        self._emit(out, "response.in_progress", {"response": self.response("in_progress")})

    # -- items

    def _close(self, out: list[bytes]) -> None:
        item = self._open
        if item is None:
            return
        self._open = None
        index = len(self.items)
        kind = item["type"]
        if kind == "reasoning":
            text = "".join(item.pop("_parts"))
            item["content"] = [{"type": "reasoning_text", "text": text}]
            if self.plan.encrypted_reasoning:
                item["encrypted_content"] = ENCRYPTED_PREFIX + base64.b64encode(text.encode()).decode()
            where = {"item_id": item["id"], "output_index": index, "content_index": 0}
            self._emit(out, "response.reasoning_text.done", {**where, "text": text})
            self._emit(out, "response.content_part.done", {**where, "part": item["content"][0]})
        elif kind == "message":
            text = "".join(item.pop("_parts"))
            part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
            item["content"] = [part]
            item["status"] = "completed"
            where = {"item_id": item["id"], "output_index": index, "content_index": 0}
            self._emit(out, "response.output_text.done", {**where, "text": text, "logprobs": []})
            self._emit(out, "response.content_part.done", {**where, "part": part})
        else:
            self._close_call(item, index, out)
        self.items.append(item)
        self._emit(out, "response.output_item.done", {"output_index": index, "item": item})

    def _close_call(self, item: dict[str, Any], index: int, out: list[bytes]) -> None:
        args = "".join(item.pop("_parts"))
        where = {"item_id": item["id"], "output_index": index}
        item["status"] = "completed"
        if item["type"] == "custom_tool_call":
            try:
                given = json.loads(args) if args else {}
            except ValueError:
                given = {}
            text = given.get("input") if isinstance(given, dict) else None
            item["input"] = text if isinstance(text, str) else args
            self._emit(out, "response.custom_tool_call_input.delta", {**where, "delta": item["input"]})
            self._emit(out, "response.custom_tool_call_input.done", {**where, "input": item["input"]})
            return
        item["arguments"] = args
        self._emit(out, "response.function_call_arguments.done", {**where, "name": item["name"], "arguments": args})

    def _open_item(self, item: dict[str, Any], out: list[bytes]) -> None:
        self._close(out)
        self._open = item
        index = len(self.items)
        shown = {k: v for k, v in item.items() if k != "_parts"}
        self._emit(out, "response.output_item.added", {"output_index": index, "item": shown})
        part: dict[str, Any] | None = None
        if item["type"] == "reasoning":
            part = {"type": "reasoning_text", "text": ""}
        elif item["type"] == "message":
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        if part is not None:
            where = {"item_id": item["id"], "output_index": index, "content_index": 0}
            self._emit(out, "response.content_part.added", {**where, "part": part})

    def _delta(self, kind: str, text: str, out: list[bytes]) -> None:
        item = self._open
        assert item is not None
        item["_parts"].append(text)
        if out is _DISCARD:
            self.seq += 1
            return
        frame = self._frame
        if frame is None or frame[0] is not item:  # the bytes around a delta are the same for the item's life
            frame = self._frame = _delta_frame(item, kind, len(self.items))
        out.append(b"%b%d%b%b%b" % (frame[1], self.seq, frame[2], _q(text).encode(), frame[3]))
        self.seq += 1

    def reasoning(self, text: str, out: list[bytes]) -> None:
        """A piece of reasoning."""
        if self._open is None or self._open["type"] != "reasoning":
            item = {"type": "reasoning", "id": "rs_" + os.urandom(16).hex(), "summary": [], "_parts": []}
            self._open_item(item, out)
        self._delta("response.reasoning_text.delta", text, out)

    def text(self, text: str, out: list[bytes]) -> None:
        """A piece of the answer's text."""
        if self._open is None or self._open["type"] != "message":
            item: dict[str, Any] = {"type": "message", "id": "msg_" + os.urandom(16).hex(), "role": "assistant"}
            self._open_item({**item, "status": "in_progress", "content": [], "_parts": []}, out)
        self._delta("response.output_text.delta", text, out)

    def tool_call(self, index: int, call_id: str | None, name: str | None, args: str, out: list[bytes]) -> None:
        """A chat tool-call delta: the first one for ``index`` opens the call (id and name), later ones add arguments."""
        item = self._calls.get(index)
        if item is None or item is not self._open:
            if item is not None:  # fragments of a call already closed: GLM does not interleave, so ignore
                return
            fid = os.urandom(12).hex()
            cid = call_id or "call_" + fid
            item = {"id": "fc_" + fid, "call_id": cid, "name": name or "", "status": "in_progress", "_parts": []}
            if (name or "") in self.plan.custom_tools:
                item = {"type": "custom_tool_call", **item, "input": ""}
            else:
                item = {"type": "function_call", **item, "arguments": ""}
            self._calls[index] = item
            self._open_item(item, out)
        if not args:
            return
        if item["type"] == "custom_tool_call":
            item["_parts"].append(args)  # the input is inside the JSON: sent whole when the call closes
            return
        item["_parts"].append(args)
        if out is _DISCARD:
            self.seq += 1
            return
        body = b'{"item_id":"%s","output_index":%d,"delta":%s}' % (
            item["id"].encode(),
            len(self.items),
            _q(args).encode(),
        )
        out.append(_event("response.function_call_arguments.delta", self.seq, body) + b"\n\n")
        self.seq += 1

    # -- ends

    def finish(self, out: list[bytes], finish_reason: str | None = None, usage: dict[str, Any] | None = None) -> None:
        """Close the open item and the response."""
        self._close(out)
        if usage is not None:
            self.usage = usage_of(usage)
        reason = finish_reason or self.finish_reason or "stop"
        if reason == "network_error":
            self.fail(out, 500, "The model failed during inference (finish_reason network_error).", "1234")
            return
        status, why = _FINISH.get(reason, ("completed", None))
        if self.usage is None:
            self.usage = usage_of(None)
        extra = {"incomplete_details": {"reason": why}} if why else {}
        self._emit(out, f"response.{status}", {"response": self.response(status, **extra)})
        self.done = True

    def fail(self, out: list[bytes], status: int, message: str, code: str | None = None) -> None:
        """End the stream with an ``error`` event and ``response.failed`` (never a clean end)."""
        self._close(out)
        code = code or str(status)
        self.error = {"code": code, "message": message}
        # reference silent: the error event's shape on Z.AI. OpenAI's carries code/message/param at the top; the
        # nested ``error`` object is what the openai package checks to raise mid-stream (APIError).
        kind = "server_error" if status >= 500 else "invalid_request_error"
        self._emit(
            out, "error", {"code": code, "message": message, "param": None, "error": {"type": kind, **self.error}}
        )
        self._emit(out, "response.failed", {"response": self.response("failed", error=self.error)})
        self.done = True

    # -- GLM input

    def feed_chunk(self, data: bytes, out: list[bytes]) -> bool:
        """Translate one GLM stream chunk (the ``data`` of one SSE event); ``False`` once it carried an error."""
        chunk = self._chunks.read(data)
        if type(chunk) is tuple:  # a plain delta: (field, text)
            if chunk[1]:
                (self.text if chunk[0] == "content" else self.reasoning)(chunk[1], out)
            return True
        if "error" in chunk:
            err = chunk["error"] if isinstance(chunk["error"], dict) else {"message": str(chunk["error"])}
            self.error = err
            return False
        if chunk.get("usage"):
            self.chat_usage = chunk["usage"]
            self.usage = usage_of(chunk["usage"])
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("reasoning_content"):
                self.reasoning(delta["reasoning_content"], out)
            if delta.get("content"):
                self.text(delta["content"], out)
            for pos, call in enumerate(delta.get("tool_calls") or []):
                fn = call.get("function") or {}
                args = fn.get("arguments") or ""
                args = args if isinstance(args, str) else _DUMPS(args)
                self.tool_call(call.get("index", pos), call.get("id"), fn.get("name"), args, out)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        return True

    def add_message(self, message: dict[str, Any]) -> None:
        """A whole GLM assistant message (a non-streamed answer): its items, no events (none is even encoded)."""
        sink = _DISCARD
        if message.get("reasoning_content"):
            self.reasoning(message["reasoning_content"], sink)
        if message.get("content"):
            self.text(message["content"], sink)
        for index, call in enumerate(message.get("tool_calls") or []):
            fn = call.get("function") or {}
            args = fn.get("arguments") or ""
            self.tool_call(index, call.get("id"), fn.get("name"), args if isinstance(args, str) else _DUMPS(args), sink)
        self._close(sink)

    def from_completion(self, completion: dict[str, Any]) -> dict[str, Any]:
        """A whole GLM chat completion -> the whole Responses object."""
        choice = (completion.get("choices") or [{}])[0]
        self.add_message(choice.get("message") or {})
        self.usage = usage_of(completion.get("usage"))
        status, why = _FINISH.get(choice.get("finish_reason") or "stop", ("completed", None))
        return self.response(status, **({"incomplete_details": {"reason": why}} if why else {}))
