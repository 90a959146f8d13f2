"""The emulator's chat completions: plain, streaming, reasoning, tool calls, async jobs.

Answers are deterministic functions of the request: the same messages give the same text.
Streaming frames are written by hand (one compact JSON line per chunk) so the emulator is never the
bottleneck of a benchmark; ``X-Emulator-Chunks: N`` asks for an answer of N content chunks.

Tool calling: with function tools and a user message last, the answer is tool calls whose arguments
are generated from each tool's JSON schema (deterministic by seed; two calls in parallel for some
prompts); after tool results, text that cites them. Markers in the last user message steer it, for
tests (ours and users'):

- ``[emulator:tools=a,b]``: call exactly these tools, in parallel, in this order.
- ``[emulator:tool-rounds=N]``: keep calling tools for N rounds before answering (default 1).
- ``[emulator:invalid-args]``: the first round's arguments do not fit the schemas (wrong types).
- ``[emulator:invalid-json]`` / ``[emulator:invalid-json=N]`` (in any user message): with
  ``response_format`` json_object, the first (N) answers are not valid JSON. Otherwise json_object answers are an object valid against
  the JSON schema found in a ```json fenced block of the system prompt (``{"answer": ...}`` without one).

Reasoning (reference §2.5): a thinking model's assistant turns that made tool calls must come back
with their ``reasoning_content``. Each request body is kept in ``state.extra["chat"]["received"]`` (the
last 200) and turns sent back without it are counted in ``state.extra["chat"]["reasoning_missing"]``;
``EmulatorConfig(options={"require_reasoning": True})`` makes such a request fail with 1214.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from glmkit._sse import encode_data
from glmkit._tokens import estimate_messages, estimate_text
from glmkit.catalog import get_model
from glmkit.emulator.app import Concurrency, EmulatorState, admit, error_response, read_json
from glmkit.emulator.faults import Fault

_WORD = re.compile(r"\S+\s*")
_DUMPS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def last_user_text(messages: list[dict[str, Any]]) -> str:
    """The text of the last user message (text parts joined)."""
    for m in reversed(messages):
        if m.get("role") == "user":
            c = m.get("content")
            if isinstance(c, str):
                return c
            if isinstance(c, list):
                return " ".join(str(p.get("text", "")) for p in c if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "big")


def media_count(messages: list[dict[str, Any]]) -> dict[str, int]:
    """How many image/video/file parts the messages carry."""
    counts = {"image_url": 0, "video_url": 0, "file_url": 0, "file": 0}
    for m in messages:
        c = m.get("content")
        if isinstance(c, list):
            for p in c:
                if isinstance(p, dict) and p.get("type") in counts:
                    counts[p["type"]] += 1
    return counts


def answer_text(model: str, messages: list[dict[str, Any]]) -> str:
    """A deterministic answer that mentions what it was asked."""
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        results = [str(m.get("content", ""))[:200] for m in messages if m.get("role") == "tool"]
        tail = list(results[-8:])
        return "Based on the tool results: " + "; ".join(tail) + "."
    prompt = last_user_text(messages).strip()
    snippet = prompt if len(prompt) <= 80 else prompt[:77] + "..."
    media = media_count(messages)
    seen = ""
    if media["image_url"]:
        seen = f" I looked at {media['image_url']} image(s): an emulated picture with a title bar and a chart."
    if media["video_url"]:
        seen += f" I watched {media['video_url']} video(s)."
    n = _digest(prompt) % 3
    endings = ["Let me know if you need more detail.", "That is all there is to it.", "Happy to help further."]
    return f'This is {model} on the glmkit emulator, answering "{snippet}".{seen} {endings[n]}'


def reasoning_text(messages: list[dict[str, Any]]) -> str:
    """Deterministic reasoning for a thinking model."""
    prompt = last_user_text(messages).strip()[:60]
    if messages and messages[-1].get("role") == "tool":
        n = sum(1 for m in messages if m.get("role") == "tool")
        return f'I have {n} tool result(s) for "{prompt}". I should answer from them.'
    return f'The user asks: "{prompt}". I should answer briefly and accurately.'


def thinks(model: str, body: dict[str, Any]) -> bool:
    """Whether the answer carries reasoning_content."""
    info = get_model(model)
    if info is None or info.thinking == "none":
        return False
    thinking = body.get("thinking") or {}
    if thinking.get("type") == "disabled":
        return info.thinking == "always"
    return body.get("reasoning_effort") not in ("none", "minimal")


def _schema_value(schema: dict[str, Any], name: str, seed: int) -> Any:
    """A value valid against a (simple) JSON schema, deterministic by seed."""
    if "enum" in schema and schema["enum"]:
        return schema["enum"][seed % len(schema["enum"])]
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return _schema_value(options[0], name, seed)
    t = schema.get("type", "string")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "string")
    if t == "integer":
        lo = schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1)
        hi = schema.get("maximum", schema.get("exclusiveMaximum", lo + 10) - 1)
        lo = min(lo, hi)
        return int(lo + seed % (int(hi) - int(lo) + 1))
    if t == "number":
        lo = float(schema.get("minimum", schema.get("exclusiveMinimum", -0.5) + 0.5))
        hi = float(schema.get("maximum", schema.get("exclusiveMaximum", lo + 10.5) - 0.5))
        return min(lo + (seed % 100) / 10, max(lo, hi))
    if t == "boolean":
        return seed % 2 == 0
    if t == "array" and schema.get("prefixItems"):
        return [_schema_value(sub, name, seed + i) for i, sub in enumerate(schema["prefixItems"])]
    if t == "array":
        item = schema.get("items", {"type": "string"})
        n = max(int(schema.get("minItems", 1)), 1)
        return [_schema_value(item, name, seed + i) for i in range(n)]
    if t == "object":
        return schema_instance(schema, seed)
    words = ["alpha", "beta", "gamma", "delta"]
    value = f"{name}-{words[seed % 4]}"
    if "minLength" in schema and len(value) < schema["minLength"]:
        value = value.ljust(int(schema["minLength"]), "x")
    if "maxLength" in schema:
        value = value[: int(schema["maxLength"])]
    return value


def schema_instance(schema: dict[str, Any], seed: int) -> dict[str, Any]:
    """An object valid against an object schema: every required property, plus the others."""
    props = schema.get("properties") or {}
    return {name: _schema_value(sub or {}, name, seed + i) for i, (name, sub) in enumerate(props.items())}


_MARKER = re.compile(r"\[emulator:([a-z-]+)(?:=([^\]]*))?\]")


def markers(messages: list[dict[str, Any]]) -> dict[str, str]:
    """The ``[emulator:name=value]`` markers of the last user message (see the module docstring)."""
    return {m.group(1): m.group(2) or "" for m in _MARKER.finditer(last_user_text(messages))}


def tool_rounds(messages: list[dict[str, Any]]) -> int:
    """Assistant turns with tool calls since the last user message."""
    n = 0
    for m in reversed(messages):
        if m.get("role") == "user":
            break
        if m.get("role") == "assistant" and m.get("tool_calls"):
            n += 1
    return n


def _invalid_instance(schema: dict[str, Any], seed: int) -> dict[str, Any]:
    """Arguments of the wrong type for every property (a string where a number goes, a number elsewhere)."""
    props = schema.get("properties") or {}
    if not props:
        return {"unexpected": seed}

    def wrong(name: str, sub: dict[str, Any]) -> Any:
        t = sub.get("type")
        return seed if t == "string" or (isinstance(t, list) and "string" in t) else f"not-a-{name}"

    return {name: wrong(name, sub or {}) for name, sub in props.items()}


def tool_calls_for(state: EmulatorState, body: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Tool calls when the request has function tools and the last message is the user's (or, with
    ``[emulator:tool-rounds=N]``, a tool result of a round before the N-th)."""
    tools = [t for t in body.get("tools") or [] if isinstance(t, dict) and t.get("type") == "function"]
    messages = body["messages"]
    if not tools:
        return None
    marks = markers(messages)
    rounds = tool_rounds(messages)
    wanted_rounds = int(marks["tool-rounds"]) if marks.get("tool-rounds", "").isdigit() else 1
    if messages[-1].get("role") != "user" and not (messages[-1].get("role") == "tool" and rounds < wanted_rounds):
        return None
    seed = _digest(last_user_text(messages)) + state.config.seed + rounds
    by_name = {t["function"].get("name"): t["function"] for t in tools}
    if marks.get("tools"):
        chosen = [by_name[n.strip()] for n in marks["tools"].split(",") if n.strip() in by_name]
    else:
        count = 2 if len(tools) > 1 and seed % 2 == 0 else 1
        chosen = [tools[(seed + i) % len(tools)]["function"] for i in range(count)]
    invalid = "invalid-args" in marks and rounds == 0
    calls = []
    for i, fn in enumerate(chosen):
        make = _invalid_instance if invalid else schema_instance
        args = make(fn.get("parameters") or {}, seed + i)
        calls.append(
            {
                "id": f"call_{state.new_id()}",
                "type": "function",
                "function": {"name": fn["name"], "arguments": _DUMPS(args)},
            }
        )
    return calls or None


_FENCED_JSON = re.compile(r"```json\s*(\{.*?\})\s*```", re.S)


def json_answer(body: dict[str, Any], text: str) -> str:
    """The content of a ``response_format: json_object`` answer (see the module docstring)."""
    messages = body["messages"]
    marks: dict[str, str] = {}
    for m in messages:  # the retry's own user message carries no marker: read the whole conversation
        if m.get("role") == "user":
            marks.update(markers([m]))
    if "invalid-json" in marks:
        bad_answers = int(marks["invalid-json"]) if marks["invalid-json"].isdigit() else 1
        answered = sum(1 for m in messages if m.get("role") == "assistant")
        if answered < bad_answers:
            return '{"answer": "unfinished'  # cut mid-string: not JSON
    schema = None
    for m in messages:
        content = m.get("content")
        if m.get("role") == "system" and isinstance(content, str):
            for block in _FENCED_JSON.findall(content):
                try:
                    schema = json.loads(block)
                except ValueError:
                    continue
    if isinstance(schema, dict) and schema.get("type") == "object":
        return _DUMPS(schema_instance(schema, _digest(last_user_text(messages))))
    return _DUMPS({"answer": text})


def reasoning_check(state: EmulatorState, body: dict[str, Any]) -> Response | None:
    """Record the request; count (or, with ``require_reasoning``, reject) tool-call turns sent back without
    their reasoning_content when the model thinks (reference §2.5)."""
    log = state.extra.setdefault("chat", {"received": deque(maxlen=200), "reasoning_missing": 0})
    log["received"].append(body)
    if not thinks(body["model"], body):
        return None
    messages = body["messages"]
    start = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=0)
    missing = [
        i
        for i, m in enumerate(messages[start:], start)
        if m.get("role") == "assistant" and m.get("tool_calls") and not m.get("reasoning_content")
    ]
    if not missing:
        return None
    log["reasoning_missing"] += 1
    if state.config.options.get("require_reasoning"):
        return error_response(
            "1214", f"messages[{missing[0]}]: send the assistant turn's reasoning_content back with its tool results"
        )
    return None


def validate(body: dict[str, Any], surface: str) -> Response | None:
    """The checks the real API makes, with its business codes."""
    model = body.get("model")
    messages = body.get("messages")
    if not model or not isinstance(model, str):
        return error_response("1214", "The model field is required")
    info = get_model(model)
    if info is None or info.kind != "chat":
        return error_response("1211", f"Unknown Model, please check the model code: {model}")
    if not isinstance(messages, list) or not messages:
        return error_response("1214", "messages: Input cannot be empty")
    for m in messages:
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant", "tool"):
            return error_response("1214", "messages: invalid role")
        c = m.get("content")
        if m.get("role") == "user" and (c is None or c == "" or c == []):
            return error_response("1213", "The prompt parameter was not received normally")
    if all(m.get("role") in ("system", "assistant") for m in messages):
        return error_response("1214", "messages must contain a user message")
    if any(media_count(messages).values()) and not info.vision:
        return error_response("1210", "messages.content.type: Input should be 'text'")
    mt = body.get("max_tokens")
    if mt is not None and (
        not isinstance(mt, int) or isinstance(mt, bool) or not 1 <= mt <= (info.max_output or 131072)
    ):
        return error_response("1214", f"max_tokens must be in [1, {info.max_output or 131072}]")
    stop = body.get("stop")
    if stop is not None and (not isinstance(stop, list) or len(stop) > 1):
        return error_response("1214", "stop: at most one stop word")
    for name, lo, hi in (("temperature", 0.0, 1.0), ("top_p", 0.01, 1.0)):
        v = body.get(name)
        if v is not None and (not isinstance(v, int | float) or not lo <= v <= hi):
            return error_response("1214", f"{name} must be in [{lo}, {hi}]")
    thinking = body.get("thinking") or {}
    if thinking.get("type") == "disabled" and info.thinking == "always" and surface == "general":
        return error_response(
            "1210", "thinking.type disabled is not supported for this model; use reasoning_effort low, high or max"
        )
    if len(body.get("tools") or []) > 128:
        return error_response("1214", "tools: at most 128")
    return None


def completion_parts(state: EmulatorState, body: dict[str, Any], chunks: int | None = None) -> dict[str, Any]:
    """Everything an answer consists of, for the plain and the streamed form alike."""
    model = body["model"]
    messages = body["messages"]
    calls = tool_calls_for(state, body)
    reasoning = reasoning_text(messages) if thinks(model, body) else ""
    text = "" if calls else answer_text(model, messages)
    if not calls and (body.get("response_format") or {}).get("type") == "json_object":
        text = json_answer(body, text)
    pieces = _WORD.findall(text)
    if chunks:
        pieces = [f"w{i} " for i in range(chunks)]
        text = "".join(pieces)
    finish = "tool_calls" if calls else "stop"
    stop = (body.get("stop") or [None])[0]
    if stop and stop in text:
        text = text[: text.index(stop)]
        pieces = _WORD.findall(text)
    completion_tokens = estimate_text(text) + estimate_text(reasoning) + (20 * len(calls or []))
    mt = body.get("max_tokens")
    if mt is not None and completion_tokens > mt:
        finish = "length"
        keep = max(1, len(pieces) * mt // max(completion_tokens, 1))
        pieces = pieces[:keep]
        text = "".join(pieces)
        completion_tokens = mt
    prompt_tokens = estimate_messages(messages)
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": estimate_text(reasoning)},
    }
    return {"text": text, "pieces": pieces, "reasoning": reasoning, "calls": calls, "finish": finish, "usage": usage}


def completion_body(state: EmulatorState, body: dict[str, Any], parts: dict[str, Any], rid: str) -> dict[str, Any]:
    """The non-streamed response (reference §2.4)."""
    message: dict[str, Any] = {"role": "assistant", "content": parts["text"]}
    if parts["reasoning"]:
        message["reasoning_content"] = parts["reasoning"]
    if parts["calls"]:
        message["tool_calls"] = parts["calls"]
    return {
        "id": rid,
        "request_id": body.get("request_id") or rid,
        "created": state.now(),
        "model": body["model"],
        "choices": [{"index": 0, "finish_reason": parts["finish"], "message": message}],
        "usage": parts["usage"],
    }


async def stream_frames(
    state: EmulatorState, body: dict[str, Any], parts: dict[str, Any], rid: str, fault: Fault | None, slot: Concurrency
) -> AsyncIterator[bytes]:
    """The SSE frames of a streamed answer (reference §2.6), with stream faults applied."""
    try:
        head = f'{{"id":"{rid}","created":{state.now()},"model":{_DUMPS(body["model"])},"choices":[{{"index":0,"delta":'.encode()
        tail = b',"finish_reason":null}]}'
        frames: list[bytes] = []
        for piece in _WORD.findall(parts["reasoning"]):
            frames.append(head + b'{"role":"assistant","reasoning_content":' + _DUMPS(piece).encode() + b"}" + tail)
        for piece in parts["pieces"]:
            frames.append(head + b'{"role":"assistant","content":' + _DUMPS(piece).encode() + b"}" + tail)
        if parts["calls"]:
            frames.extend(_tool_call_frames(head, tail, parts["calls"], bool(body.get("tool_stream"))))
        finish = parts["finish"]
        if fault is not None and fault.kind == "finish":
            finish = fault.reason
        frames.append(
            head
            + b'{"role":"assistant","content":""},"finish_reason":'
            + _DUMPS(finish).encode()
            + b'}],"usage":'
            + _DUMPS(parts["usage"]).encode()
            + b"}"
        )
        delay = state.config.chunk_delay
        cut_at = fault.after if fault is not None and fault.kind in ("cut", "stream_error") else None
        out = []
        for i, frame in enumerate(frames):
            if cut_at is not None and i >= cut_at:
                if out:
                    yield b"".join(out)
                if fault is not None and fault.kind == "stream_error":
                    code = fault.code or "1234"
                    yield encode_data(
                        _DUMPS(
                            {"error": {"code": code, "message": fault.message or "Network error, error id: emulated"}}
                        )
                    )
                return  # a cut: the body ends without [DONE]
            if delay:
                yield b"data: " + frame + b"\n\n"
                await asyncio.sleep(delay)
            else:
                out.append(b"data: " + frame + b"\n\n")
                if len(out) >= 64:
                    yield b"".join(out)
                    out = []
        out.append(b"data: [DONE]\n\n")
        yield b"".join(out)
    finally:
        slot.release()


def _tool_call_frames(head: bytes, tail: bytes, calls: list[dict[str, Any]], fragmented: bool) -> list[bytes]:
    frames = []
    for index, call in enumerate(calls):
        args = call["function"]["arguments"]
        if not fragmented:
            delta = {"role": "assistant", "tool_calls": [{"index": index, **call}]}
            frames.append(head + _DUMPS(delta).encode() + tail)
            continue
        first = {
            "index": index,
            "id": call["id"],
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""},
        }
        frames.append(head + _DUMPS({"role": "assistant", "tool_calls": [first]}).encode() + tail)
        step = max(1, len(args) // 4)
        for start in range(0, len(args), step):
            frag = {"index": index, "function": {"arguments": args[start : start + step]}}
            frames.append(head + _DUMPS({"role": "assistant", "tool_calls": [frag]}).encode() + tail)
    return frames


def _surface(request: Request) -> str:
    return "coding" if "/coding/" in request.url.path else "general"


def routes(state: EmulatorState) -> list[Route]:
    """Chat routes below a surface prefix."""

    async def chat_completions(request: Request) -> Response:
        early, fault = await admit(state, request)
        if early is not None:
            return early
        body, bad = await read_json(request)
        if bad is not None:
            return bad
        assert body is not None
        invalid = validate(body, _surface(request)) or reasoning_check(state, body)
        if invalid is not None:
            return invalid
        slot = Concurrency(state, body["model"])
        if (busy := slot.acquire()) is not None:
            return busy
        chunks = request.headers.get("x-emulator-chunks")
        parts = completion_parts(state, body, int(chunks) if chunks and chunks.isdigit() else None)
        rid = state.new_id()
        state.record_usage({"model": body["model"], "surface": _surface(request), **parts["usage"]})
        if body.get("stream"):
            return StreamingResponse(
                stream_frames(state, body, parts, rid, fault, slot),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Request-Id": rid},
            )
        try:
            if fault is not None and fault.kind == "finish":
                parts["finish"] = fault.reason
            return JSONResponse(completion_body(state, body, parts, rid), headers={"X-Request-Id": rid})
        finally:
            slot.release()

    async def async_chat(request: Request) -> Response:
        early, _ = await admit(state, request)
        if early is not None:
            return early
        body, bad = await read_json(request)
        if bad is not None:
            return bad
        assert body is not None
        body.pop("stream", None)
        invalid = validate(body, _surface(request))
        if invalid is not None:
            return invalid
        parts = completion_parts(state, body)
        rid = state.new_id()
        result = completion_body(state, body, parts, rid)
        state.jobs[rid] = {
            "kind": "chat",
            "created": state.clock(),
            "model": body["model"],
            "request_id": result["request_id"],
            "result": {"choices": result["choices"], "usage": result["usage"]},
        }
        return JSONResponse(
            {"id": rid, "request_id": result["request_id"], "model": body["model"], "task_status": "PROCESSING"}
        )

    return [
        Route("/chat/completions", chat_completions, methods=["POST"]),
        Route("/async/chat/completions", async_chat, methods=["POST"]),
    ]
