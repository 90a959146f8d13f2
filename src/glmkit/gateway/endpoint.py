"""What every gateway route does, around its own handler: the gateway token check, the body read (and its
redacted log line), one ledger row whatever happens, and each failure as an error in the route's dialect
(Anthropic's ``{"type": "error", ...}`` or Z.AI's ``{"error": {"code", "message"}}``), and the pre-flight
repair of a chat body. How a request then gets its upstream response is ``opening.py``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from glmkit._errors import GLMError
from glmkit._json import dumpb as _DUMPB
from glmkit._json import loads_text
from glmkit._request_guard import HANG_UP, HangUp
from glmkit.gateway import anthropic_stream as st
from glmkit.gateway.anthropic_check import TranslationError
from glmkit.gateway.fallback import PLAN_SPENT, reset_of
from glmkit.gateway.preflight import preflight
from glmkit.gateway.relay import Flight, Record, status_of
from glmkit.gateway.shaping import QueueFull, QueueTimeout
from glmkit.gateway.state import Gateway, Stream, redact_body
from glmkit.types.anthropic import anthropic_status, error_body

__all__ = [
    "ANTHROPIC",
    "OPENAI",
    "ClientGone",
    "Dialect",
    "endpoint",
    "checked",
    "http_error",
    "plan_spent_message",
    "refusal",
    "while_connected",
]

log = logging.getLogger("glmkit.gateway")
QUEUE_COMMENT = b": keep-alive\n\n"  # an SSE comment: OpenAI clients skip it, proxies and idle timers see bytes


@dataclass(frozen=True)
class Dialect:
    """How a family of routes speaks errors: Anthropic's body and ``error`` event, or Z.AI's (OpenAI-like) one."""

    anthropic: bool

    def error(
        self,
        status: int,
        message: str,
        code: str | None = None,
        *,
        retry: bool | None = None,
        request_id: str | None = None,
        retry_after: str | None = None,
    ) -> JSONResponse:
        """An error response; ``retry=False`` adds ``x-should-retry: false`` (both SDKs then stop retrying), else
        the upstream's ``retry-after`` is passed on (both SDKs wait that long); the upstream's ``request_id``
        rides in the ``request-id`` header (and Anthropic's body), for support."""
        headers = {"x-should-retry": "false"} if retry is False else {}
        if retry_after and retry is not False:
            headers["retry-after"] = retry_after
        if request_id:
            headers["request-id"] = request_id
        if self.anthropic:
            status = anthropic_status(status, code)
            body = error_body(status, message, code=code)
            if request_id:
                body["request_id"] = request_id
            return JSONResponse(body, status_code=status, headers=headers)
        return JSONResponse(
            {"error": {"code": code or str(status), "message": message}}, status_code=status, headers=headers
        )

    def frame(self, status: int, message: str, code: str | None = None) -> bytes:
        """The same error as the last event of a stream that has already begun."""
        if self.anthropic:
            return st.error_frame(status, message, code)
        return b"data: " + _DUMPB({"error": {"code": code or str(status), "message": message}}) + b"\n\n"

    @property
    def ping(self) -> bytes:
        """What a stream receives while it waits in the queue or the upstream is silent."""
        return st.PING if self.anthropic else QUEUE_COMMENT


ANTHROPIC, OPENAI = Dialect(anthropic=True), Dialect(anthropic=False)
Handler = Callable[[Gateway, Request, Flight, Any], Awaitable[Response]]


def _upstream_error(dialect: Dialect, exc: GLMError, record: Record) -> JSONResponse:
    status, code = status_of(exc)
    record.fail(status, code)
    retry = getattr(exc, "retryable", None)
    rid = getattr(exc, "request_id", None)
    after = {k.lower(): v for k, v in (getattr(exc, "headers", None) or {}).items()}.get("retry-after")
    message = getattr(exc, "message", str(exc))
    if status in (401, 403):
        # Z.AI refused the gateway's own key: a 401 would tell the client its key is wrong (Claude Code then asks
        # for /login), when the client was let in and the fix is on the gateway's side
        message = (
            f"Z.AI refused the key glm serve uses upstream ({message}). Fix ZAI_API_KEY or run `glm setup`, "
            "then restart glm serve; the client's own key was accepted."
        )
        return dialect.error(502, message, code, retry=False, request_id=rid)
    if code in PLAN_SPENT:
        return _plan_spent(dialect, status, message, code, rid)
    body = getattr(exc, "body", None)
    if not dialect.anthropic and isinstance(body, dict):
        return JSONResponse(body, status_code=status, headers={"x-should-retry": "false"} if retry is False else None)
    return dialect.error(status, message, code, retry=retry, request_id=rid, retry_after=after)


def plan_spent_message(message: str, code: str | None) -> tuple[str, str | None]:
    """The message of a 1308/1310 with the reset time said plainly and the way on, and ``retry-after`` seconds."""
    reset = reset_of(message)
    window = "5-hour" if code == "1308" else "weekly"
    text = f"{message} (Z.AI {code}: the plan's {window} window is spent"
    if reset is not None:
        text += f"; it resets at {reset[0]}, in {reset[1] // 3600}h {reset[1] % 3600 // 60:02d}m"
    text += "; glm serve can go on with a pay-as-you-go key: fallback_key and fallback_cap_usd in [gateway])"
    return text, None if reset is None else str(reset[1])


def _plan_spent(dialect: Dialect, status: int, message: str, code: str, rid: str | None) -> JSONResponse:
    text, after = plan_spent_message(message, code)
    response = dialect.error(status, text, code, retry=False, request_id=rid)  # waiting for the reset is the fix
    if after is not None:
        response.headers["retry-after"] = after
    return response


# User-Agent products that name a coding tool differently from how users know it.
_TOOL_NAMES = {"claude-cli": "claude-code"}


def tool_of(user_agent: str | None) -> str:
    """The calling tool for the ledger's per-tool sums: the first product of the User-Agent, lowercased."""
    product = (user_agent or "").strip().split(" ", 1)[0].split("/", 1)[0].lower()[:64]
    return _TOOL_NAMES.get(product, product) or "unknown"


def parse_body(raw: bytes) -> Any:
    """The request body as JSON (``None`` when it is not JSON: the route says what it wanted).

    Raises:
        TranslationError: JSON nested too deeply to read, or a string holding a lone surrogate (``"\\ud800"``),
            which no upstream request can carry (a 400 naming it, not an upstream failure).
    """
    if not raw:
        return None
    try:
        return loads_text(raw)
    except RecursionError:
        raise TranslationError("The request body nests JSON too deeply to read; send a flatter body.") from None
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end].encode("unicode_escape").decode()
        raise TranslationError(
            f"The request holds a lone UTF-16 surrogate ({bad}), which is not text and cannot be sent on; "
            "fix the string that carries it (an emoji cut in half, or bytes decoded as text)."
        ) from None
    except ValueError:
        return None


class ClientGone(Exception):
    """The client hung up while its request was being served."""


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def while_connected(request: Request, work: Awaitable[Any]) -> Any:
    """``await work``, cancelled at once if the client hangs up first (raises ``ClientGone``).

    For a non-streamed request, whose client sees nothing until the end: upstream retries and backoff stop
    the moment it leaves, instead of spending tokens on an answer nobody reads. The work runs in the request's
    own task: the server's protocol calls back when the connection is lost (``HANG_UP``), or, under a server
    without that hook, a watcher task waiting for ``http.disconnect`` does."""
    task = asyncio.current_task()
    assert task is not None
    gone = False

    def hung_up() -> None:
        nonlocal gone
        gone = True
        task.cancel()

    def watched(watcher: asyncio.Future[None]) -> None:
        if not watcher.cancelled():
            watcher.exception()  # retrieved; a receive that failed means the client is gone as well
            hung_up()

    hang_up: HangUp | None = request.scope.get(HANG_UP)
    watcher: asyncio.Future[None] | None = None
    if hang_up is not None:
        hang_up.add(hung_up)  # the client gone already: cancelled at once, before the first await
    else:
        watcher = asyncio.ensure_future(_disconnected(request))
        watcher.add_done_callback(watched)
    try:
        return await work
    except asyncio.CancelledError:
        if gone and task.uncancel() == 0:  # our cancellation alone: the client left
            raise ClientGone from None
        raise
    finally:
        if watcher is not None:
            watcher.remove_done_callback(watched)
            watcher.cancel()
        elif hang_up is not None:
            hang_up.discard(hung_up)


def refusal(scope: MutableMapping[str, Any], status: int, message: str) -> Response:
    """What ``RequestGuard`` answers a refused request with: an error in the route's dialect, never retried."""
    anthropic = any(name == b"anthropic-version" for name, _ in scope.get("headers") or ())
    speak = ANTHROPIC if anthropic or str(scope.get("path", "")).startswith("/v1/messages") else OPENAI
    return speak.error(status, message, retry=False)


def checked(gw: Gateway, record: Record, body: dict[str, Any], labels: list[str] | None = None) -> list[str]:
    """Pre-flight a chat body (repaired in place): each repair is noted in the ledger row and one log line;
    a shape that cannot be repaired raises (a 400 naming the message and the fix)."""
    notes = preflight(body, labels=labels, vision_model=gw.config.vision_model)
    if notes:
        record.row["notes"] = notes
        log.warning("repaired a %s request before sending it: %s", record.row.get("route"), "; ".join(notes))
    return notes


def endpoint(route: str, handler: Handler, dialect: Dialect | None) -> Callable[[Request], Awaitable[Response]]:
    """The route's handler wrapped in what every route does (``dialect=None``: Anthropic if the client says so)."""

    async def handle(request: Request) -> Response:
        gw: Gateway = request.app.state.gateway
        flight = Flight(gw.shaper, Record(route), gw.submit, gw.submit_together)
        record = flight.record
        record.row["tool"] = tool_of(request.headers.get("user-agent"))
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
            body = parse_body(raw)
            response = await handler(gw, request, flight, body)
            if record.row.get("billed") == "payg":  # never billed silently (a queued stream's headers had gone)
                response.headers["x-glm-billed"] = "payg"
            return response
        except ClientGone:
            return Response(status_code=499)  # nobody reads it; the row says 499
        except TranslationError as exc:
            code = getattr(exc, "code", "1214")  # a pre-flight refusal carries the code Z.AI would have answered
            record.fail(400, code)
            return speak.error(400, str(exc), None if speak.anthropic else code, retry=False)
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
        except RecursionError:  # a body that parsed but nests deeper than the code walking it can follow
            record.fail(400, "1214")
            message = "The request body nests JSON too deeply to read; send a flatter body."
            return speak.error(400, message, None if speak.anthropic else "1214", retry=False)
        except Exception:
            log.exception("%s failed", route)
            record.fail(500)
            return speak.error(500, "The gateway failed on this request; its log has the details.")
        finally:
            if not isinstance(response, Stream):
                await flight.close()

    return handle


async def http_error(request: Request, exc: Exception) -> Response:
    """An unknown path or method, in the dialect of the client that asked."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    speak = (
        ANTHROPIC if "anthropic-version" in request.headers or request.url.path.startswith("/v1/messages") else OPENAI
    )
    what = "No such route" if status == 404 else "Method not allowed" if status == 405 else "Error"
    return speak.error(status, f"{what}: {request.method} {request.url.path}.")
