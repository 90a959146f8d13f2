"""``POST /v1/responses``: the OpenAI Responses API (what Codex speaks, live-evidence §5) in front of Z.AI.

- translate (default): the request becomes a chat request on the coding endpoint (``responses_chat.to_chat``,
  model mapped as on the other routes) and the answer, whole or streamed, comes back as Responses output items
  and events (``ResponseWriter``): text, reasoning, function calls, and free-form ``custom`` tool calls
  (Codex's ``apply_patch``) turned back from the function GLM was given.
- passthrough: relayed to Z.AI's Responses endpoint (``https://api.z.ai/api/v1/responses``, §14.6) with the
  model mapped.

In translate mode the chat form goes through the same pre-flight as the other routes (``preflight.py``: repaired
or refused with a 400 naming the item); passthrough relays the body as it came (what Z.AI's Responses endpoint
refuses is UNVERIFIED).

Both go through the same queue, retries before the first byte and ledger row as the other routes. Unknown
fields are tolerated (ignored in translate mode, relayed in passthrough). A stream that ends before the
answer is complete (the upstream cut, an upstream error event) ends with an ``error`` event and
``response.failed``, never a clean end.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response

from glmkit._json import dumpb as _DUMPB
from glmkit._json import loads as json_loads
from glmkit._sse import SSEDecoder
from glmkit._transport import Call
from glmkit.gateway.anthropic_check import TranslationError
from glmkit.gateway.endpoint import OPENAI, checked
from glmkit.gateway.opening import open_now, open_stream_now, open_when_granted, plain_slot
from glmkit.gateway.relay import UPSTREAM_ERRORS, Flight, Record, _pump, _status_for_code, body_of
from glmkit.gateway.state import Gateway, Stream
from glmkit.responses_chat import Plan, ResponseWriter, to_chat
from glmkit.responses_chat import TranslationError as RequestError
from glmkit.types.chat import CHAT_COMPLETIONS
from glmkit.types.responses import RESPONSES

__all__ = ["responses"]

_TERMINAL = (b"response.completed", b"response.incomplete", b"response.failed")


def record_usage(record: Record, usage: Any) -> None:
    """Note Responses usage (input/output tokens, reasoning tokens) on the ledger row."""
    if not isinstance(usage, dict):
        return
    record.row["input_tokens"] = int(usage.get("input_tokens") or 0)
    record.row["output_tokens"] = int(usage.get("output_tokens") or 0)
    details = usage.get("output_tokens_details") or {}
    record.row["reasoning_tokens"] = int(details.get("reasoning_tokens") or 0)


async def responses(gw: Gateway, request: Request, flight: Flight, body: Any) -> Response:
    """``POST /v1/responses``."""
    record = flight.record
    if not isinstance(body, dict):
        raise TranslationError("The request body must be a JSON object (OpenAI Responses API).")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise TranslationError("model is required, e.g. 'glm-5.3'.")
    client = record.row["client"] = gw.client_of(request, body)
    model = gw.config.map_model(body["model"])
    record.row["model_requested"], record.row["model_used"] = body["model"], model
    stream = bool(body.get("stream"))
    plan: Plan | None = None
    if gw.config.mode_for("/v1/responses") == "translate":
        try:
            chat, plan = to_chat(body, model=model)
        except RequestError as exc:
            raise TranslationError(str(exc)) from exc
        checked(gw, record, chat)  # the chat form repaired (or refused) as on the other routes
        plan.model = model = record.row["model_used"] = chat["model"]
        call = Call(CHAT_COMPLETIONS, json=chat)
    else:
        call = Call(RESPONSES, json={**body, "model": model})
    if stream:
        call.headers = {"Accept": "text/event-stream"}
    slot = gw.slot_or_ticket(model, client, flight)
    if stream:
        if slot is not None:
            await open_stream_now(gw, flight, call, client, slot)  # a 1302 sends it back to the queue, with pings
        body_ = _stream(gw, flight, call, client, plan)
        return Stream(body_, flight, ping=OPENAI.ping, interval=gw.config.ping_interval)
    slot = await plain_slot(gw, request, flight, slot)
    if slot is None:
        return Response(status_code=499)
    await open_now(gw, flight, call, client, slot)
    assert flight.response is not None
    raw = await flight.response.aread()
    data = json_loads(raw)
    if plan is None:  # relayed: the upstream's bytes as they came (read for the ledger's usage only)
        record_usage(record, data.get("usage"))
        flight.finished = True
        return Response(raw, media_type="application/json")
    choice = (data.get("choices") or [{}])[0]
    if choice.get("finish_reason") == "network_error":
        record.fail(500, "1234")
        return OPENAI.error(500, "The model failed during inference (finish_reason network_error).", "1234")
    record.usage(data.get("usage"))
    flight.finished = True
    return Response(_DUMPB(ResponseWriter(plan).from_completion(data)), media_type="application/json")


async def _stream(gw: Gateway, flight: Flight, call: Call, client: str, plan: Plan | None) -> AsyncIterator[bytes]:
    if flight.response is None:  # queued: comments until a slot comes
        async for piece in open_when_granted(gw, flight, call, client, OPENAI):
            yield piece
        if flight.response is None:
            return
    relay = _translated(flight.response, plan, flight.record) if plan is not None else None
    async for piece in relay or _relayed(flight.response, flight.record):
        yield piece
    flight.finished = flight.record.status == 200


def _translated(response: httpx.Response, plan: Plan, record: Record) -> AsyncIterator[bytes]:
    """GLM chat SSE in, Responses events out."""
    writer = ResponseWriter(plan)
    decoder = SSEDecoder()

    def feed(raw: bytes, out: list[bytes]) -> bool:
        for item in decoder.feed_data(raw):
            data = item if isinstance(item, bytes) else item.data
            if data != b"[DONE]" and not writer.feed_chunk(data, out):
                return False
        return True

    def tail(out: list[bytes]) -> None:
        if writer.chat_usage is not None:
            record.usage(writer.chat_usage)
        if writer.error is not None:
            code = writer.error.get("code")
            status = _status_for_code(code)
            record.fail(status, None if code is None else str(code))
            writer.fail(out, status, str(writer.error.get("message") or "Upstream error"), code and str(code))
        elif writer.finish_reason is None:
            record.fail(502)
            writer.fail(out, 502, "The upstream stream ended before the answer was complete.")
        else:
            if writer.finish_reason == "network_error":
                record.fail(500, "1234")
            writer.finish(out)

    def fail(status: int, message: str) -> bytes:
        out: list[bytes] = []
        writer.fail(out, status, message)
        return b"".join(out)

    head: list[bytes] = []
    writer.start(head)
    return _pump(response, feed, lambda: bool(writer.items) or writer.seq > 2, record, b"".join(head), tail, fail)


async def _relayed(response: httpx.Response, record: Record) -> AsyncIterator[bytes]:
    """Z.AI's Responses events relayed byte for byte; usage read from the terminal event for the ledger, and an
    ``error`` event added when the upstream stops before a terminal event."""
    tail = b""
    seen_end = False
    try:
        async for raw in body_of(response):
            if record.ttft is None:
                record.first_byte()
            tail = (tail + raw)[-65536:]
            seen_end = seen_end or any(t in tail for t in _TERMINAL)
            yield raw
    except UPSTREAM_ERRORS as exc:
        record.fail(502)
        yield _error_event(f"The upstream connection failed mid-stream: {type(exc).__name__}.")
        return
    if not seen_end:
        record.fail(502)
        yield _error_event("The upstream stream ended before the answer was complete.")
        return
    _usage_from_tail(tail, record)


def _error_event(message: str) -> bytes:
    error = {"type": "server_error", "code": "502", "message": message}
    data = {"type": "error", "code": "502", "message": message, "param": None, "error": error}
    return b"event: error\ndata: " + _DUMPB(data) + b"\n\n"


def _usage_from_tail(tail: bytes, record: Record) -> None:
    for item in SSEDecoder().feed(tail):
        try:
            data = json_loads(item.data)
        except ValueError:
            continue
        response = data.get("response") if isinstance(data, dict) else None
        if isinstance(response, dict) and response.get("usage"):
            record_usage(record, response["usage"])
            if data.get("type") == "response.failed":
                record.fail(502)
