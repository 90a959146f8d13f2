"""The emulated plan monitor (reference §14.3): plan level, 5-hour and weekly windows, MCP allowance.

Windows move as emulated requests on the plan surfaces (coding, Anthropic, Responses) consume tokens,
through ``state.usage_hooks``. A spent window makes those surfaces answer 1308 (5-hour) or 1310 (weekly)
through ``state.admit_hooks``. Capacities per level are emulator choices: the reference gives only the
Pro 5-hour figure (40M tokens) and the MCP budgets (Lite 100, Pro 1,000, Max 4,000 calls).

Tests set the state with ``EmulatorConfig(options={"quota": {...}})`` or ``POST /api/_emulator/quota``:
``{"level": "max", "schema": "tokens"|"credits"|"legacy", "5h": {"used": n} | {"percentage": p},
"week": {...}, "mcp": {"search-prime": 3}, "extra_rows": [...]}`` (``reset_in`` seconds moves a reset).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from glmkit.emulator.app import EmulatorState, admit, error_response

# Emulator choices scaled from the reference's Pro figure (Jan 2026 ratio Lite:Pro:Max = 1:5:20).
CAPACITY_5H = {"lite": 8_000_000, "pro": 40_000_000, "max": 160_000_000}
WEEK_FACTOR = 8  # a week holds this many 5-hour windows (UNVERIFIED; the reference gives no figure)
MCP_MONTHLY = {"lite": 100, "pro": 1_000, "max": 4_000}
LENGTH = {"5h": 5 * 3600, "week": 7 * 86400, "month": 30 * 86400}
UNITS = {"5h": (3, 5), "week": (6, 1), "month": (5, 1)}
PLAN_PATHS = ("/api/coding/", "/api/anthropic/", "/api/v1/responses")
MODEL_PATHS = ("/chat/completions", "/v1/messages", "/responses")


@dataclass
class Window:
    """One window: used amount, capacity and when it resets (epoch seconds)."""

    capacity: float
    used: float = 0.0
    reset: float = 0.0

    def roll(self, now: float, length: int) -> None:
        """Start a new window when the old one is over."""
        if self.reset <= now:
            self.used = 0.0
            self.reset = now + length


@dataclass
class QuotaState:
    """The emulated account's plan and usage."""

    level: str
    schema: str = "tokens"
    windows: dict[str, Window] = field(default_factory=dict)
    mcp: dict[str, int] = field(default_factory=dict)
    extra_rows: list[Any] = field(default_factory=list)  # rows of a future schema, sent as given


def quota_state(state: EmulatorState) -> QuotaState:
    """This emulator's quota state (made on first use)."""
    qs = state.extra.get("quota")
    if qs is None:
        level = (state.config.plan or "pro").lower()
        cap = CAPACITY_5H.get(level, CAPACITY_5H["pro"])
        qs = QuotaState(
            level,
            windows={
                "5h": Window(cap),
                "week": Window(cap * WEEK_FACTOR),
                "month": Window(MCP_MONTHLY.get(level, 1000)),
            },
        )
        state.extra["quota"] = qs
        if state.config.options.get("quota"):
            configure(state, state.config.options["quota"])
    return qs


def configure(state: EmulatorState, spec: dict[str, Any]) -> QuotaState:
    """Set level, schema generation, window usage or MCP counts (for tests and demos)."""
    qs = quota_state(state)
    now = state.clock()
    if "level" in spec:
        qs.level = str(spec["level"]).lower()
        cap = CAPACITY_5H.get(qs.level, CAPACITY_5H["pro"])
        qs.windows["5h"].capacity, qs.windows["week"].capacity = cap, cap * WEEK_FACTOR
        qs.windows["month"].capacity = MCP_MONTHLY.get(qs.level, 1000)
    if "schema" in spec:
        qs.schema = str(spec["schema"])
    if isinstance(spec.get("extra_rows"), list):
        qs.extra_rows = list(spec["extra_rows"])
    for name in ("5h", "week"):
        if isinstance(spec.get(name), dict):
            win = qs.windows[name]
            win.roll(now, LENGTH[name])
            if "percentage" in spec[name]:
                win.used = win.capacity * float(spec[name]["percentage"]) / 100
            if "used" in spec[name]:
                win.used = float(spec[name]["used"])
            if "reset_in" in spec[name]:
                win.reset = now + float(spec[name]["reset_in"])
    if isinstance(spec.get("mcp"), dict):
        qs.mcp = {str(k): int(v) for k, v in spec["mcp"].items()}
        qs.windows["month"].roll(now, LENGTH["month"])
        qs.windows["month"].used = float(sum(qs.mcp.values()))
    return qs


def _row(name: str, typ: str, win: Window, schema: str) -> dict[str, Any]:
    unit, number = UNITS[name]
    pct = round(100 * win.used / win.capacity) if win.capacity else 0
    row: dict[str, Any] = {"type": typ, "unit": unit, "number": number, "percentage": min(pct, 100)}
    if schema == "legacy":  # older Pro responses: percentage only (reference §17)
        return row
    row.update(
        usage=int(win.capacity),
        currentValue=int(win.used),
        remaining=max(int(win.capacity - win.used), 0),
        nextResetTime=int(win.reset * 1000),
    )
    return row


def limits_body(state: EmulatorState) -> dict[str, Any]:
    """The ``quota/limit`` answer for the current state."""
    qs = quota_state(state)
    if qs.level in ("none", "payg", ""):  # a pay-as-you-go key: no plan windows (UNVERIFIED shape)
        return {"code": 200, "msg": "Operation successful", "success": True, "data": {"limits": []}}
    now = state.clock()
    for name, win in qs.windows.items():
        win.roll(now, LENGTH[name])
    typ = "CREDIT_LIMIT" if qs.schema == "credits" else "TOKENS_LIMIT"
    limits = [_row("5h", typ, qs.windows["5h"], qs.schema), _row("week", typ, qs.windows["week"], qs.schema)]
    mcp = _row("month", "TIME_LIMIT", qs.windows["month"], "tokens")
    mcp["usageDetails"] = [{"modelCode": k, "usage": v} for k, v in qs.mcp.items()]
    limits.append(mcp)
    limits.extend(qs.extra_rows)
    data: dict[str, Any] = {"limits": limits, "level": qs.level}
    if qs.schema == "credits":
        data["planName"] = f"GLM Coding {qs.level.title()}"
    return {"code": 200, "msg": "Operation successful", "success": True, "data": data}


def _tokens(entry: dict[str, Any]) -> float:
    if entry.get("total_tokens"):
        return float(entry["total_tokens"])
    return float(entry.get("prompt_tokens") or entry.get("input_tokens") or 0) + float(
        entry.get("completion_tokens") or entry.get("output_tokens") or 0
    )


def _on_usage(state: EmulatorState, entry: dict[str, Any]) -> None:
    if entry.get("surface", "coding") == "general":  # the general endpoint bills balance, not the plan
        return
    qs = quota_state(state)
    now = state.clock()
    for name in ("5h", "week"):
        win = qs.windows[name]
        win.roll(now, LENGTH[name])
        win.used += _tokens(entry)
    if entry.get("tool"):
        qs.mcp[str(entry["tool"])] = qs.mcp.get(str(entry["tool"]), 0) + 1
        qs.windows["month"].used += 1


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _on_admit(state: EmulatorState, request: Request) -> Response | None:
    path = request.url.path
    if not (path.startswith(PLAN_PATHS) and path.endswith(MODEL_PATHS)):
        return None
    qs = quota_state(state)
    if qs.level in ("none", "payg", ""):
        return None
    now = state.clock()
    five, week = qs.windows["5h"], qs.windows["week"]
    five.roll(now, LENGTH["5h"])
    week.roll(now, LENGTH["week"])
    if week.used >= week.capacity:
        return error_response(
            "1310", f"Weekly/Monthly Limit Exhausted. Your limit will reset at {_when(week.reset)}", status=429
        )
    if five.used >= five.capacity:
        return error_response(
            "1308", f"Usage limit reached for 5 hour. Your limit will reset at {_when(five.reset)}", status=429
        )
    return None


def root_routes(state: EmulatorState) -> list[Route]:
    """Monitor routes below ``/api``, plus the test knob ``/api/_emulator/quota``."""
    state.usage_hooks.append(lambda entry: _on_usage(state, entry))
    hooks = getattr(state, "admit_hooks", None)
    if hooks is not None:
        hooks.append(lambda request: _on_admit(state, request))

    async def limit(request: Request) -> Response:
        early, _ = await admit(state, request)
        if early is not None:
            return _monitor_error(early)
        return JSONResponse(limits_body(state))

    async def model_usage(request: Request) -> Response:
        early, _ = await admit(state, request)
        if early is not None:
            return _monitor_error(early)
        qs = quota_state(state)
        used = int(qs.windows["week"].used)
        data = {
            "x_time": [],
            "modelCallCount": [],
            "tokensUsage": [],
            "totalUsage": {"totalModelCallCount": None, "totalTokensUsage": used, "modelSummaryList": []},
        }
        return JSONResponse({"code": 200, "msg": "Operation successful", "success": True, "data": data})

    async def tool_usage(request: Request) -> Response:
        early, _ = await admit(state, request)
        if early is not None:
            return _monitor_error(early)
        qs = quota_state(state)
        total = {
            "totalNetworkSearchCount": qs.mcp.get("search-prime", 0),
            "totalWebReadMcpCount": qs.mcp.get("web-reader", 0),
            "totalZreadMcpCount": qs.mcp.get("zread", 0),
        }
        return JSONResponse(
            {"code": 200, "msg": "Operation successful", "success": True, "data": {"totalUsage": total}}
        )

    async def knob(request: Request) -> Response:
        if request.method == "DELETE":
            state.extra.pop("quota", None)
        elif request.method == "POST":
            try:
                configure(state, json.loads(await request.body() or b"{}"))
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                return JSONResponse({"error": {"code": "1214", "message": str(exc)}}, 400)
        return JSONResponse(limits_body(state))

    return [
        Route("/monitor/usage/quota/limit", limit, methods=["GET"]),
        Route("/monitor/usage/model-usage", model_usage, methods=["GET"]),
        Route("/monitor/usage/tool-usage", tool_usage, methods=["GET"]),
        Route("/_emulator/quota", knob, methods=["GET", "POST", "DELETE"]),
    ]


def _monitor_error(response: Response) -> Response:
    """The monitor's own envelope ``{"code", "msg", "success": false}`` (reference §13.1) for an error."""
    try:
        err = json.loads(bytes(response.body))["error"]
        code, msg = int(err["code"]), err["message"]
    except (ValueError, KeyError, TypeError):
        return response
    return JSONResponse({"code": code, "msg": msg, "success": False}, status_code=response.status_code)
