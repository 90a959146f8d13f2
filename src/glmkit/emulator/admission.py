"""Admission, as every emulator route does it: the key check, armed faults, per-model concurrency, the request
log, and reading a JSON body; plus the API's error body every refusal is written in.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from glmkit._errors import code_row
from glmkit.emulator.faults import Fault, parse_header
from glmkit.emulator.keys import key_of, key_problem
from glmkit.emulator.state import EmulatorState

__all__ = [
    "Concurrency",
    "admit",
    "admit_json",
    "check_key",
    "error_response",
    "fault_for",
    "json_route",
    "read_json",
    "unknown_model",
]


def error_response(
    code: str, message: str | None = None, *, status: int | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """Z.AI's error body ``{"error": {"code": "<string>", "message": ...}}`` with the code's HTTP status
    (``status`` overrides it, and is required for a code the table does not know)."""
    try:
        row = code_row(code)
    except KeyError:
        if status is None:
            raise
        row = None
    default = row.message if row is not None else None
    text = message or default or "error"
    # a message quoting the request (an unknown model) may carry a lone surrogate, which UTF-8 cannot hold
    text = text.encode("utf-8", "replace").decode("utf-8")
    return JSONResponse(
        {"error": {"code": str(code), "message": text}},
        status_code=status or (row.status if row is not None else 500),
        headers=headers,
    )


def check_key(state: EmulatorState, request: Request) -> Response | None:
    """401 with the right business code for a missing, malformed or unknown key; JWTs are verified (``keys.py``)."""
    problem = key_problem(key_of(request), state.config.keys, state.clock())
    return error_response(*problem) if problem is not None else None


def fault_for(state: EmulatorState, request: Request) -> Fault | None:
    """The fault to apply to this request: its header first, then the fault book.

    Raises:
        ValueError: the ``X-Emulator-Fault`` header cannot be read (the request is answered 400, never served
            as if no fault had been asked for).
    """
    header = request.headers.get("x-emulator-fault")
    if header:
        try:
            return parse_header(header)
        except (ValueError, TypeError, KeyError) as exc:  # KeyError: a code without status= that no row knows
            raise ValueError(f"X-Emulator-Fault {header!r}: {exc}") from exc
    return state.faults.take(request.url.path)


async def admit(state: EmulatorState, request: Request, *, auth: bool = True) -> tuple[Response | None, Fault | None]:
    """Log the request, check the key, apply a status/slow/malformed fault. Returns (early response, fault)."""
    _, early, fault = await _admit(state, request, auth=auth)
    return early, fault


async def _admit(
    state: EmulatorState, request: Request, *, auth: bool = True
) -> tuple[dict[str, Any], Response | None, Fault | None]:
    entry: dict[str, Any] = {"method": request.method, "path": request.url.path, "time": state.clock()}
    state.requests.append(entry)
    if auth and (denied := check_key(state, request)) is not None:
        entry["status"] = denied.status_code
        return entry, denied, None
    for hook in state.admit_hooks:
        if (answer := hook(request)) is not None:
            entry["status"] = answer.status_code
            return entry, answer, None
    try:
        fault = fault_for(state, request)
    except ValueError as exc:  # an emulator control header, not an API field: 1214 as /_emulator/faults answers
        entry["status"] = 400
        return entry, JSONResponse({"error": {"code": "1214", "message": str(exc)}}, 400), None
    if fault is None:
        return entry, None, None
    entry["fault"] = fault.kind
    if fault.kind == "slow" and fault.delay:
        await asyncio.sleep(fault.delay)
    if fault.kind == "status":
        entry["status"] = fault.status or 500
        return entry, _fault_response(fault), fault
    if fault.kind == "malformed" and request.method != "GET" and not _wants_stream(request):
        return entry, Response(b'{"id": "broken", "choices": [', 200, media_type="application/json"), fault
    return entry, None, fault


def _fault_response(fault: Fault) -> Response:
    headers = {"Retry-After": _fmt(fault.retry_after)} if fault.retry_after is not None else None
    status = fault.status or 500
    if fault.code:
        return error_response(fault.code, fault.message, status=status, headers=headers)
    return JSONResponse(
        {"error": {"code": str(status), "message": fault.message or "Injected fault"}}, status, headers=headers
    )


def _wants_stream(request: Request) -> bool:
    return "text/event-stream" in request.headers.get("accept", "")


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class Concurrency:
    """Per-model in-flight limit: beyond ``max_concurrency``, 1302 (what Coding Plan tiers do, §14.1)."""

    # reference silent: whether the limit counts per model, per key or per plan, and the tiers' numbers (§14.1 says
    # only Max > Pro > Lite); it counts per model here, sync and streamed chat (async jobs are not limited).

    def __init__(self, state: EmulatorState, model: str) -> None:
        self.state = state
        self.model = model
        self.acquired = False

    def acquire(self) -> Response | None:
        """Take a slot, or the 1302 response."""
        limit = self.state.config.max_concurrency
        current = self.state.in_flight.get(self.model, 0)
        if limit and current >= limit:
            return error_response("1302")  # the live text, from data/errors.toml (live evidence §2)
        self.state.in_flight[self.model] = current + 1
        self.acquired = True
        return None

    def release(self) -> None:
        """Give the slot back."""
        if self.acquired:
            self.state.in_flight[self.model] -= 1
            self.acquired = False


async def read_json(request: Request) -> tuple[dict[str, Any] | None, Response | None]:
    """The JSON body, or the 400/1210 the API gives for a body it cannot read."""
    # reference silent: the codes for an empty body (1213, "not received properly") and one that is not a JSON
    # object (1210, "wrong call parameters") are the table's nearest rows (§13.3).
    raw = await request.body()
    if not raw:
        return None, error_response("1213", "The request body was not received properly")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return None, error_response("1210", "Request body is not valid JSON")
    if not isinstance(body, dict):
        return None, error_response("1210", "Request body must be a JSON object")
    if b"\\u" in raw:  # an escaped lone surrogate ("\ud800") is valid JSON but no text: UTF-8 cannot carry it
        try:
            json.dumps(body, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            return None, error_response("1210", "Request body is not valid JSON: a string holds a lone surrogate")
    return body, None


JsonHandler = Callable[[Request, dict[str, Any], Fault | None], Response | Awaitable[Response]]
"""What a JSON route answers to an admitted request, its JSON object body and the fault armed for it."""
Refusal = Callable[[EmulatorState, Request], Response | None]
"""A check made after ``admit`` and before the body is read (e.g. the plan-only key's 1113)."""


def json_route(
    state: EmulatorState,
    path: str,
    handler: JsonHandler,
    *,
    required: tuple[str, ...] = (),
    refuse: Refusal | None = None,
    methods: tuple[str, ...] = ("POST",),
) -> Route:
    """The route of a JSON endpoint: ``admit`` (key, hooks, faults, log), then ``refuse``, then the body (1213 when
    empty, 1210 when not a JSON object), then 1213 for each field of ``required`` that is absent, null or ""
    (reference §13.3: "field not received properly"); then ``handler(request, body, fault)``, sync or async.

    A refusal is written to the request log (``state.requests[...]["status"]``) as ``admit``'s own are.
    """

    async def endpoint(request: Request) -> Response:
        entry, early, fault = await _admit(state, request)
        if early is not None:
            return early
        body: dict[str, Any] | None = None
        refused = refuse(state, request) if refuse is not None else None
        if refused is None:
            body, refused = await read_json(request)
        if body is not None and refused is None:
            missing = next((name for name in required if body.get(name) in (None, "")), None)
            if missing is None:
                answer = handler(request, body, fault)
                return await answer if inspect.isawaitable(answer) else answer
            refused = error_response("1213", f"The {missing} field was not received properly")
        assert refused is not None
        entry["status"] = refused.status_code
        return refused

    return Route(path, endpoint, methods=list(methods))


async def admit_json(state: EmulatorState, request: Request) -> tuple[dict[str, Any], Response | None]:
    """``admit`` then ``read_json``: (the JSON body, None), or ({}, the response to send instead)."""
    early, _ = await admit(state, request)
    if early is not None:
        return {}, early
    body, bad = await read_json(request)
    return body or {}, bad


def unknown_model(model: Any) -> JSONResponse:
    """The API's 1211 for a model id it does not know."""
    return error_response("1211", f"Unknown Model, please check the model code: {model}")
