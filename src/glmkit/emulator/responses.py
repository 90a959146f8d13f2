"""Z.AI's OpenAI Responses endpoint: ``POST /api/v1/responses`` (reference §1.1, §14.6; live-evidence §5).

The request is read as chat (``responses_chat.to_chat``) and checked with the chat checks, so the answer
comes from the same generator as chat completions (text, reasoning, tool calls driven by the tools given,
the same ``[emulator:...]`` markers); ``ResponseWriter`` writes it as a Responses object or event sequence.
Same key check, faults, 1302 concurrency limit and quota accounting as the other surfaces. A ``cut`` fault
ends the body after N events without ``response.completed``; ``stream_error`` sends an ``error`` event and
``response.failed`` there instead. Errors use Z.AI's body (``{"error": {"code", "message"}}``): the Responses
endpoint's own error shape is UNVERIFIED.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from glmkit.emulator.admission import Concurrency, error_response, json_route
from glmkit.emulator.chat import accept, completion_parts
from glmkit.emulator.chat_answers import WORD
from glmkit.emulator.faults import Fault
from glmkit.emulator.state import EmulatorState
from glmkit.responses_chat import ResponseWriter, TranslationError, to_chat


def _events(writer: ResponseWriter, parts: dict[str, Any], finish: str) -> list[bytes]:
    """Every event of the answer, in order (one list entry per event)."""
    out: list[bytes] = []
    writer.start(out)
    for piece in WORD.findall(parts["reasoning"]):
        writer.reasoning(piece, out)
    for piece in parts["pieces"]:
        writer.text(piece, out)
    for index, call in enumerate(parts["calls"] or []):
        fn = call["function"]
        writer.tool_call(index, call["id"], fn["name"], "", out)
        args = fn["arguments"]
        step = max(1, len(args) // 3)
        for start in range(0, len(args), step):
            writer.tool_call(index, None, None, args[start : start + step], out)
    writer.finish(out, finish, parts["usage"])
    return out


async def _stream(
    state: EmulatorState, events: list[bytes], writer: ResponseWriter, fault: Fault | None, slot: Concurrency
) -> AsyncIterator[bytes]:
    try:
        cut_at = fault.after if fault is not None and fault.kind in ("cut", "stream_error") else None
        for i, event in enumerate(events):
            if cut_at is not None and i >= cut_at:
                if fault is not None and fault.kind == "stream_error":
                    tail: list[bytes] = []
                    writer.seq = i
                    writer.fail(tail, 500, fault.message or "Network error, error id: emulated", fault.code or "1234")
                    yield b"".join(tail)
                return
            yield event
            if state.config.chunk_delay:
                await asyncio.sleep(state.config.chunk_delay)
    finally:
        slot.release()


def _message(parts: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": parts["text"]}
    if parts["reasoning"]:
        message["reasoning_content"] = parts["reasoning"]
    if parts["calls"]:
        message["tool_calls"] = parts["calls"]
    return message


def root_routes(state: EmulatorState) -> list[Route]:
    """The Responses route below ``/api``."""

    def responses(request: Request, body: dict[str, Any], fault: Fault | None) -> Response:
        try:
            chat, plan = to_chat(body)
        except TranslationError as exc:
            return error_response("1214", str(exc))
        # the plan surface: what the coding endpoint accepts (e.g. thinking "disabled" on GLM-5.3, §17)
        if (invalid := accept(state, request, chat)) is not None:
            return invalid
        plan.model = chat["model"]
        slot = Concurrency(state, chat["model"])
        if (busy := slot.acquire()) is not None:
            return busy
        chunks = request.headers.get("x-emulator-chunks")
        parts = completion_parts(state, chat, int(chunks) if chunks and chunks.isdigit() else None)
        finish = fault.reason if fault is not None and fault.kind == "finish" and fault.reason else parts["finish"]
        rid = state.new_id("resp_")
        writer = ResponseWriter(plan, rid, state.now())
        state.record_usage({"model": chat["model"], "surface": "responses", **parts["usage"]})
        if body.get("stream"):
            return StreamingResponse(
                _stream(state, _events(writer, parts, finish), writer, fault, slot),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Request-Id": rid},
            )
        try:
            answer = writer.from_completion(
                {"choices": [{"message": _message(parts), "finish_reason": finish}], "usage": parts["usage"]}
            )
            return JSONResponse(answer, headers={"X-Request-Id": rid})
        finally:
            slot.release()

    return [json_route(state, "/v1/responses", responses)]
