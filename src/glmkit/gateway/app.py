"""The gateway's ASGI app: Anthropic Messages and OpenAI Chat in front of the GLM coding endpoint.

``create_app(config, settings)`` builds a Starlette app whose state (upstream client, shaper, ledger
writer) lives on ``app.state.gateway``; nothing is module-level. Routes:

- ``POST /v1/messages`` (translate or passthrough), ``POST /v1/messages/count_tokens`` (local estimate);
- ``POST /v1/chat/completions`` and ``GET /v1/models`` (OpenAI style; Anthropic clients get the mapped
  models from ``/v1/models``); ``GET /health``.

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
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from glmkit._config import Settings
from glmkit._errors import GLMError
from glmkit._transport import Call
from glmkit.gateway import anthropic as tr
from glmkit.gateway import anthropic_stream as st
from glmkit.gateway import openai as oa
from glmkit.gateway.config import GatewayConfig
from glmkit.gateway.passthrough import PassthroughFixer, fix_message
from glmkit.gateway.relay import (
    Flight,
    Record,
    open_upstream,
    relay_passthrough,
    relay_raw,
    relay_translated,
    status_of,
    wait_in_queue,
)
from glmkit.gateway.shaping import QueueFull, QueueTimeout, Slot
from glmkit.gateway.state import Gateway, Stream, redact_body
from glmkit.types._base import Endpoint
from glmkit.types.anthropic import MESSAGES, error_body
from glmkit.types.chat import CHAT_COMPLETIONS

__all__ = ["Gateway", "create_app"]

log = logging.getLogger("glmkit.gateway")
MODELS = Endpoint("GET", "/models", "chat")
_DUMPS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
QUEUE_COMMENT = b": queued\n\n"


def anthropic_error(status: int, message: str, code: str | None = None) -> JSONResponse:
    """An error in Anthropic's body format."""
    return JSONResponse(error_body(status, message, code=code), status_code=status)


def openai_error(status: int, message: str, code: str | None = None) -> JSONResponse:
    """An error in Z.AI's (OpenAI-like) body format."""
    return JSONResponse({"error": {"code": code or str(status), "message": message}}, status_code=status)


def _upstream_error(gw: Gateway, exc: GLMError, record: Record, anthropic: bool) -> JSONResponse:
    status, code = status_of(exc)
    record.fail(status, code)
    message = getattr(exc, "message", str(exc))
    if not anthropic and hasattr(exc, "body") and isinstance(exc.body, dict):
        return JSONResponse(exc.body, status_code=status)
    return (anthropic_error if anthropic else openai_error)(status, message, code)


async def _read_json(request: Request) -> Any:
    raw = await request.body()
    try:
        return raw, json.loads(raw)
    except ValueError:
        return raw, None


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


def _passthrough_plan(body: dict[str, Any], gw: Gateway) -> tuple[dict[str, Any], tr.Plan]:
    """The body for Z.AI's Anthropic endpoint (model mapped, vision routed) and the plan to mend its answer."""
    from glmkit.catalog import get_model

    glm_body, plan = tr.to_chat(body, gw.config)
    out = {**body, "model": plan.model}
    info = get_model(plan.model)
    if info is not None and not info.can_disable_thinking and (body.get("thinking") or {}).get("type") == "disabled":
        del out["thinking"]  # an always-thinking model rejects `disabled` (reference §17): let it think as it must
    return out, plan


async def messages(request: Request) -> Response:
    """``POST /v1/messages``."""
    gw: Gateway = request.app.state.gateway
    record = Record("/v1/messages")
    flight = Flight(gw.shaper, record, gw.submit)
    streaming = False
    try:
        if not gw.authorized(request):
            record.fail(401)
            return anthropic_error(
                401, "Invalid gateway token: send the token given to `glm serve --token` as your API key."
            )
        raw, body = await _read_json(request)
        if gw.config.log_bodies:
            log.info("POST /v1/messages %s", redact_body(raw))
        if not isinstance(body, dict):
            record.fail(400)
            return anthropic_error(400, "The request body must be a JSON object (Anthropic Messages API).")
        client = record.row["client"] = gw.client_of(request, body)
        record.row["model_requested"] = body.get("model")
        mode = gw.config.mode_for("/v1/messages")
        try:
            if gw.config.vision == "describe" and tr.has_images(body):
                from glmkit.catalog import get_model

                info = get_model(gw.config.map_model(str(body.get("model", ""))))
                if info is not None and not info.vision:
                    body = await _describe_images(gw, body, client)
            if mode == "translate":
                upstream_body, plan = tr.to_chat(body, gw.config)
                call = Call(CHAT_COMPLETIONS, json=upstream_body)
            else:
                upstream_body, plan = _passthrough_plan(body, gw)
                call = Call(MESSAGES, json=upstream_body, headers={"anthropic-version": "2023-06-01"})
        except tr.TranslationError as exc:
            record.fail(400)
            return anthropic_error(400, str(exc))
        record.row["model_used"] = plan.model
        if plan.stream:
            call.headers = {**(call.headers or {}), "Accept": "text/event-stream"}
        try:
            slot = gw.slot_or_ticket(plan.model, client, flight)
        except QueueFull as exc:
            record.fail(429, "1302")
            return anthropic_error(429, f"The gateway queue is full ({exc}); try again shortly.", "1302")
        if plan.stream:
            response = await _stream_messages(gw, flight, call, plan, mode, client, slot)
            streaming = True
            return response
        return await _plain_messages(gw, request, flight, call, plan, mode, client, slot)
    except GLMError as exc:
        return _upstream_error(gw, exc, record, anthropic=True)
    except ValueError:  # a 200 whose body is not the JSON it should be
        record.fail(502)
        return anthropic_error(502, "The upstream answered with a body that is not valid JSON.")
    except QueueTimeout as exc:
        record.fail(429, "1302")
        return anthropic_error(429, f"Timed out in the gateway queue ({exc}).", "1302")
    finally:
        if not streaming:
            await flight.close()


async def _plain_messages(
    gw: Gateway, request: Request, flight: Flight, call: Call, plan: tr.Plan, mode: str, client: str, slot: Slot | None
) -> Response:
    record = flight.record
    if slot is None:
        slot = await gw.wait_plain(request, flight)
        if slot is None:
            return Response(status_code=499)
    record.slot(slot)
    flight.slot = None
    response, flight.slot = await open_upstream(gw.upstream, gw.shaper, call, slot, client)
    flight.response = response
    content = await response.aread()
    data = json.loads(content)
    if mode == "translate":
        finish = ((data.get("choices") or [{}])[0]).get("finish_reason")
        if finish == "network_error":
            record.fail(500, "1234")
            return anthropic_error(500, "The model failed during inference (finish_reason network_error).", "1234")
        record.usage(data.get("usage"))
        message = tr.to_message(data, plan)
    else:
        message = fix_message(data, plan)
        record.usage(message.get("usage"), anthropic=True)
    flight.finished = True
    return Response(_DUMPS(message).encode(), media_type="application/json")


async def _stream_messages(
    gw: Gateway, flight: Flight, call: Call, plan: tr.Plan, mode: str, client: str, slot: Slot | None
) -> Response:
    record = flight.record
    translator = st.StreamTranslator(plan) if mode == "translate" else None
    if slot is not None:
        # not queued: retries happen before the first byte, so an upstream error is still an HTTP status
        record.slot(slot)
        flight.response, flight.slot = await open_upstream(gw.upstream, gw.shaper, call, slot, client)

    async def body() -> AsyncIterator[bytes]:
        if flight.response is None:
            # queued: open the message now and ping until a slot comes, so the client does not time out
            yield translator.start() if translator else st.message_start(plan, tr.message_id(None))
            got: Slot | None = None
            try:
                assert flight.ticket is not None
                async for item in wait_in_queue(flight.ticket, st.PING, gw.config.ping_interval):
                    if isinstance(item, Slot):
                        got = item
                    else:
                        yield item
            except QueueTimeout as exc:
                record.fail(429, "1302")
                yield st.error_frame(429, f"Timed out in the gateway queue ({exc}).", "1302")
                return
            flight.ticket = None
            record.slot(got)
            try:
                assert got is not None
                flight.response, flight.slot = await open_upstream(gw.upstream, gw.shaper, call, got, client)
            except GLMError as exc:
                status, code = status_of(exc)
                record.fail(status, code)
                yield st.error_frame(status, getattr(exc, "message", str(exc)), code)
                return
            started = True
        else:
            started = False
        assert flight.response is not None
        if translator is not None:
            async for piece in relay_translated(flight.response, translator, record, started=started):
                yield piece
        else:
            async for piece in relay_passthrough(flight.response, PassthroughFixer(plan, started=started), record):
                yield piece
        flight.finished = record.status == 200

    return Stream(body(), flight)


async def count_tokens(request: Request) -> Response:
    """``POST /v1/messages/count_tokens``: the gateway's estimate (the same one ``message_start`` carries)."""
    gw: Gateway = request.app.state.gateway
    record = Record("/v1/messages/count_tokens")
    try:
        if not gw.authorized(request):
            record.fail(401)
            return anthropic_error(401, "Invalid gateway token.")
        _, body = await _read_json(request)
        if not isinstance(body, dict):
            record.fail(400)
            return anthropic_error(400, "The request body must be a JSON object.")
        record.row["model_requested"] = body.get("model")
        try:
            _, plan = tr.to_chat({**body, "max_tokens": 1, "stream": False}, gw.config)
        except tr.TranslationError as exc:
            record.fail(400)
            return anthropic_error(400, str(exc))
        record.row["model_used"] = plan.model
        record.row["input_tokens"] = plan.input_tokens
        return JSONResponse({"input_tokens": plan.input_tokens})
    finally:
        gw.submit(record)


# ---- OpenAI routes -------------------------------------------------------------------------------


async def chat_completions(request: Request) -> Response:
    """``POST /v1/chat/completions``, passed through to the coding endpoint."""
    gw: Gateway = request.app.state.gateway
    record = Record("/v1/chat/completions")
    flight = Flight(gw.shaper, record, gw.submit)
    streaming = False
    try:
        if not gw.authorized(request):
            record.fail(401)
            return openai_error(401, "Invalid gateway token.", "1002")
        raw, body = await _read_json(request)
        if gw.config.log_bodies:
            log.info("POST /v1/chat/completions %s", redact_body(raw))
        try:
            upstream_body = oa.to_upstream(body, gw.config)
        except ValueError as exc:
            record.fail(400)
            return openai_error(400, str(exc), "1214")
        client = record.row["client"] = gw.client_of(request, body)
        model = upstream_body["model"]
        record.row["model_requested"], record.row["model_used"] = body["model"], model
        stream = bool(upstream_body.get("stream"))
        call = Call(CHAT_COMPLETIONS, json=upstream_body, headers={"Accept": "text/event-stream"} if stream else None)
        try:
            slot = gw.slot_or_ticket(model, client, flight)
        except QueueFull as exc:
            record.fail(429, "1302")
            return openai_error(429, f"The gateway queue is full ({exc}).", "1302")
        if slot is None and not stream:
            slot = await gw.wait_plain(request, flight)
            if slot is None:
                return Response(status_code=499)
        if slot is not None:
            record.slot(slot)
            flight.response, flight.slot = await open_upstream(gw.upstream, gw.shaper, call, slot, client)
        if stream:
            streaming = True
            return Stream(_openai_stream(gw, flight, call, client), flight)
        assert flight.response is not None
        content = await flight.response.aread()
        usage = json.loads(content).get("usage")
        record.usage(usage if isinstance(usage, dict) else None)
        flight.finished = True
        return Response(oa.fix_completion(content), media_type="application/json")
    except GLMError as exc:
        return _upstream_error(gw, exc, record, anthropic=False)
    except ValueError:
        record.fail(502)
        return openai_error(502, "The upstream answered with a body that is not valid JSON.")
    except QueueTimeout as exc:
        record.fail(429, "1302")
        return openai_error(429, f"Timed out in the gateway queue ({exc}).", "1302")
    finally:
        if not streaming:
            await flight.close()


async def _openai_stream(gw: Gateway, flight: Flight, call: Call, client: str) -> AsyncIterator[bytes]:
    record = flight.record
    if flight.response is None:
        got: Slot | None = None
        try:
            assert flight.ticket is not None
            async for item in wait_in_queue(flight.ticket, QUEUE_COMMENT, gw.config.ping_interval):
                if isinstance(item, Slot):
                    got = item
                else:
                    yield item
            flight.ticket = None
            record.slot(got)
            assert got is not None
            flight.response, flight.slot = await open_upstream(gw.upstream, gw.shaper, call, got, client)
        except (GLMError, QueueTimeout) as exc:
            status, code = status_of(exc) if isinstance(exc, GLMError) else (429, "1302")
            record.fail(status, code)
            yield b"data: " + _DUMPS({"error": {"code": code or str(status), "message": str(exc)}}).encode() + b"\n\n"
            return
    async for piece in relay_raw(flight.response, record):
        yield piece
    flight.finished = record.status == 200


async def list_models(request: Request) -> Response:
    """``GET /v1/models``: the mapped models for Anthropic clients, the upstream list for OpenAI ones."""
    gw: Gateway = request.app.state.gateway
    record = Record("/v1/models")
    try:
        if not gw.authorized(request):
            record.fail(401)
            return anthropic_error(401, "Invalid gateway token.")
        if "anthropic-version" in request.headers:
            return JSONResponse(oa.anthropic_models(gw.config.listed_models()))
        try:
            response = await gw.upstream.open(Call(MODELS))
        except GLMError as exc:
            return _upstream_error(gw, exc, record, anthropic=False)
        try:
            content = await response.aread()
        finally:
            await response.aclose()
        return Response(content, media_type="application/json")
    finally:
        gw.submit(record)


async def health(request: Request) -> Response:
    """Liveness, with the current per-model limits and queue depths."""
    gw: Gateway = request.app.state.gateway
    lanes = {
        m: {"limit": gw.shaper.limit(m), "inflight": gw.shaper.inflight(m), "queued": gw.shaper.depth(m)}
        for m in list(gw.shaper._lanes)
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

    routes = [
        Route("/v1/messages", messages, methods=["POST"]),
        Route("/v1/messages/count_tokens", count_tokens, methods=["POST"]),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.gateway = gateway
    return app
