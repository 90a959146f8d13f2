"""The OpenAI Responses API over GLM chat completions, both ways, as pure functions (no I/O).

Shared by the emulator (``/api/v1/responses`` answers from the chat answer generator) and the gateway's
translate mode (``/v1/responses`` onto the coding endpoint's chat completions):

- ``to_chat(body, ...)``: a Responses request -> (a GLM chat body, a ``Plan``).
- ``ResponseWriter``: chat deltas (reasoning, text, tool-call fragments, a finish reason and usage) -> the
  Responses event sequence (``response.created`` ... ``response.completed``, each with ``sequence_number``)
  and the whole ``response`` object; ``feed_chunk`` takes GLM stream chunks, ``add_message`` a whole message.

Choices where the reference is silent (UNVERIFIED, kept here rather than invented twice):
- ``developer`` messages become ``system`` messages; ``instructions`` the first system message.
- A ``custom`` (free-form) tool, such as Codex's ``apply_patch``, becomes a function taking one string
  ``input`` (its grammar goes in the description); GLM's call comes back as a ``custom_tool_call``.
- Hosted tools (``web_search``, ``namespace`` groups, ...) have no GLM function form and are left out.
- ``tool_choice``: ``none`` sends no tools, ``required`` becomes ``auto`` (the only value GLM documents,
  §2.1), a named tool keeps only that tool.
- Reasoning goes out as a ``reasoning`` item with ``reasoning_text`` content (GLM's reasoning is raw, not a
  summary) and, when ``include`` asks for ``reasoning.encrypted_content``, the same text base64-encoded there,
  so a client that sends back only the opaque field (Codex) still returns it with its tool results (§2.5).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from json.encoder import encode_basestring as _q  # type: ignore[attr-defined]
from typing import Any

__all__ = ["Plan", "ResponseWriter", "TranslationError", "to_chat"]

_DUMPS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_ENCRYPTED_PREFIX = "glm-reasoning:"
# finish_reason -> (status, incomplete reason)
_FINISH = {
    "stop": ("completed", None),
    "tool_calls": ("completed", None),
    "length": ("incomplete", "max_output_tokens"),
    "model_context_window_exceeded": ("incomplete", "max_output_tokens"),
    "sensitive": ("incomplete", "content_filter"),
}


class TranslationError(ValueError):
    """A Responses request that cannot be turned into a chat request; the message names the field and the fix."""


@dataclass
class Plan:
    """What the way back needs: the model, custom tool names, whether reasoning travels encrypted."""

    model: str
    stream: bool = False
    custom_tools: set[str] = field(default_factory=set)
    encrypted_reasoning: bool = False
    echo: dict[str, Any] = field(default_factory=dict)
    """Request fields the response object repeats (instructions, tools, tool_choice, ...)."""


# ---- request -------------------------------------------------------------------------------------


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and "text" in p)


def _user_content(content: Any) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for p in content or []:
        if not isinstance(p, dict):
            continue
        kind = p.get("type")
        if kind in ("input_text", "output_text", "text"):
            if p.get("text"):
                parts.append({"type": "text", "text": str(p["text"])})
        elif kind == "input_image":
            url = p.get("image_url") or p.get("file_id")
            if not url:
                raise TranslationError("An input_image part needs image_url (a URL or a data URL).")
            parts.append({"type": "image_url", "image_url": {"url": url}})
        elif kind == "input_file":
            raise TranslationError("input_file parts are not supported on GLM's Responses route; send the text.")
    if all(p["type"] == "text" for p in parts):
        return "\n".join(p["text"] for p in parts)
    return parts


def reasoning_of(item: dict[str, Any]) -> str:
    """The reasoning text a ``reasoning`` input item carries (content, summary, or our encrypted form)."""
    text = "".join(str(c.get("text", "")) for c in item.get("content") or [] if isinstance(c, dict))
    if not text:
        text = "".join(str(c.get("text", "")) for c in item.get("summary") or [] if isinstance(c, dict))
    enc = item.get("encrypted_content")
    if not text and isinstance(enc, str) and enc.startswith(_ENCRYPTED_PREFIX):
        try:
            text = base64.b64decode(enc[len(_ENCRYPTED_PREFIX) :]).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            text = ""
    return text


class _Messages:
    """Flat Responses items -> chat messages: calls and reasoning gather into one assistant turn."""

    def __init__(self) -> None:
        self.out: list[dict[str, Any]] = []
        self.turn: dict[str, Any] | None = None

    def flush(self) -> None:
        if self.turn is not None:
            self.turn.setdefault("content", "")
            self.out.append(self.turn)
            self.turn = None

    def assistant(self) -> dict[str, Any]:
        if self.turn is None:
            self.turn = {"role": "assistant"}
        return self.turn

    def add(self, item: dict[str, Any]) -> None:
        kind = item.get("type") or ("message" if "role" in item else None)
        if kind == "message":
            role = item.get("role")
            if role == "assistant":
                turn = self.assistant()
                if turn.get("tool_calls"):
                    self.flush()
                    turn = self.assistant()
                turn["content"] = turn.get("content", "") + _text_of(item.get("content"))
                return
            self.flush()
            if role in ("system", "developer"):
                self.out.append({"role": "system", "content": _text_of(item.get("content"))})
            elif role == "user":
                content = _user_content(item.get("content"))
                if content:  # an empty message says nothing; GLM refuses it (1213)
                    self.out.append({"role": "user", "content": content})
            else:
                raise TranslationError(f"Unknown message role {role!r}; use user, assistant, system or developer.")
        elif kind == "reasoning":
            if self.turn is not None and (self.turn.get("tool_calls") or self.turn.get("content")):
                self.flush()
            text = reasoning_of(item)
            if text:
                turn = self.assistant()
                turn["reasoning_content"] = turn.get("reasoning_content", "") + text
        elif kind in ("function_call", "custom_tool_call"):
            args = item.get("arguments") if kind == "function_call" else _DUMPS({"input": item.get("input", "")})
            fn = {"name": item.get("name"), "arguments": args if isinstance(args, str) else "{}"}
            call = {"id": str(item.get("call_id") or item.get("id") or ""), "type": "function", "function": fn}
            self.assistant().setdefault("tool_calls", []).append(call)
        elif kind in ("function_call_output", "custom_tool_call_output"):
            if not item.get("call_id"):
                raise TranslationError(f"A {kind} item needs the call_id of the call it answers.")
            self.flush()
            output = item.get("output")
            text = output if isinstance(output, str) else _text_of(output)
            self.out.append({"role": "tool", "tool_call_id": str(item.get("call_id", "")), "content": text})
        elif kind in ("item_reference", "compaction", "web_search_call"):
            return  # nothing GLM can read: stored items and hosted-tool records
        else:
            raise TranslationError(f"Input items of type {kind!r} are not supported on GLM's Responses route.")


def messages_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The chat messages of a Responses request: ``instructions`` first, then the input items."""
    acc = _Messages()
    if isinstance(body.get("instructions"), str) and body["instructions"]:
        acc.out.append({"role": "system", "content": body["instructions"]})
    given = body.get("input")
    if isinstance(given, str) and given:
        acc.out.append({"role": "user", "content": given})
        return acc.out
    if not isinstance(given, list):
        raise TranslationError("input must be a non-empty string or a list of input items.")
    for item in given:
        if not isinstance(item, dict):
            raise TranslationError("Each input item must be an object with a type.")
        acc.add(item)
    acc.flush()
    if not any(m["role"] in ("user", "tool") for m in acc.out):
        raise TranslationError("input needs a user message (or a tool output) with some content.")
    return acc.out


def custom_function(tool: dict[str, Any]) -> dict[str, Any]:
    """The GLM function a free-form ``custom`` tool becomes: one string argument ``input``."""
    fmt = tool.get("format") or {}
    description = str(tool.get("description") or "")
    if fmt.get("type") == "grammar" and fmt.get("definition"):
        description += f"\n\nThe input must follow this {fmt.get('syntax', '')} grammar:\n{fmt['definition']}"
    params = {
        "type": "object",
        "properties": {"input": {"type": "string", "description": "The raw free-form input of the tool."}},
        "required": ["input"],
    }
    return {"name": tool["name"], "description": description.strip(), "parameters": params}


def tools_of(body: dict[str, Any]) -> tuple[list[dict[str, Any]], set[str]]:
    """GLM function tools for the request's tools (and ``tool_choice``), and the names of the custom ones."""
    choice = body.get("tool_choice")
    if choice == "none":
        return [], set()
    tools: list[dict[str, Any]] = []
    custom: set[str] = set()
    for t in body.get("tools") or []:
        if not isinstance(t, dict) or t.get("type") not in ("function", "custom"):
            continue
        if not _TOOL_NAME.match(str(t.get("name", ""))):
            raise TranslationError(f"Tool name {t.get('name')!r}: GLM takes 1-64 letters, digits, '_' or '-'.")
        if t.get("type") == "function":
            params = t.get("parameters")
            fn: dict[str, Any] = {
                "name": t["name"],
                "parameters": params if isinstance(params, dict) else {"type": "object"},
            }
            if t.get("description"):
                fn["description"] = t["description"]
            tools.append({"type": "function", "function": fn})
        elif t.get("type") == "custom":
            custom.add(t["name"])
            tools.append({"type": "function", "function": custom_function(t)})
    if isinstance(choice, dict) and choice.get("name"):
        tools = [t for t in tools if t["function"]["name"] == choice["name"]] or tools
    if len(tools) > 128:
        raise TranslationError(f"{len(tools)} tools: GLM takes at most 128 (reference §2.3).")
    return tools, custom


def _effort(wanted: Any, model: str) -> str | None:
    from glmkit.catalog import get_model

    info = get_model(model)
    if info is None or not info.efforts or not isinstance(wanted, str):
        return None
    if wanted in info.efforts:
        return wanted
    return info.effort_map.get(wanted)


def to_chat(body: dict[str, Any], *, model: str | None = None) -> tuple[dict[str, Any], Plan]:
    """A Responses request -> (GLM chat body, plan); ``model`` replaces the requested one (the gateway's mapping).

    Raises:
        TranslationError: a field GLM has no form for (``previous_response_id``, file inputs, unknown items).
    """
    from glmkit.catalog import get_model

    if not isinstance(body.get("model"), str) or not body["model"]:
        raise TranslationError("model is required, e.g. 'glm-5.3'.")
    if body.get("previous_response_id"):
        raise TranslationError(
            "previous_response_id is not supported: no responses are stored. Send the whole conversation as input."
        )
    glm = model or body["model"]
    out: dict[str, Any] = {"model": glm, "messages": messages_of(body)}
    info = get_model(glm.lower())
    mt = body.get("max_output_tokens")
    if isinstance(mt, int) and not isinstance(mt, bool):
        if mt < 1:
            raise TranslationError(f"max_output_tokens must be 1 or more (got {mt}).")
        out["max_tokens"] = min(mt, info.max_output) if info is not None and info.max_output else mt
    for name, lo in (("temperature", 0.0), ("top_p", 0.01)):
        value = body.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[name] = min(max(float(value), lo), 1.0)
    effort = _effort((body.get("reasoning") or {}).get("effort"), glm.lower())
    if effort:
        out["reasoning_effort"] = effort
    tools, custom = tools_of(body)
    if tools:
        out["tools"] = tools
        out["tool_choice"] = "auto"
    fmt = ((body.get("text") or {}).get("format") or {}).get("type")
    if fmt in ("json_object", "json_schema"):
        out["response_format"] = {"type": "json_object"}
    user = body.get("user") or body.get("safety_identifier")
    if isinstance(user, str) and 6 <= len(user) <= 128:
        out["user_id"] = user
    stream = bool(body.get("stream"))
    if stream:
        out["stream"] = True
        if tools and (info is None or info.tool_stream):
            out["tool_stream"] = True
    echo = {k: body[k] for k in _ECHOED if k in body}
    plan = Plan(
        model=glm,
        stream=stream,
        custom_tools=custom,
        encrypted_reasoning="reasoning.encrypted_content" in (body.get("include") or []),
        echo=echo,
    )
    return out, plan


_ECHOED: tuple[str, ...] = ("instructions", "tools", "tool_choice", "parallel_tool_calls", "temperature", "top_p")
_ECHOED += ("max_output_tokens", "reasoning", "store", "text", "metadata", "previous_response_id", "user")


# ---- response ------------------------------------------------------------------------------------


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


class ResponseWriter:
    """Chat deltas in; Responses events (as SSE bytes) and the whole response object out.

    ``start(out)`` opens the response; ``reasoning``/``text``/``tool_call`` add deltas (each appends its events
    to ``out``); ``finish(out, finish_reason, usage)`` closes it with ``response.completed`` (or ``incomplete``);
    ``fail(out, status, message, code)`` ends it with an ``error`` event and ``response.failed``.
    """

    def __init__(self, plan: Plan, response_id: str | None = None, created_at: float | None = None) -> None:
        self.plan = plan
        self.id = response_id or "resp_" + uuid.uuid4().hex
        self.created_at = int(created_at if created_at is not None else time.time())
        self.seq = 0
        self.items: list[dict[str, Any]] = []
        self._open: dict[str, Any] | None = None
        self._calls: dict[int, dict[str, Any]] = {}
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
        out.append(_event(kind, self.seq, _DUMPS(data).encode()) + b"\n\n")
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
                item["encrypted_content"] = _ENCRYPTED_PREFIX + base64.b64encode(text.encode()).decode()
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
        index = len(self.items)
        extra = b',"logprobs":[]' if kind == "response.output_text.delta" else b""
        body = b'{"item_id":"%s","output_index":%d,"content_index":0,"delta":%s%s}' % (
            item["id"].encode(),
            index,
            _q(text).encode(),
            extra,
        )
        out.append(_event(kind, self.seq, body) + b"\n\n")
        self.seq += 1

    def reasoning(self, text: str, out: list[bytes]) -> None:
        """A piece of reasoning."""
        if self._open is None or self._open["type"] != "reasoning":
            item = {"type": "reasoning", "id": "rs_" + uuid.uuid4().hex, "summary": [], "_parts": []}
            self._open_item(item, out)
        self._delta("response.reasoning_text.delta", text, out)

    def text(self, text: str, out: list[bytes]) -> None:
        """A piece of the answer's text."""
        if self._open is None or self._open["type"] != "message":
            item: dict[str, Any] = {"type": "message", "id": "msg_" + uuid.uuid4().hex, "role": "assistant"}
            self._open_item({**item, "status": "in_progress", "content": [], "_parts": []}, out)
        self._delta("response.output_text.delta", text, out)

    def tool_call(self, index: int, call_id: str | None, name: str | None, args: str, out: list[bytes]) -> None:
        """A chat tool-call delta: the first one for ``index`` opens the call (id and name), later ones add arguments."""
        item = self._calls.get(index)
        if item is None or item is not self._open:
            if item is not None:  # fragments of a call already closed: GLM does not interleave, so ignore
                return
            fid = uuid.uuid4().hex[:24]
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
        chunk = json.loads(data)
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
        """A whole GLM assistant message (a non-streamed answer): its items, events discarded."""
        sink: list[bytes] = []
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
