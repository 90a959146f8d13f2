"""The emulator's chat completions: plain, streaming, async jobs (reference §2).

Answers are deterministic functions of the request (``chat_answers.py``: text, reasoning, tool calls,
JSON); requests are checked as the real API checks them (``chat_checks.py``). Streaming frames are written
by hand (one compact JSON line per chunk) so the emulator is never the bottleneck of a benchmark;
``X-Emulator-Chunks: N`` asks for an answer of N content chunks.

Reasoning (reference §2.5): a thinking model's assistant turns that made tool calls must come back
with their ``reasoning_content``. Each request body is kept in ``state.extra["chat"]["received"]`` (the
last 200) and turns sent back without it are counted in ``state.extra["chat"]["reasoning_missing"]``;
``EmulatorConfig(options={"require_reasoning": True})`` makes such a request fail with 1214.

A Coding Plan key with no balance (see ``balance.py``) gets 429/1113 on the general endpoint (§1.1) and is
served on the coding endpoint. A reused ``request_id`` gets 1231 (§2.1).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from glmkit._json import dumpb as DUMPB
from glmkit._json import dumps as DUMPS
from glmkit._sse import encode_data
from glmkit._tokens import estimate_messages, estimate_text
from glmkit.emulator.admission import Concurrency, json_route
from glmkit.emulator.balance import balance_refused
from glmkit.emulator.chat_answers import (
    WORD,
    answer_text,
    json_answer,
    last_user_text,
    media_count,
    reasoning_text,
    thinks,
    tool_calls_for,
)
from glmkit.emulator.chat_checks import duplicate_request_id, reasoning_check, validate
from glmkit.emulator.faults import Fault
from glmkit.emulator.prompt_cache import cached_tokens
from glmkit.emulator.state import EmulatorState
from glmkit.emulator.web_search import search_hits

__all__ = ["answer_text", "completion_body", "completion_parts", "media_count", "routes", "validate"]


def completion_parts(state: EmulatorState, body: dict[str, Any], chunks: int | None = None) -> dict[str, Any]:
    """Everything an answer consists of, for the plain and the streamed form alike.

    ``max_tokens`` caps reasoning and answer together (reasoning comes first, as thinking tokens count against
    ``max_tokens``, reference §14.2): a truncated answer ends with ``length``, keeps the reasoning and text that
    fit, and has no tool calls (a call cut short is no call); ``completion_tokens`` is then ``max_tokens``.
    """
    model = body["model"]
    messages = body["messages"]
    calls = tool_calls_for(state, body)
    reasoning = reasoning_text(messages) if thinks(model, body) else ""
    text = "" if calls else answer_text(model, messages)
    if not calls and (body.get("response_format") or {}).get("type") == "json_object":
        text = json_answer(body, text)
    pieces = WORD.findall(text)
    if chunks:
        pieces = [f"w{i} " for i in range(chunks)]
        text = "".join(pieces)
    finish = "tool_calls" if calls else "stop"
    stop = (body.get("stop") or [None])[0]
    if stop and stop in text:
        text = text[: text.index(stop)]
        pieces = WORD.findall(text)
    completion_tokens = estimate_text(text) + estimate_text(reasoning) + CALL_TOKENS * len(calls or [])
    mt = body.get("max_tokens")
    if mt is not None and completion_tokens > mt:
        finish, completion_tokens = "length", mt
        reasoning = _fit(reasoning, mt)
        room = mt - estimate_text(reasoning)
        if calls:
            calls, pieces = None, []  # the calls did not fit whole: no tool_calls, no content
        else:
            pieces = WORD.findall(_fit(text, room))
        text = "".join(pieces)
    prompt_tokens = estimate_messages(messages)
    cached = cached_tokens(state.extra, model, body.get("tools"), messages)
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": cached},
        "completion_tokens_details": {"reasoning_tokens": estimate_text(reasoning)},
    }
    return {"text": text, "pieces": pieces, "reasoning": reasoning, "calls": calls, "finish": finish, "usage": usage}


CALL_TOKENS = 20
"""What one tool call costs in completion tokens (an emulator figure)."""


def _fit(text: str, budget: int) -> str:
    """The longest run of whole words from the start of ``text`` whose estimate is within ``budget`` tokens."""
    kept: list[str] = []
    used = 0
    for piece in WORD.findall(text):
        cost = estimate_text(piece)
        if used + cost > budget:
            break
        kept.append(piece)
        used += cost
    return "".join(kept)


def completion_body(state: EmulatorState, body: dict[str, Any], parts: dict[str, Any], rid: str) -> dict[str, Any]:
    """The non-streamed response (reference §2.4)."""
    message: dict[str, Any] = {"role": "assistant", "content": parts["text"]}
    if parts["reasoning"]:
        message["reasoning_content"] = parts["reasoning"]
    if parts["calls"]:  # live evidence §1: each item carries its index
        message["tool_calls"] = [{**call, "index": i} for i, call in enumerate(parts["calls"])]
    answer = {
        "id": rid,
        "object": "chat.completion",  # live evidence §1 (2026-03 recordings; absent in 2025 ones)
        "request_id": body.get("request_id") or rid,
        "created": state.now(),
        "model": body["model"],
        "choices": [{"index": 0, "finish_reason": parts["finish"], "message": message}],
        "usage": parts["usage"],
    }
    if (hits := web_search_results(state, body)) is not None:
        answer["web_search"] = hits
    return answer


def web_search_results(state: EmulatorState, body: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The top-level ``web_search`` array (§2.3) when the request's web_search tool ran (``enable``) and asked
    for its results in the response (``search_result``); the same hits as ``POST /web_search`` gives."""
    # reference silent: where a streamed answer carries the array; streams leave it out
    for tool in body.get("tools") or []:
        spec = tool.get("web_search") if tool.get("type") == "web_search" else None
        if spec and spec.get("enable") and spec.get("search_result"):
            query = spec.get("search_query") or last_user_text(body["messages"]).strip() or "search"
            args = {k: spec.get(k) for k in ("count", "search_domain_filter", "search_recency_filter", "content_size")}
            today = dt.datetime.fromtimestamp(state.clock(), dt.UTC).date()
            return search_hits({**args, "search_query": query}, today)
    return None


def sse_chunks(state: EmulatorState, body: dict[str, Any], parts: dict[str, Any], rid: str, finish: str) -> list[bytes]:
    """The chunk objects of a streamed answer, as the live API sends them (live evidence §1, fantasy cassettes of
    2026-03-13): every chunk has ``"object": "chat.completion.chunk"``; reasoning and content deltas carry
    ``role``; tool-call deltas carry only ``tool_calls``; no chunk but the last has a ``finish_reason`` key, and
    the last alone carries ``finish_reason`` and ``usage`` (an empty content delta)."""
    head = (
        f'{{"id":"{rid}","created":{state.now()},"object":"chat.completion.chunk","model":{DUMPS(body["model"])},'
        '"choices":[{"index":0,'
    )
    head_b = head.encode() + b'"delta":'
    tail = b"}]}"
    frames: list[bytes] = []
    for piece in WORD.findall(parts["reasoning"]):
        frames.append(head_b + b'{"role":"assistant","reasoning_content":' + DUMPB(piece) + b"}" + tail)
    for piece in parts["pieces"]:
        frames.append(head_b + b'{"role":"assistant","content":' + DUMPB(piece) + b"}" + tail)
    if parts["calls"]:
        frames.extend(_tool_call_frames(head_b, tail, parts["calls"], bool(body.get("tool_stream"))))
    last = b'"finish_reason":' + DUMPB(finish) + b',"delta":{"role":"assistant","content":""}}],"usage":'
    frames.append(head.encode() + last + DUMPB(parts["usage"]) + b"}")
    return frames


async def stream_frames(
    state: EmulatorState, body: dict[str, Any], parts: dict[str, Any], rid: str, fault: Fault | None, slot: Concurrency
) -> AsyncIterator[bytes]:
    """The SSE body of a streamed answer, with stream faults applied (a cut ends the body without ``[DONE]``; a
    stream error sends ``data: {"error": ...}`` first, §2.6); batched 64 frames a write unless ``chunk_delay``."""
    try:
        finish = fault.reason if fault is not None and fault.kind == "finish" else parts["finish"]
        frames = sse_chunks(state, body, parts, rid, finish)
        delay = state.config.chunk_delay
        cut_at = fault.after if fault is not None and fault.kind in ("cut", "stream_error") else None
        out: list[bytes] = []
        i = -1
        for frame in frames:
            if not frame:  # the model writing without streaming it (tool arguments without tool_stream): silence
                if delay:
                    await asyncio.sleep(delay)
                continue
            i += 1
            if cut_at is not None and i >= cut_at:
                if out:
                    yield b"".join(out)
                if fault is not None and fault.kind == "stream_error":
                    message = fault.message or "Network error, error id: emulated"
                    yield encode_data(DUMPS({"error": {"code": fault.code or "1234", "message": message}}))
                return
            if delay:
                yield b"data: " + frame + b"\n\n"
                await asyncio.sleep(delay)
                continue
            out.append(b"data: " + frame + b"\n\n")
            if len(out) >= 64:
                yield b"".join(out)
                out = []
        out.append(b"data: [DONE]\n\n")
        yield b"".join(out)
    finally:
        slot.release()


FRAGMENT = 256  # the longest argument fragment a tool_stream chunk carries (reference silent: live sizes vary)


def _tool_call_frames(head: bytes, tail: bytes, calls: list[dict[str, Any]], fragmented: bool) -> list[bytes]:
    """Tool-call deltas: ``{"tool_calls": [...]}`` alone, no ``role`` (live evidence §1). With ``tool_stream`` the
    arguments in fragments after a first delta with id and name (§2.1, §2.6); else each call whole, as the live API
    streams it, after the silence its writing takes (empty frames: ``chunk_delay`` each, nothing sent).
    reference silent: the live fragment sizes (no recording uses ``tool_stream``)."""
    frames = []
    for index, call in enumerate(calls):
        args = call["function"]["arguments"]
        step = max(1, min(len(args) // 4, FRAGMENT))
        if not fragmented:
            frames.extend([b""] * (len(range(0, len(args), step)) - 1))
            whole = {"id": call["id"], "index": index, "type": "function", "function": call["function"]}
            frames.append(head + DUMPB({"tool_calls": [whole]}) + tail)
            continue
        first = {
            "id": call["id"],
            "index": index,
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""},
        }
        frames.append(head + DUMPB({"tool_calls": [first]}) + tail)
        for start in range(0, len(args), step):
            frag = {"index": index, "function": {"arguments": args[start : start + step]}}
            frames.append(head + DUMPB({"tool_calls": [frag]}) + tail)
    return frames


def _surface(request: Request) -> str:
    return "coding" if "/coding/" in request.url.path else "general"


def _plan_key_on_general(state: EmulatorState, request: Request) -> Response | None:
    return balance_refused(state, request) if _surface(request) == "general" else None


def accept(state: EmulatorState, request: Request, body: dict[str, Any], *, log: bool = True) -> Response | None:
    """Check a chat request (``chat_checks.validate``, the request id, the reasoning log); on success the model id
    is made canonical in ``body``: ids are matched case-insensitively and answered lowercase.
    """
    invalid = validate(body, _surface(request))
    if invalid is None:
        # reference silent: which spelling the response's ``model`` carries for an upper-case request (§14.6)
        body["model"] = body["model"].lower()
        invalid = duplicate_request_id(state, body) or (reasoning_check(state, body) if log else None)
    return invalid


def routes(state: EmulatorState) -> list[Route]:
    """Chat routes below a surface prefix."""

    def chat_completions(request: Request, body: dict[str, Any], fault: Fault | None) -> Response:
        if (invalid := accept(state, request, body)) is not None:
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

    def async_chat(request: Request, body: dict[str, Any], fault: Fault | None) -> Response:
        body.pop("stream", None)  # §2.7: same body as sync, no stream
        if (invalid := accept(state, request, body, log=False)) is not None:
            return invalid
        parts = completion_parts(state, body)
        rid = state.new_id()
        state.record_usage({"model": body["model"], "surface": _surface(request), **parts["usage"]})
        result = completion_body(state, body, parts, rid)
        state.jobs[rid] = {
            "kind": "chat",
            "created": state.clock(),
            "model": body["model"],
            "request_id": result["request_id"],
            "result": {k: result[k] for k in ("choices", "usage", "web_search") if k in result},
        }
        return JSONResponse(
            {"id": rid, "request_id": result["request_id"], "model": body["model"], "task_status": "PROCESSING"}
        )

    return [
        json_route(state, "/chat/completions", chat_completions, refuse=_plan_key_on_general),
        json_route(state, "/async/chat/completions", async_chat, refuse=_plan_key_on_general),
    ]
