"""Z.AI's Anthropic-compatible endpoint: ``POST /api/anthropic/v1/messages`` (reference §1.1, §14.2, §17).

Answers come from the same generator as chat completions (``emulator/chat.py``), so both surfaces say
the same thing to the same question. The quirks users reported are kept on purpose, so the gateway's
fixes can be tested: ``message_start`` usage is zero and the real counts, ``cache_read_input_tokens``
included, come only in ``message_delta`` (live evidence §2, zai-org/GLM-5#139, 2026-09-01); image blocks on a
text model get 400/1210 (``messages.content.type ... ['text']``); usage turns to floats after a cache hit (§17);
an answer made only of tool calls opens an empty text block first. Cached tokens come from the emulator's
prompt cache (``prompt_cache.py``), as on the chat surface; ``input_tokens`` counts the prompt without them
(Anthropic's meaning; UNVERIFIED for Z.AI).

Errors use Anthropic's body with Z.AI's business ``code`` inside, the message written
``[code][message][request id]`` and a top-level ``request_id`` (live evidence §2, zai-org/feedback#789,
2026-09-22, seen for 1113; used here for every code: UNVERIFIED for the others). Paths below
``/anthropic`` that are not served, ``/v1/messages/count_tokens`` among them, get a 404 in the same body:
whether Z.AI serves count_tokens is UNVERIFIED (§14.2); Claude Code estimates locally without it (live
evidence §4).
``role: system`` inside ``messages`` (the anthropic package's ``SystemMessageParam``, which Claude Code 2.1.3xx
sends) is refused with 400/1214 as the Messages API did before it: whether Z.AI's endpoint takes it is UNVERIFIED,
and refusing is the cautious choice (the gateway's passthrough mode moves such messages into ``system``, so it works
either way).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from glmkit._json import dumpb as _DUMPB
from glmkit._json import dumps as _DUMPS
from glmkit.catalog import get_model
from glmkit.emulator.admission import Concurrency, admit
from glmkit.emulator.chat import completion_parts
from glmkit.emulator.chat_checks import check_messages
from glmkit.emulator.faults import Fault
from glmkit.emulator.state import EmulatorState
from glmkit.types.anthropic import error_body, stop_reason_for


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(error_body(status, message, code=code), status_code=status)


def _stamped(response: Response, rid: str) -> Response:
    """An Anthropic error answer as Z.AI's Anthropic endpoint writes it: ``[code][message][request id]`` and a
    top-level ``request_id`` (live evidence §2)."""
    try:
        body = json.loads(bytes(response.body))
        err = body["error"]
    except (ValueError, KeyError, TypeError, AttributeError):
        return response
    if err.get("code") is not None and not str(err.get("message", "")).startswith("["):
        err["message"] = f"[{err['code']}][{err.get('message', '')}][{rid}]"
    body["request_id"] = rid
    headers = {k: v for k, v in response.headers.items() if k.lower() == "retry-after"}
    return JSONResponse(body, status_code=response.status_code, headers={**headers, "request-id": rid})


def _as_anthropic(response: Response) -> Response:
    """Re-shape an admission error (Z.AI's chat body) as the Anthropic endpoint sends it."""
    try:
        err = json.loads(bytes(response.body)).get("error") or {}
    except (ValueError, AttributeError):
        return response
    status = 529 if str(err.get("code")) == "1305" else response.status_code  # §17: 1305 arrives as 529 here
    headers = {k: v for k, v in response.headers.items() if k.lower() == "retry-after"}
    resp = _error(status, str(err.get("code", status)), str(err.get("message", "error")))
    resp.headers.update(headers)
    return resp


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return " ".join(b.get("text", "") for b in content or [] if isinstance(b, dict) and b.get("type") == "text")


def to_glm(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The chat-completion view the answer generator needs, and the number of image blocks."""
    messages: list[dict[str, Any]] = []
    images = 0
    for m in body["messages"]:
        content = m.get("content")
        if isinstance(content, str):
            messages.append({"role": m.get("role"), "content": content})
            continue
        parts: list[dict[str, Any]] = []
        if m.get("role") == "assistant":
            messages.append(_assistant(content or []))
            continue
        for b in content or []:
            kind = b.get("type")
            if kind == "tool_result":
                messages.append(
                    {"role": "tool", "tool_call_id": b.get("tool_use_id"), "content": _text(b.get("content"))}
                )
            elif kind == "image":
                images += 1
                parts.append({"type": "image_url", "image_url": {"url": "emulated"}})
            elif kind == "text":
                parts.append({"type": "text", "text": b.get("text", "")})
        if parts:
            messages.append({"role": m.get("role"), "content": parts})
    tools = [
        {"type": "function", "function": {"name": t["name"], "parameters": t.get("input_schema") or {}}}
        for t in body.get("tools") or []
        if isinstance(t, dict) and "name" in t
    ]
    glm: dict[str, Any] = {"model": body["model"], "messages": messages, "max_tokens": body.get("max_tokens")}
    choice = body.get("tool_choice") or {}
    if tools and choice.get("type") != "none":
        glm["tools"] = tools
        if choice.get("type") == "tool":  # Anthropic's forced tool: exactly that tool is called
            glm["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
    if body.get("stop_sequences"):
        glm["stop"] = body["stop_sequences"][:1]
    thinking = body.get("thinking") or {}
    glm["thinking"] = {"type": "enabled" if thinking.get("type") in ("enabled", "adaptive") else "disabled"}
    return glm, images


def _assistant(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": "assistant", "content": _text(blocks)}
    reasoning = "".join(b.get("thinking", "") for b in blocks if b.get("type") == "thinking")
    if reasoning:
        msg["reasoning_content"] = reasoning
    calls = [
        {
            "id": b.get("id"),
            "type": "function",
            "function": {"name": b.get("name"), "arguments": _DUMPS(b.get("input") or {})},
        }
        for b in blocks
        if b.get("type") == "tool_use"
    ]
    if calls:
        msg["tool_calls"] = calls
    return msg


def _signature(text: str) -> str:
    return hashlib.sha256(b"zai-thinking:" + text.encode("utf-8")).hexdigest()


def _usage(body: dict[str, Any], parts: dict[str, Any]) -> dict[str, Any]:
    u = parts["usage"]
    cached = u["prompt_tokens_details"]["cached_tokens"]
    usage: dict[str, Any] = {
        "input_tokens": u["prompt_tokens"] - cached,
        "output_tokens": u["completion_tokens"],
        "cache_read_input_tokens": cached,
    }
    if cached:  # §17: float usage after a cache hit
        usage = {k: float(v) for k, v in usage.items()}
    return usage


def _blocks(parts: dict[str, Any]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if parts["reasoning"]:
        blocks.append({"type": "thinking", "thinking": parts["reasoning"], "signature": _signature(parts["reasoning"])})
    blocks.append({"type": "text", "text": parts["text"]})  # empty when the answer is tool calls: a quirk
    for call in parts["calls"] or []:
        fn = call["function"]
        blocks.append({"type": "tool_use", "id": call["id"], "name": fn["name"], "input": json.loads(fn["arguments"])})
    return blocks


def _ev(name: str, data: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + _DUMPB({"type": name, **data}) + b"\n\n"


def _block_events(index: int, block: dict[str, Any], parts: dict[str, Any]) -> list[bytes]:
    """``content_block_start``, its deltas and ``content_block_stop`` for one block of the answer."""
    kind = block["type"]
    if kind == "thinking":
        start = {**block, "thinking": "", "signature": ""}
        deltas = [
            {"type": "thinking_delta", "thinking": block["thinking"]},
            {"type": "signature_delta", "signature": block["signature"]},
        ]
    elif kind == "text":
        start = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": piece} for piece in parts["pieces"]]
    else:
        start = {**block, "input": {}}
        deltas = [{"type": "input_json_delta", "partial_json": _DUMPS(block["input"])}]
    return [
        _ev("content_block_start", {"index": index, "content_block": start}),
        *(_ev("content_block_delta", {"index": index, "delta": d}) for d in deltas),
        _ev("content_block_stop", {"index": index}),
    ]


def _events(body: dict[str, Any], parts: dict[str, Any], mid: str) -> list[bytes]:
    message = {
        "id": mid,
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 0, "output_tokens": 0},  # the reported quirk
    }
    events = [_ev("message_start", {"message": message}), _ev("ping", {})]
    for index, block in enumerate(_blocks(parts)):
        events += _block_events(index, block, parts)
    delta = {"stop_reason": stop_reason_for(parts["finish"]), "stop_sequence": None}
    events.append(_ev("message_delta", {"delta": delta, "usage": _usage(body, parts)}))
    events.append(_ev("message_stop", {}))
    return events


def _stream_error(fault: Fault) -> bytes:
    """The ``error`` event a ``stream_error`` fault ends the stream with (type from the code's status)."""
    from glmkit._errors import code_row

    code = fault.code or "1234"
    try:
        status = code_row(code).status
    except KeyError:
        status = 500
    return _ev("error", {"error": error_body(status, fault.message or "Network error", code=code)["error"]})


async def _stream(
    state: EmulatorState, events: list[bytes], fault: Fault | None, slot: Concurrency
) -> AsyncIterator[bytes]:
    try:
        cut_at = fault.after if fault is not None and fault.kind in ("cut", "stream_error") else None
        for i, event in enumerate(events):
            if cut_at is not None and i >= cut_at:
                if fault is not None and fault.kind == "stream_error":
                    yield _stream_error(fault)
                return
            yield event
            if state.config.chunk_delay:
                await asyncio.sleep(state.config.chunk_delay)
    finally:
        slot.release()


def _check(body: Any) -> Response | None:
    if not isinstance(body, dict):
        return _error(400, "1210", "Request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return _error(400, "1214", "model: Field required")
    info = get_model(model)
    if info is None or info.kind != "chat" or model.endswith("[1m]"):
        return _error(400, "1211", f"Unknown Model, please check the model code: {model}")
    if not isinstance(body.get("max_tokens"), int):
        return _error(400, "1214", "max_tokens: Field required")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return _error(400, "1214", "messages: Input cannot be empty")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
            return _error(400, "1214", f"messages.{i}.role: Input should be 'user' or 'assistant'")
        content = m.get("content")
        if not isinstance(content, str) and not (
            isinstance(content, list) and all(isinstance(b, dict) and isinstance(b.get("type"), str) for b in content)
        ):
            return _error(400, "1214", f"messages.{i}.content: Input should be a string or a list of typed blocks")
    return None


async def _answer(state: EmulatorState, request: Request, rid: str) -> Response:
    """A Messages request answered (or refused) as Z.AI's Anthropic endpoint would."""
    early, fault = await admit(state, request)
    if early is not None:
        return _as_anthropic(early)
    try:
        body = json.loads(await request.body())
    except ValueError:
        return _error(400, "1210", "Request body is not valid JSON")
    if (bad := _check(body)) is not None:
        return bad
    info = get_model(body["model"])
    glm, images = to_glm(body)
    if (turns := check_messages(glm["messages"], None)) is not None:
        return _as_anthropic(turns)  # the same refusals as the chat surface (empty text, unpaired tool calls)
    if images and info is not None and not info.vision:
        return _error(400, "1210", "messages.content.type: Input should be one of ['text']")
    slot = Concurrency(state, body["model"])
    if (busy := slot.acquire()) is not None:
        return _as_anthropic(busy)
    chunks = request.headers.get("x-emulator-chunks")
    parts = completion_parts(state, glm, int(chunks) if chunks and chunks.isdigit() else None)
    if fault is not None and fault.kind == "finish":
        parts["finish"] = fault.reason
    mid = "msg_" + rid
    state.record_usage({"model": body["model"], "surface": "anthropic", **parts["usage"]})
    if body.get("stream"):
        return StreamingResponse(
            _stream(state, _events(body, parts, mid), fault, slot),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "request-id": mid},
        )
    try:
        message = {
            "id": mid,
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": _blocks(parts),
            "stop_reason": stop_reason_for(parts["finish"]),
            "stop_sequence": None,
            "usage": _usage(body, parts),
        }
        return JSONResponse(message, headers={"request-id": mid})
    finally:
        slot.release()


def root_routes(state: EmulatorState) -> list[Route]:
    """The Anthropic-compatible route below ``/api``."""

    async def messages(request: Request) -> Response:
        rid = state.new_id()
        answer = await _answer(state, request, rid)
        return answer if answer.status_code < 400 else _stamped(answer, rid)

    async def not_served(request: Request) -> Response:
        # reference silent: the code and text of the live 404 (§14.2 leaves count_tokens UNVERIFIED)
        rid = state.new_id()
        return _stamped(_error(404, "1222", f"API {request.url.path} does not exist"), rid)

    return [
        Route("/anthropic/v1/messages", messages, methods=["POST"]),
        Route("/anthropic/{rest:path}", not_served, methods=["GET", "POST", "PUT", "DELETE", "HEAD"]),
    ]
