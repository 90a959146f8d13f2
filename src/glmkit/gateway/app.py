"""The gateway's ASGI app: Anthropic Messages and OpenAI Chat in front of the GLM coding endpoint.

``create_app(config, settings)`` builds a Starlette app whose state (upstream client, shaper, ledger
writer) lives on ``app.state.gateway``; nothing is module-level. Routes:

- ``POST /v1/messages`` (translate or passthrough), ``POST /v1/messages/count_tokens`` (local estimate);
- ``POST /v1/chat/completions`` and ``GET /v1/models`` (OpenAI style; Anthropic clients get the mapped
  models from ``/v1/models``); ``GET /health``.

Every route runs inside ``_endpoint``: the gateway token check, the body read (and its redacted log line),
one ledger row whatever happens, and each failure as an error in the route's own dialect (Anthropic's
``{"type": "error", ...}`` or Z.AI's ``{"error": {"code", "message"}}``).

The upstream key never leaves: clients authenticate with the gateway token (if one is set) and the
gateway signs upstream requests itself. Bodies are logged only with ``log_bodies``, keys redacted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from glmkit._config import Settings
from glmkit._errors import GLMError
from glmkit._transport import Call
from glmkit.gateway import anthropic as tr
from glmkit.gateway import anthropic_stream as st
from glmkit.gateway import openai as oa
from glmkit.gateway.anthropic_check import TranslationError
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
from glmkit.types.anthropic import MESSAGES, anthropic_status, error_body
from glmkit.types.chat import CHAT_COMPLETIONS

__all__ = ["Gateway", "create_app", "redact_body"]

log = logging.getLogger("glmkit.gateway")
MODELS = Endpoint("GET", "/models", "chat")
_DUMPS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
QUEUE_COMMENT = b": queued\n\n"
ANTHROPIC_VERSION = "2023-06-01"


@dataclass(frozen=True)
class Dialect:
    """How a family of routes speaks errors: Anthropic's body and ``error`` event, or Z.AI's (OpenAI-like) one."""

    anthropic: bool

    def error(self, status: int, message: str, code: str | None = None, *, retry: bool | None = None) -> JSONResponse:
        """An error response; ``retry=False`` adds ``x-should-retry: false`` (both SDKs then stop retrying)."""
        headers = {"x-should-retry": "false"} if retry is False else None
        if self.anthropic:
            status = anthropic_status(status, code)
            return JSONResponse(error_body(status, message, code=code), status_code=status, headers=headers)
        body = {"error": {"code": code or str(status), "message": message}}
        return JSONResponse(body, status_code=status, headers=headers)

    def frame(self, status: int, message: str, code: str | None = None) -> bytes:
        """The same error as the last event of a stream that has already begun."""
        if self.anthropic:
            return st.error_frame(status, message, code)
        return b"data: " + _DUMPS({"error": {"code": code or str(status), "message": message}}).encode() + b"\n\n"

    @property
    def ping(self) -> bytes:
        """What a queued stream receives while it waits."""
        return st.PING if self.anthropic else QUEUE_COMMENT


ANTHROPIC, OPENAI = Dialect(anthropic=True), Dialect(anthropic=False)
Handler = Callable[[Gateway, Request, Flight, Any], Awaitable[Response]]


def _upstream_error(dialect: Dialect, exc: GLMError, record: Record) -> JSONResponse:
    status, code = status_of(exc)
    record.fail(status, code)
    retry = getattr(exc, "retryable", None)
    body = getattr(exc, "body", None)
    if not dialect.anthropic and isinstance(body, dict):
        return JSONResponse(body, status_code=status, headers={"x-should-retry": "false"} if retry is False else None)
    return dialect.error(status, getattr(exc, "message", str(exc)), code, retry=retry)


def _endpoint(route: str, handler: Handler, dialect: Dialect | None) -> Callable[[Request], Awaitable[Response]]:
    """The route's handler wrapped in what every route does (``dialect=None``: Anthropic if the client says so)."""

    async def endpoint(request: Request) -> Response:
        gw: Gateway = request.app.state.gateway
        flight = Flight(gw.shaper, Record(route), gw.submit)
        record = flight.record
        speak = dialect or (ANTHROPIC if "anthropic-version" in request.headers else OPENAI)
        response: Response | None = None
        try:
            if not gw.authorized(request):
                record.fail(401, "1002")
                message = "Invalid gateway token: send the token given to `glm serve --token` as your API key."
                return speak.error(401, message, "1002", retry=False)
            raw = await request.body()
            if gw.config.log_bodies:
                log.info("%s %s %s", request.method, route, redact_body(raw))
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            response = await handler(gw, request, flight, body)
            return response
        except TranslationError as exc:
            record.fail(400, "1214")
            return speak.error(400, str(exc), None if speak.anthropic else "1214", retry=False)
        except GLMError as exc:
            return _upstream_error(speak, exc, record)
        except ValueError:  # a 200 whose body is not the JSON it should be
            record.fail(502)
            return speak.error(502, "The upstream answered with a body that is not valid JSON.")
        except QueueFull as exc:
            record.fail(429, "1302")
            return speak.error(429, f"The gateway queue is full ({exc}); try again shortly.", "1302")
        except QueueTimeout as exc:
            record.fail(429, "1302")
            return speak.error(429, f"Timed out in the gateway queue ({exc}).", "1302")
        except Exception:
            log.exception("%s failed", route)
            record.fail(500)
            return speak.error(500, "The gateway failed on this request; its log has the details.")
        finally:
            if not isinstance(response, Stream):
                await flight.close()

    return endpoint


async def _open_when_granted(
    gw: Gateway, flight: Flight, call: Call, client: str, dialect: Dialect
) -> AsyncIterator[bytes]:
    """A queued stream: ping until a slot comes, then open the upstream (``flight.response``).

    A queue timeout or an upstream failure ends with an error frame and leaves ``flight.response`` unset.
    """
    record = flight.record
    ticket = flight.ticket
    assert ticket is not None
    got: Slot | None = None
    try:
        async for item in wait_in_queue(ticket, dialect.ping, gw.config.ping_interval):
            if isinstance(item, Slot):
                got = item
            else:
                yield item
        assert got is not None
        flight.ticket = None
        record.slot(got)
        flight.response, flight.slot = await open_upstream(gw.upstream, gw.shaper, call, got, client)
    except QueueTimeout as exc:
        record.fail(429, "1302")
        yield dialect.frame(429, f"Timed out in the gateway queue ({exc}).", "1302")
    except GLMError as exc:
        status, code = status_of(exc)
        record.fail(status, code)
        yield dialect.frame(status, getattr(exc, "message", str(exc)), code)


async def _open_now(gw: Gateway, flight: Flight, call: Call, client: str, slot: Slot) -> None:
    """Open the upstream with a slot in hand (retries happen here, before the client's first byte)."""
    flight.record.slot(slot)
    flight.slot = None
    flight.response, flight.slot = await open_upstream(gw.upstream, gw.shaper, call, slot, client)


async def _plain_slot(gw: Gateway, request: Request, flight: Flight, slot: Slot | None) -> Slot | None:
    """The slot for a non-streamed request, waiting in the queue if need be (``None``: the client left)."""
    return slot if slot is not None else await gw.wait_plain(request, flight)


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


def _anthropic_headers(request: Request) -> dict[str, str]:
    """The client's protocol headers, for Z.AI's Anthropic endpoint (``anthropic-version`` defaulted)."""
    headers = {"anthropic-version": request.headers.get("anthropic-version") or ANTHROPIC_VERSION}
    beta = request.headers.get("anthropic-beta")
    if beta:
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
        from glmkit.catalog import get_model

        tr.check_request(body)
        info = get_model(gw.config.map_model(str(body.get("model", ""))))
        if info is not None and not info.vision:
            body = await _describe_images(gw, body, client)
    if mode == "translate":
        upstream_body, plan = tr.to_chat(body, gw.config)
        call = Call(CHAT_COMPLETIONS, json=upstream_body)
    else:
        upstream_body, plan = _passthrough_plan(body, gw)
        call = Call(MESSAGES, json=upstream_body, headers=_anthropic_headers(request))
    record.row["model_used"] = plan.model
    if plan.stream:
        call.headers = {**(call.headers or {}), "Accept": "text/event-stream"}
    slot = gw.slot_or_ticket(plan.model, client, flight)
    if plan.stream:
        return await _stream_messages(gw, flight, call, plan, mode, client, slot)
    slot = await _plain_slot(gw, request, flight, slot)
    if slot is None:
        return Response(status_code=499)
    await _open_now(gw, flight, call, client, slot)
    assert flight.response is not None
    data = json.loads(await flight.response.aread())
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
    return Response(_DUMPS(message).encode(), media_type="application/json")


async def _stream_messages(
    gw: Gateway, flight: Flight, call: Call, plan: tr.Plan, mode: str, client: str, slot: Slot | None
) -> Response:
    record = flight.record
    translator = st.StreamTranslator(plan) if mode == "translate" else None
    if slot is not None:  # not queued: an upstream error before the first byte is still an HTTP status
        await _open_now(gw, flight, call, client, slot)

    async def body() -> AsyncIterator[bytes]:
        started = flight.response is None
        if started:  # queued: open the message now and ping until a slot comes, so the client does not time out
            yield translator.start() if translator else st.message_start(plan, tr.message_id(None))
            async for piece in _open_when_granted(gw, flight, call, client, ANTHROPIC):
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

    return Stream(body(), flight)


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
    model = upstream_body["model"]
    record.row["model_requested"], record.row["model_used"] = body["model"], model
    stream = bool(upstream_body.get("stream"))
    call = Call(CHAT_COMPLETIONS, json=upstream_body, headers={"Accept": "text/event-stream"} if stream else None)
    slot = gw.slot_or_ticket(model, client, flight)
    if stream:
        if slot is not None:
            await _open_now(gw, flight, call, client, slot)
        return Stream(_openai_stream(gw, flight, call, client), flight)
    slot = await _plain_slot(gw, request, flight, slot)
    if slot is None:
        return Response(status_code=499)
    await _open_now(gw, flight, call, client, slot)
    assert flight.response is not None
    content = await flight.response.aread()
    usage = json.loads(content).get("usage")
    record.usage(usage if isinstance(usage, dict) else None)
    flight.finished = True
    return Response(oa.fix_completion(content), media_type="application/json")


async def _openai_stream(gw: Gateway, flight: Flight, call: Call, client: str) -> AsyncIterator[bytes]:
    if flight.response is None:
        async for piece in _open_when_granted(gw, flight, call, client, OPENAI):
            yield piece
        if flight.response is None:
            return
    async for piece in relay_raw(flight.response, flight.record):
        yield piece
    flight.finished = flight.record.status == 200


async def list_models(gw: Gateway, request: Request, flight: Flight, body: Any) -> Response:
    """``GET /v1/models``: the mapped models for Anthropic clients, the upstream list for OpenAI ones."""
    if "anthropic-version" in request.headers:
        flight.finished = True
        return JSONResponse(oa.anthropic_models(gw.config.listed_models()))
    flight.response = await gw.upstream.open(Call(MODELS))
    content = await flight.response.aread()
    flight.finished = True
    return Response(content, media_type="application/json")


async def health(request: Request) -> Response:
    """Liveness, with the current per-model limits and queue depths."""
    gw: Gateway = request.app.state.gateway
    lanes = {
        m: {"limit": gw.shaper.limit(m), "inflight": gw.shaper.inflight(m), "queued": gw.shaper.depth(m)}
        for m in list(gw.shaper._lanes)
    }
    return JSONResponse({"ok": True, "gateway": "glmkit", "mode": gw.config.mode, "models": lanes})


async def _http_error(request: Request, exc: Exception) -> Response:
    """An unknown path or method, in the dialect of the client that asked."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    speak = (
        ANTHROPIC if "anthropic-version" in request.headers or request.url.path.startswith("/v1/messages") else OPENAI
    )
    what = "No such route" if status == 404 else "Method not allowed" if status == 405 else "Error"
    return speak.error(status, f"{what}: {request.method} {request.url.path}.")


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
        Route("/v1/messages", _endpoint("/v1/messages", messages, ANTHROPIC), methods=["POST"]),
        Route(
            "/v1/messages/count_tokens",
            _endpoint("/v1/messages/count_tokens", count_tokens, ANTHROPIC),
            methods=["POST"],
        ),
        Route("/v1/chat/completions", _endpoint("/v1/chat/completions", chat_completions, OPENAI), methods=["POST"]),
        Route("/v1/models", _endpoint("/v1/models", list_models, None), methods=["GET"]),
        Route("/health", health, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={HTTPException: _http_error})
    app.state.gateway = gateway
    return app
