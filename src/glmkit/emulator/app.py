"""The emulator's ASGI app: route assembly, the admin routes and the guard in front. What the emulator
remembers is ``state.py``; how each request is admitted (key, faults, concurrency, request log), ``admission.py``.

Resource modules each expose ``routes(state)`` (paths below ``/paas/v4``, served on the general and
the coding surface) and/or ``root_routes(state)`` (paths below ``/api``). A new resource is a new
module named in ``SURFACE_MODULES`` or ``ROOT_MODULES``.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from glmkit._request_guard import GuardPolicy, RequestGuard
from glmkit.emulator.admission import error_response
from glmkit.emulator.faults import fault_from_dict, load_scenario
from glmkit.emulator.state import EmulatorConfig, EmulatorState

__all__ = ["ADMIN_ROUTES", "EmulatorConfig", "EmulatorState", "create_app"]

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


def _state(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


async def admin_faults(request: Request) -> Response:
    """``/_emulator/faults``: list (GET), arm (POST one fault, a list, or ``{"faults": [...]}``) or clear (DELETE)."""
    state = _state(request)
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


async def admin_requests(request: Request) -> Response:
    """``/_emulator/requests``: the request log (GET), or clear it (DELETE)."""
    state = _state(request)
    if request.method == "DELETE":
        state.requests.clear()
    return JSONResponse({"requests": state.requests, "count": len(state.requests)})


async def admin_reset(request: Request) -> Response:
    """``POST /_emulator/reset``: no faults, no logged requests, no jobs, nothing in flight."""
    state = _state(request)
    state.faults.clear()
    state.requests.clear()
    state.jobs.clear()
    state.in_flight.clear()
    return JSONResponse({"ok": True})


async def admin_health(request: Request) -> Response:
    """``GET /_emulator/health``: the emulator is up."""
    return JSONResponse({"ok": True, "emulator": "glmkit"})


ADMIN_ROUTES = [
    Route("/_emulator/faults", admin_faults, methods=["GET", "POST", "DELETE"]),
    Route("/_emulator/requests", admin_requests, methods=["GET", "DELETE"]),
    Route("/_emulator/reset", admin_reset, methods=["POST"]),
    Route("/_emulator/health", admin_health, methods=["GET"]),
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
    routes: list[Any] = list(ADMIN_ROUTES)
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
