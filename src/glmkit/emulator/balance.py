"""Balance-billed endpoints (REST search, reader, OCR) and the Coding-Plan-only keys they refuse.

These endpoints bill account balance, so a Coding-Plan-only key gets HTTP 429 / 1113 there (as the live
API does, reference §1.1, §17) while the remote MCP servers (``mcp_remote.py``) accept it. A key is
plan-only when it is listed in ``EmulatorConfig.options["plan_only_keys"]`` or when its secret (the part
after the dot) starts with ``planonly``, e.g. ``0123456789abcdef0123456789abcdef.planonly00000001``.
The fault header ``X-Emulator-Fault: code=1113`` does the same for one request, and a fault-book entry
``{"code": "1113", "path": "/paas/v4/web_search", "times": -1}`` for every REST search (use that path:
plain ``/web_search`` also matches the MCP server's ``/mcp/web_search_prime/mcp``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from glmkit.emulator.admission import error_response, json_route
from glmkit.emulator.keys import key_of
from glmkit.emulator.state import EmulatorState

PLAN_ONLY_PREFIX = "planonly"
Answer = Callable[[EmulatorState, Request, dict[str, Any]], Response]
"""What a billed endpoint answers to an admitted request and its JSON body."""


def is_plan_only(state: EmulatorState, key: str) -> bool:
    """Whether a key stands for a Coding Plan with no account balance."""
    listed = state.config.options.get("plan_only_keys") or ()
    return key in listed or key.partition(".")[2].startswith(PLAN_ONLY_PREFIX)


def balance_refused(state: EmulatorState, request: Request) -> Response | None:
    """The 429/1113 a balance-billed endpoint gives a plan-only key (``None`` for other keys)."""
    if not is_plan_only(state, key_of(request)):
        return None
    return error_response("1113")  # the live text, from data/errors.toml (live evidence §2)


def billed_route(state: EmulatorState, path: str, answer: Answer) -> Route:
    """The ``POST`` route of a balance-billed JSON endpoint: ``admit`` (key, faults, log), the plan-only
    1113, the JSON body; then ``answer(state, request, body)``."""
    return json_route(state, path, lambda request, body, _: answer(state, request, body), refuse=balance_refused)
