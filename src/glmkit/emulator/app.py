"""The emulator's ASGI app: state, admission (key, faults, concurrency, request log) and route assembly.

Resource modules each expose ``routes(state)`` (paths below ``/paas/v4``, served on the general and
the coding surface) and/or ``root_routes(state)`` (paths below ``/api``). A new resource is a new
module named in ``SURFACE_MODULES`` or ``ROOT_MODULES``.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import itertools
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from glmkit._errors import code_row
from glmkit._request_guard import GuardPolicy, RequestGuard
from glmkit.emulator.faults import Fault, FaultBook, fault_from_dict, load_scenario, parse_header
from glmkit.emulator.keys import key_of, key_problem

# Modules serving ``/api/paas/v4/...`` and ``/api/coding/paas/v4/...``; a missing module is skipped
# so that resources can land one at a time.
SURFACE_MODULES = [
    "chat",
    "models",
    "tokenizer",
    "audio",
    "images",
    "videos",
    "web_search",
    "reader",
    "ocr",
    "files",
    "jobs",
    "agents",  # also below /paas/v4: the official SDK posts agents to <base>/v1/agents (errata 21)
]
# Modules serving paths under ``/api`` (agents ``/v1/agents``, monitor, MCP, Anthropic).
ROOT_MODULES = ["agents", "quota", "mcp_remote", "anthropic", "responses"]
# UNVERIFIED (reference §16: which REST endpoints answer on the coding base): every surface module is served on
# both. The live recordings (charmbracelet/fantasy, 2026-03-13) show chat and /models on the coding base and nothing
# either way for the rest; refusing them would fail programs that send every call to the base they were given, for
# a refusal nobody has observed. Chat there accepts models outside the plan (glm-4.7-flash answered 200).
SURFACES = {"general": "/api/paas/v4", "coding": "/api/coding/paas/v4"}


@dataclass
class EmulatorConfig:
    """How the emulator behaves.

    Attributes:
        keys: the only keys accepted (empty: any well-formed key).
        seed: makes ids and generated content repeatable.
        faults: faults armed at start (see ``faults.py``).
        max_concurrency: requests in flight per model before 1302 (0: unlimited).
        job_seconds: how long async jobs (video, async chat/images, agents) stay PROCESSING.
        chunk_delay: seconds between stream chunks.
        plan: the Coding Plan level reported by the quota endpoint.
        public_url: the base the emulator uses for URLs it hands out (images, videos), when known.
        allowed_hosts: ``Host`` names accepted beside loopback ones and ``emulator.invalid``.
    """

    keys: frozenset[str] = frozenset()
    seed: int = 0
    faults: list[Fault] = field(default_factory=list)
    max_concurrency: int = 0
    job_seconds: float = 2.0
    chunk_delay: float = 0.0
    plan: str = "pro"
    public_url: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    allowed_hosts: tuple[str, ...] = ()
    """Host names served beside loopback ones and ``emulator.invalid`` (the in-process name; ``.invalid``
    never resolves, so no web page can rebind to it): ``glm emulate --host`` adds its address here."""


class EmulatorState:
    """Everything the emulator remembers; one per app (no module-level state)."""

    def __init__(self, config: EmulatorConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.faults = FaultBook(config.faults)
        self.requests: list[dict[str, Any]] = []
        self.in_flight: dict[str, int] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.usage_hooks: list[Callable[[dict[str, Any]], None]] = []
        # Checks run by ``admit`` after the key check; one may answer instead (the quota module's 1308/1310).
        self.admit_hooks: list[Callable[[Request], Response | None]] = []
        self.extra: dict[str, Any] = {}  # per-module state, keyed by module name
        self._ids = itertools.count(1)

    def new_id(self, prefix: str = "") -> str:
        """A deterministic, unique id."""
        n = next(self._ids)
        return f"{prefix}{self.config.seed:04d}{n:012d}"

    def now(self) -> int:
        """Seconds since the epoch on the emulator's clock."""
        return int(self.clock())

    def record_usage(self, entry: dict[str, Any]) -> None:
        """Tell the quota module (and others) that a request consumed tokens."""
        for hook in self.usage_hooks:
            hook(entry)

    def base_url(self, request: Request) -> str:
        """The URL the client reached us at (for URLs we hand out)."""
        if self.config.public_url:
            return self.config.public_url.rstrip("/")
        return str(request.base_url).rstrip("/")


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


def _admin_routes(state: EmulatorState) -> list[Route]:
    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            state.faults.clear()
            return JSONResponse({"faults": []})
        if request.method == "POST":
            raw = json.loads(await request.body() or b"[]")
            items = raw.get("faults", [raw]) if isinstance(raw, dict) else raw
            try:
                for item in items:
                    state.faults.add(fault_from_dict(item))
            except (ValueError, TypeError) as exc:
                return JSONResponse({"error": {"code": "1214", "message": str(exc)}}, 400)
        return JSONResponse({"faults": [f.to_dict() for f in state.faults.list()]})

    async def requests(request: Request) -> Response:
        if request.method == "DELETE":
            state.requests.clear()
        return JSONResponse({"requests": state.requests, "count": len(state.requests)})

    async def reset(request: Request) -> Response:
        state.faults.clear()
        state.requests.clear()
        state.jobs.clear()
        state.in_flight.clear()
        return JSONResponse({"ok": True})

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "emulator": "glmkit"})

    return [
        Route("/_emulator/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/_emulator/requests", requests, methods=["GET", "DELETE"]),
        Route("/_emulator/reset", reset, methods=["POST"]),
        Route("/_emulator/health", health, methods=["GET"]),
    ]


# Routes taking multipart uploads (the official SDKs post files and audio as forms); every other POST is JSON.
UPLOAD_PATHS = ("/files", "/audio/transcriptions")
IN_PROCESS_HOST = "emulator.invalid"
# Above the largest upload the API takes (files: 100 MB, answered 435 by the route), so that limit stays the
# API's to answer; anything larger is refused before it fills memory.
MAX_BODY = 128 * 1024 * 1024


def _refusal(scope: Any, status: int, message: str) -> Response:
    """A request ``RequestGuard`` refused, in the API's error shape (Anthropic's below ``/api/anthropic``)."""
    # reference silent: what the live API answers a foreign Host, a non-JSON body or an oversized one (it is
    # not a loopback server); the status names the problem, and the code repeats it as the codeless faults do.
    if "/anthropic/" in str(scope.get("path", "")):
        from glmkit.types.anthropic import error_body

        return JSONResponse(error_body(status, message), status)
    return JSONResponse({"error": {"code": str(status), "message": message}}, status)


async def _too_deep(request: Request, exc: Exception) -> Response:
    # a body nested beyond what the parser (or code walking it) can follow: the API's 1210 for an unreadable body
    return error_response("1210", "Request body nests JSON too deeply to read")


async def _no_such_api(request: Request, exc: Exception) -> Response:
    # §13.3: 1222 "${API_name} does not exist", HTTP 404 (§13.2). reference silent: the body the live API gives
    # an unknown path, and what it answers a known path with the wrong method (Starlette's 405 here).
    return error_response("1222", f"API {request.url.path} does not exist")


def _module_routes(name: str, attr: str, state: EmulatorState) -> list[Any]:
    try:
        module = importlib.import_module(f"glmkit.emulator.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"glmkit.emulator.{name}":
            return []
        raise
    factory = getattr(module, attr, None)
    return list(factory(state)) if factory is not None else []


def create_app(
    config: EmulatorConfig | None = None, *, clock: Callable[[], float] = time.time, scenario: Path | None = None
) -> Starlette:
    """Build the emulator app."""
    config = config or EmulatorConfig()
    if scenario is not None:
        config.faults.extend(load_scenario(scenario))
    state = EmulatorState(config, clock)
    surface: list[Any] = []
    for name in SURFACE_MODULES:
        surface.extend(_module_routes(name, "routes", state))
    root: list[Any] = []
    for name in ROOT_MODULES:
        root.extend(_module_routes(name, "root_routes", state))
    routes: list[Any] = _admin_routes(state)
    for prefix in SURFACES.values():
        routes.append(Mount(prefix, routes=surface))
    routes.append(Mount("/api", routes=root))
    policy = GuardPolicy.for_bind(
        "127.0.0.1",
        allowed_hosts=(IN_PROCESS_HOST, *config.allowed_hosts),
        form_paths=UPLOAD_PATHS,
        max_body=MAX_BODY,
    )
    app = Starlette(
        routes=routes,
        middleware=[Middleware(RequestGuard, policy=policy, refuse=_refusal)],
        exception_handlers={404: _no_such_api, RecursionError: _too_deep},
    )
    app.state.emulator = state
    return app
