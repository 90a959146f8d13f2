"""The gateway's ASGI app: Anthropic Messages and OpenAI Chat in front of the GLM coding endpoint.

``create_app(config, settings)`` builds a Starlette app whose state (upstream client, shaper, ledger
writer) lives on ``app.state.gateway``; nothing is module-level. Routes:

- ``POST /v1/messages`` (translate or passthrough), ``POST /v1/messages/count_tokens`` (local estimate);
- ``POST /v1/responses`` (OpenAI Responses, what Codex speaks; ``responses.py``);
- ``POST /v1/chat/completions`` and ``GET /v1/models`` (OpenAI style; Anthropic clients get the mapped
  models from ``/v1/models``); ``GET /health``.

Every request first passes ``RequestGuard`` (foreign ``Host``, non-loopback ``Origin``, non-JSON POST bodies and
bodies over ``max_body`` are refused in the route's dialect; see docs/gateway.md, Security). Every route's
handler runs inside ``endpoint.endpoint`` (token check, body, ledger row, errors in the
route's dialect); the handlers here only speak their protocol.

``anthropic-version`` is not required (curl works without it); a client that sends it (or ``x-api-key``) gets
Anthropic's shape from ``GET /v1/models``, with ids Claude Code keeps (``GatewayConfig.listed_models``). Passthrough
mode relays it to Z.AI (``2023-06-01`` when absent) with the ``anthropic-beta`` flags that mean something there
(``UPSTREAM_BETAS``).

The upstream key never leaves: clients authenticate with the gateway token (if one is set) and the
gateway signs upstream requests itself. Bodies are logged only with ``log_bodies``, keys redacted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from glmkit._config import Settings
from glmkit._json import dumpb as _DUMPB
from glmkit._json import loads as json_loads
from glmkit._request_guard import RequestGuard
from glmkit._transport import Call, request_id_of
from glmkit.catalog import get_model
from glmkit.gateway import anthropic as tr
from glmkit.gateway import anthropic_stream as st
from glmkit.gateway import openai as oa
from glmkit.gateway.anthropic_check import TranslationError
from glmkit.gateway.asgi import GatewayApp
from glmkit.gateway.config import GatewayConfig
from glmkit.gateway.endpoint import (
    ANTHROPIC,
    OPENAI,
    checked,
    endpoint,
    http_error,
    refusal,
    while_connected,
)
from glmkit.gateway.opening import open_now, open_stream_now, open_when_granted, plain_slot
from glmkit.gateway.passthrough import PassthroughFixer, fix_message, fold_system_messages
from glmkit.gateway.relay import Flight, Record, open_upstream, relay_passthrough, relay_raw, relay_translated
from glmkit.gateway.responses import responses
from glmkit.gateway.shaping import Slot
from glmkit.gateway.state import Gateway, Stream, redact_body
from glmkit.types.anthropic import MESSAGES
from glmkit.types.chat import CHAT_COMPLETIONS
from glmkit.types.models import LIST_MODELS

__all__ = ["Gateway", "create_app", "redact_body"]

log = logging.getLogger("glmkit.gateway")
ANTHROPIC_VERSION = "2023-06-01"
PLAN_LIMIT_TOOLS = frozenset({"claude-code"})  # callers (by User-Agent) that get anthropic-ratelimit-unified-*


# ---- /v1/messages --------------------------------------------------------------------------------


async def _describe_images(gw: Gateway, body: dict[str, Any], client: str) -> dict[str, Any]:
    """Ask the vision model to describe each image, and put the descriptions in their place."""

    model = gw.config.vision_model

    async def describe(image: dict[str, Any]) -> str:
        slot = await gw.shaper.acquire(model, client)
        call = Call(CHAT_COMPLETIONS, json=tr.describe_body(image, model))
        response, slot = await open_upstream(gw.upstream, gw.shaper, call, slot, client)
        try:
            data = json.loads(await response.aread())
        finally:
            await response.aclose()
            gw.shaper.release(slot)
        return str(((data.get("choices") or [{}])[0].get("message") or {}).get("content") or "")

    texts = await asyncio.gather(*(describe(i) for i in tr.image_blocks(body)))
    return tr.replace_images(body, list(texts))


def _passthrough_plan(body: dict[str, Any], gw: Gateway, record: Record) -> tuple[dict[str, Any], tr.Plan, bool]:
    """The body for Z.AI's Anthropic endpoint (model mapped, vision routed) and the plan to mend its answer;
    a request the pre-flight had to repair goes translated instead (the repair is made on the chat body), and the
    last value says so."""
    glm_body, plan = tr.to_chat(body, gw.config)
    if checked(gw, record, glm_body, plan.labels):
        record.row["notes"].append("sent through translation (the repair is made on the chat form)")
        plan.model = glm_body["model"]
        return glm_body, plan, True
    out = fold_system_messages({**body, "model": plan.model})
    info = get_model(plan.model)
    if info is not None and not info.can_disable_thinking and (body.get("thinking") or {}).get("type") == "disabled":
        del out["thinking"]  # an always-thinking model rejects `disabled` (reference §17): let it think as it must
    return out, plan, False


# ``anthropic-beta`` flags passed to Z.AI's Anthropic endpoint: those naming behaviour GLM has (interleaved thinking,
# streamed tool arguments). Claude Code also sends claude-code-*, context-management-*, effort-*, prompt-caching-*
# and others that concern Anthropic's own servers; which flags Z.AI reads or refuses is UNVERIFIED, so only these go.
UPSTREAM_BETAS = ("interleaved-thinking-", "fine-grained-tool-streaming-")


def upstream_betas(value: str | None) -> str:
    """The ``anthropic-beta`` flags worth sending upstream, comma-separated (empty when none)."""
    flags = [f.strip() for f in (value or "").split(",") if f.strip()]
    return ",".join(f for f in flags if f.startswith(UPSTREAM_BETAS))


def _anthropic_headers(request: Request) -> dict[str, str]:
    """The client's protocol headers, for Z.AI's Anthropic endpoint (``anthropic-version`` defaulted)."""
    headers = {"anthropic-version": request.headers.get("anthropic-version") or ANTHROPIC_VERSION}
    if beta := upstream_betas(request.headers.get("anthropic-beta")):
        headers["anthropic-beta"] = beta
    return headers


async def messages(gw: Gateway, request: Request, flight: Flight, body: Any) -> Response:
    """``POST /v1/messages``."""
    record = flight.record
    if not isinstance(body, dict):
        raise TranslationError("The request body must be a JSON object (Anthropic Messages API).")
    client = record.row["client"] = gw.client_of(request, body)
    record.row["model_requested"] = body.get("model")
    mode = gw.config.mode_for("/v1/messages")
    if gw.config.vision == "describe" and tr.has_images(body):
        tr.check_request(body)
        info = get_model(gw.config.map_model(str(body.get("model", ""))))
        if info is not None and not info.vision:
            body = await _describe_images(gw, body, client)
    if mode == "translate":
        upstream_body, plan = tr.to_chat(body, gw.config)
        checked(gw, record, upstream_body, plan.labels)
        plan.model = upstream_body["model"]
    else:
        upstream_body, plan, repaired = _passthrough_plan(body, gw, record)
        mode = "translate" if repaired else mode
    if mode == "translate":
        call = Call(CHAT_COMPLETIONS, json=upstream_body)
    else:
        call = Call(MESSAGES, json=upstream_body, headers=_anthropic_headers(request))
    record.row["model_used"] = plan.model
    tr.check_context(plan, gw.config)
    if plan.stream:
        call.headers = {**(call.headers or {}), "Accept": "text/event-stream"}
    hold = gw.hold_for(request, record)
    # the cached plan-limit headers, for Claude Code (whose interface is where they mean something; other clients
    # cause no monitor reads); a refresh, if due, runs in the background
    limits = gw.plan_limits.headers() if record.row.get("tool") in PLAN_LIMIT_TOOLS else {}
    if plan.stream:
        slot = None if hold else gw.slot_or_ticket(plan.model, client, flight)
        response = await _stream_messages(gw, flight, call, plan, mode, client, slot, hold)
    else:
        if hold:
            await while_connected(request, gw.hold(record, hold))
        slot = await plain_slot(gw, request, flight, gw.slot_or_ticket(plan.model, client, flight))
        if slot is None:
            return Response(status_code=499)
        await while_connected(request, open_now(gw, flight, call, client, slot))
        response = await _plain_message(flight, plan, mode)
    response.headers.update(limits)
    return response


async def _plain_message(flight: Flight, plan: tr.Plan, mode: str) -> Response:
    """The whole answer, read from the open upstream response and translated (or mended) to an Anthropic message."""
    record = flight.record
    assert flight.response is not None
    raw = await flight.response.aread()
    data = json_loads(raw)
    if mode == "translate":
        finish = ((data.get("choices") or [{}])[0]).get("finish_reason")
        if finish == "network_error":
            record.fail(500, "1234")
            return ANTHROPIC.error(500, "The model failed during inference (finish_reason network_error).", "1234")
        record.usage(data.get("usage"))
        message = tr.to_message(data, plan)
    else:
        message = fix_message(data, plan)
        record.usage(message.get("usage"), anthropic=True)
    flight.finished = True
    rid = request_id_of(flight.response, data)
    headers = {"request-id": rid} if rid else None
    # a message that needed no mending goes out as the upstream's bytes (no second encoding)
    content = raw if message is data else _DUMPB(message)
    return Response(content, media_type="application/json", headers=headers)


async def _stream_messages(
    gw: Gateway, flight: Flight, call: Call, plan: tr.Plan, mode: str, client: str, slot: Slot | None, hold: float = 0
) -> Response:
    record = flight.record
    translator = st.StreamTranslator(plan) if mode == "translate" else None
    if slot is not None:  # not queued: an upstream error before the first byte is still an HTTP status
        await open_stream_now(gw, flight, call, client, slot)  # a 1302 sends it back to the queue, with pings

    async def body() -> AsyncIterator[bytes]:
        started = flight.response is None
        if started:  # queued: open the message now and ping until a slot comes, so the client does not time out
            yield translator.start() if translator else st.message_start(plan, tr.message_id(None))
            if hold:  # background work at peak price: held (pinged) until off-peak, then queued
                await gw.hold(record, hold)
                flight.ticket = gw.shaper.enqueue(plan.model, client)
            async for piece in open_when_granted(gw, flight, call, client, ANTHROPIC):
                yield piece
            if flight.response is None:
                return
        assert flight.response is not None
        if translator is not None:
            relay = relay_translated(flight.response, translator, record, started=started)
        else:
            relay = relay_passthrough(flight.response, PassthroughFixer(plan, started=started), record)
        async for piece in relay:
            yield piece
        flight.finished = record.status == 200

    return Stream(body(), flight, ping=ANTHROPIC.ping, interval=gw.config.ping_interval)


async def count_tokens(gw: Gateway, request: Request, flight: Flight, body: Any) -> Response:
    """``POST /v1/messages/count_tokens``: the gateway's estimate (the same one ``message_start`` carries)."""
    record = flight.record
    if not isinstance(body, dict):
        raise TranslationError("The request body must be a JSON object.")
    record.row["model_requested"] = body.get("model")
    _, plan = tr.to_chat({**body, "max_tokens": 1, "stream": False}, gw.config)
    record.row["model_used"] = plan.model
    record.row["input_tokens"] = plan.input_tokens
    flight.finished = True
    return JSONResponse({"input_tokens": plan.input_tokens})


# ---- OpenAI routes -------------------------------------------------------------------------------


async def chat_completions(gw: Gateway, request: Request, flight: Flight, body: Any) -> Response:
    """``POST /v1/chat/completions``, passed through to the coding endpoint."""
    record = flight.record
    upstream_body = oa.to_upstream(body, gw.config)
    client = record.row["client"] = gw.client_of(request, body)
    checked(gw, record, upstream_body)
    model = upstream_body["model"]
    record.row["model_requested"], record.row["model_used"] = body["model"], model
    stream = bool(upstream_body.get("stream"))
    if stream and upstream_body.get("tools") and "tool_stream" not in upstream_body and _streams_tools(model):
        upstream_body["tool_stream"] = True  # arguments arrive as they are written, not after a long silence
    call = Call(CHAT_COMPLETIONS, json=upstream_body, headers={"Accept": "text/event-stream"} if stream else None)
    hold = gw.hold_for(request, record)
    if stream:
        slot = None if hold else gw.slot_or_ticket(model, client, flight)
        if slot is not None:
            await open_stream_now(gw, flight, call, client, slot)
        return Stream(
            _openai_stream(gw, flight, call, client, hold), flight, ping=OPENAI.ping, interval=gw.config.ping_interval
        )
    if hold:
        await while_connected(request, gw.hold(record, hold))
    slot = await plain_slot(gw, request, flight, gw.slot_or_ticket(model, client, flight))
    if slot is None:
        return Response(status_code=499)
    await while_connected(request, open_now(gw, flight, call, client, slot))
    assert flight.response is not None
    content = await flight.response.aread()
    usage = json_loads(content).get("usage")
    record.usage(usage if isinstance(usage, dict) else None)
    flight.finished = True
    return Response(oa.fix_completion(content), media_type="application/json")


def _streams_tools(model: str) -> bool:
    """Whether to ask for ``tool_stream``: the catalog says the model takes it (reference §2.1: GLM-4.6 and above),
    or the model is one the catalog does not know yet (new models are of the current generation)."""
    info = get_model(model)
    return info is None or info.tool_stream


async def _openai_stream(gw: Gateway, flight: Flight, call: Call, client: str, hold: float = 0) -> AsyncIterator[bytes]:
    if flight.response is None:
        if hold:  # background work at peak price: held (pinged) until off-peak, then queued
            await gw.hold(flight.record, hold)
            flight.ticket = gw.shaper.enqueue(str(call.json["model"]), client)
        async for piece in open_when_granted(gw, flight, call, client, OPENAI):
            yield piece
        if flight.response is None:
            return
    tagger = oa.ChunkObjects()
    async for piece in relay_raw(flight.response, flight.record):
        if out := tagger.feed(piece):
            yield out
    if rest := tagger.flush():
        yield rest
    flight.finished = flight.record.status == 200


async def list_models(gw: Gateway, request: Request, flight: Flight, body: Any) -> Response:
    """``GET /v1/models``: the mapped models for Anthropic clients, the upstream list for OpenAI ones."""
    if "anthropic-version" in request.headers or "x-api-key" in request.headers:
        flight.finished = True
        return JSONResponse(oa.anthropic_models(gw.config.listed_models()))
    flight.response = await gw.upstream.open(Call(LIST_MODELS))
    content = await flight.response.aread()
    flight.finished = True
    return Response(content, media_type="application/json")


async def root(request: Request) -> Response:
    """``GET``/``HEAD /``: 200, for clients that probe the base URL before using it (Claude Code does)."""
    return JSONResponse({"gateway": "glmkit", "anthropic": "/v1/messages", "openai": "/v1"})


async def health(request: Request) -> Response:
    """Liveness, with the current per-model limits and queue depths (liveness only without the token, if one is set)."""
    gw: Gateway = request.app.state.gateway
    if not gw.authorized(request):
        return JSONResponse({"ok": True, "gateway": "glmkit"})
    lanes = {
        m: {"limit": gw.shaper.limit(m), "inflight": gw.shaper.inflight(m), "queued": gw.shaper.depth(m)}
        for m in gw.shaper.models()
    }
    return JSONResponse({"ok": True, "gateway": "glmkit", "mode": gw.config.mode, "models": lanes})


def create_app(
    config: GatewayConfig | None = None,
    settings: Settings | None = None,
    *,
    transport: Any = None,
    ledger: Any = None,
) -> Starlette:
    """Build the gateway app. ``transport`` is an httpx transport for the upstream (the in-process emulator)."""
    if settings is None:
        from glmkit._config import resolve_settings

        settings = resolve_settings()
    gateway = Gateway(config or GatewayConfig(), settings, transport=transport, ledger=ledger)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await gateway.aclose()

    hot = {
        "/v1/messages": endpoint("/v1/messages", messages, ANTHROPIC),
        "/v1/chat/completions": endpoint("/v1/chat/completions", chat_completions, OPENAI),
        "/v1/responses": endpoint("/v1/responses", responses, OPENAI),
    }
    routes = [
        *(Route(path, handle, methods=["POST"]) for path, handle in hot.items()),
        Route(
            "/v1/messages/count_tokens",
            endpoint("/v1/messages/count_tokens", count_tokens, ANTHROPIC),
            methods=["POST"],
        ),
        Route("/v1/models", endpoint("/v1/models", list_models, None), methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/", root, methods=["GET", "HEAD"]),
    ]
    guard = Middleware(RequestGuard, policy=gateway.config.guard_policy(), refuse=refusal)
    app = GatewayApp(
        hot=hot, guard=guard, routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_error}
    )
    app.state.gateway = gateway
    return app
