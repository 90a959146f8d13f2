"""The emulated plan monitor (reference §14.3, live evidence §3): plan level, 5-hour and weekly windows, MCP pool.

Windows move as emulated requests on the plan surfaces (coding, Anthropic, Responses) consume them,
through ``state.usage_hooks``. A spent window makes those surfaces answer 1308 (5-hour) or 1310 (weekly)
through ``state.admit_hooks``.

Three schema generations, the newest the default (live evidence §3, four captures of 2026-08/09):

- ``credits`` (credit plans, since about 2026-07-30): ``CREDIT_LIMIT`` rows for the 5-hour (unit 3, number 5)
  and weekly (unit 6, number 1) windows whose ``usage`` is the allowance in credits (``data/limits.toml``
  ``[plan.credits]``: Lite 2,000 / 10,000, Pro 12,000 / 60,000); no ``TIME_LIMIT`` row; an untouched 5-hour
  window has no ``nextResetTime`` (it starts with the first request). A request costs credits by the model's
  multipliers, halved off-peak (``glmkit.types.quota.price_phase`` on the emulator's clock; reference §14.1,
  UNVERIFIED).
- ``tokens`` (token plans: a 2026-09-01 Pro capture, steipete/CodexBar#343): ``TOKENS_LIMIT`` rows with only
  ``percentage`` and ``nextResetTime``, beside a full ``TIME_LIMIT`` row (the monthly MCP-call pool). Token
  capacities are emulator choices scaled from the reference's Pro figure (40M tokens per 5 hours).
- ``legacy`` (older Pro answers, §17): ``TOKENS_LIMIT`` rows with ``percentage`` only.

Tests set the state with ``EmulatorConfig(options={"quota": {...}})`` or ``POST /api/_emulator/quota``:
``{"level": "max", "schema": "credits"|"tokens"|"legacy", "5h": {"used": n} | {"percentage": p},
"week": {...}, "mcp": {"search-prime": 3}, "extra_rows": [...]}`` (``reset_in`` seconds moves a reset).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from glmkit import data
from glmkit.emulator.admission import admit, error_response
from glmkit.emulator.state import EmulatorState
from glmkit.types.quota import price_phase

# Token plans: emulator choices scaled from the reference's Pro figure (Jan 2026 ratio Lite:Pro:Max = 1:5:20).
CAPACITY_5H = {"lite": 8_000_000, "pro": 40_000_000, "max": 160_000_000}
WEEK_FACTOR = 8  # a week holds this many 5-hour windows (UNVERIFIED; the reference gives no figure)
MCP_MONTHLY = {"lite": 100, "pro": 1_000, "max": 4_000}
LENGTH = {"5h": 5 * 3600, "week": 7 * 86400, "month": 30 * 86400}
UNITS = {"5h": (3, 5), "week": (6, 1), "month": (5, 1)}
PLAN_PATHS = ("/api/coding/", "/api/anthropic/", "/api/v1/responses")
MODEL_PATHS = ("/chat/completions", "/v1/messages", "/responses")
SCHEMAS = ("credits", "tokens", "legacy")


@dataclass
class Window:
    """One window: used amount, capacity and when it resets (epoch seconds; 0 while untouched)."""

    capacity: float
    used: float = 0.0
    reset: float = 0.0

    def roll(self, now: float) -> None:
        """Forget an ended window: it is untouched until the next use."""
        if self.reset and self.reset <= now:
            self.used = 0.0
            self.reset = 0.0

    def start(self, now: float, length: int) -> None:
        """Start the window (its reset time) if it is untouched."""
        self.roll(now)
        if not self.reset:
            self.reset = now + length


@dataclass
class QuotaState:
    """The emulated account's plan and usage."""

    level: str
    schema: str = "credits"
    windows: dict[str, Window] = field(default_factory=dict)
    mcp: dict[str, int] = field(default_factory=dict)
    extra_rows: list[Any] = field(default_factory=list)  # rows of a future schema, sent as given
    calls: deque[tuple[float, str, int]] = field(default_factory=lambda: deque(maxlen=100_000))
    """(time, model, tokens) of each metered request, for ``model-usage``."""


def capacities(level: str, schema: str) -> dict[str, float]:
    """The 5-hour, weekly and monthly capacities of a plan level in a schema's unit (credits or tokens)."""
    mcp = float(MCP_MONTHLY.get(level, 1000))
    if schema == "credits":
        table = data.load("limits")["plan"]["credits"]
        five, week = table.get(level, table["pro"])
        return {"5h": float(five), "week": float(week), "month": mcp}
    cap = float(CAPACITY_5H.get(level, CAPACITY_5H["pro"]))
    return {"5h": cap, "week": cap * WEEK_FACTOR, "month": mcp}


def _apply_capacities(qs: QuotaState) -> None:
    for name, cap in capacities(qs.level, qs.schema).items():
        qs.windows[name].capacity = cap


def quota_state(state: EmulatorState) -> QuotaState:
    """This emulator's quota state (made on first use)."""
    qs = state.extra.get("quota")
    if qs is None:
        level = (state.config.plan or "pro").lower()
        qs = QuotaState(level, windows={name: Window(0.0) for name in LENGTH})
        _apply_capacities(qs)
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
    if "schema" in spec:
        if spec["schema"] not in SCHEMAS:
            raise ValueError(f"schema must be one of {', '.join(SCHEMAS)}, got {spec['schema']!r}")
        qs.schema = str(spec["schema"])
    _apply_capacities(qs)
    if isinstance(spec.get("extra_rows"), list):
        qs.extra_rows = list(spec["extra_rows"])
    for name in ("5h", "week"):
        if isinstance(spec.get(name), dict):
            win = qs.windows[name]
            win.start(now, LENGTH[name])
            if "percentage" in spec[name]:
                win.used = win.capacity * float(spec[name]["percentage"]) / 100
            if "used" in spec[name]:
                win.used = float(spec[name]["used"])
            if "reset_in" in spec[name]:
                win.reset = now + float(spec[name]["reset_in"])
    if isinstance(spec.get("mcp"), dict):
        qs.mcp = {str(k): int(v) for k, v in spec["mcp"].items()}
        qs.windows["month"].start(now, LENGTH["month"])
        qs.windows["month"].used = float(sum(qs.mcp.values()))
    return qs


def _row(name: str, typ: str, win: Window, schema: str) -> dict[str, Any]:
    unit, number = UNITS[name]
    pct = round(100 * win.used / win.capacity) if win.capacity else 0
    row: dict[str, Any] = {"type": typ, "unit": unit, "number": number, "percentage": min(pct, 100)}
    if schema == "legacy":  # older Pro responses: percentage only (reference §17)
        return row
    if schema == "tokens" and typ == "TOKENS_LIMIT":  # live evidence §3: percentage and nextResetTime only
        row["nextResetTime"] = int(win.reset * 1000)
        return row
    used = round(win.used, 2) if schema == "credits" else int(win.used)  # a request costs a fraction of a credit
    row.update(usage=int(win.capacity), currentValue=used, remaining=max(round(win.capacity - win.used, 2), 0))
    if win.reset:  # live evidence §3: an untouched credit window has no nextResetTime
        row["nextResetTime"] = int(win.reset * 1000)
    return row


def limits_body(state: EmulatorState) -> dict[str, Any]:
    """The ``quota/limit`` answer for the current state."""
    qs = quota_state(state)
    if qs.level in ("none", "payg", ""):  # a pay-as-you-go key: no plan windows (UNVERIFIED shape)
        return {"code": 200, "msg": "Operation successful", "success": True, "data": {"limits": []}}
    now = state.clock()
    for name, win in qs.windows.items():
        win.roll(now)
        # reference silent: whether an untouched weekly or MCP window reports a reset; they do here (calendar-like)
        if name != "5h" or qs.schema != "credits":
            win.start(now, LENGTH[name])
    typ = "CREDIT_LIMIT" if qs.schema == "credits" else "TOKENS_LIMIT"
    limits = [_row("5h", typ, qs.windows["5h"], qs.schema), _row("week", typ, qs.windows["week"], qs.schema)]
    if qs.schema != "credits":  # live evidence §3: credit plans send no TIME_LIMIT row
        mcp = _row("month", "TIME_LIMIT", qs.windows["month"], "full")
        mcp["usageDetails"] = [{"modelCode": k, "usage": v} for k, v in qs.mcp.items()]
        limits.append(mcp)
    limits.extend(qs.extra_rows)
    data_: dict[str, Any] = {"limits": limits, "level": qs.level}
    if qs.schema == "credits":
        data_["planName"] = f"GLM Coding {qs.level.title()}"
    return {"code": 200, "msg": "Operation successful", "success": True, "data": data_}


def _tokens(entry: dict[str, Any]) -> float:
    if entry.get("total_tokens"):
        return float(entry["total_tokens"])
    return float(entry.get("prompt_tokens") or entry.get("input_tokens") or 0) + float(
        entry.get("completion_tokens") or entry.get("output_tokens") or 0
    )


def credits_of(entry: dict[str, Any], now: float) -> float:
    """What a request costs a credit plan: (input x in + cached x cached + output x out) / 10,000 by the model's
    multipliers (``data/limits.toml``), at ``price_phase``'s cost factor (half off-peak); UNVERIFIED, §14.1."""
    table = data.load("limits")["plan"]["credit_multipliers"]
    inp, cached_mult, out = table.get(str(entry.get("model", "")).lower()) or table[table["default"]]
    cached = float(((entry.get("prompt_tokens_details") or {}).get("cached_tokens")) or 0)
    prompt = float(entry.get("prompt_tokens") or entry.get("input_tokens") or 0)
    output = float(entry.get("completion_tokens") or entry.get("output_tokens") or 0)
    factor = price_phase(dt.datetime.fromtimestamp(now, dt.UTC)).cost_factor
    return float(factor * ((prompt - cached) * inp + cached * cached_mult + output * out) / 10_000)


def _on_usage(state: EmulatorState, entry: dict[str, Any]) -> None:
    if entry.get("surface", "coding") == "general":  # the general endpoint bills balance, not the plan
        return
    qs = quota_state(state)
    now = state.clock()
    if entry.get("tool"):
        qs.mcp[str(entry["tool"])] = qs.mcp.get(str(entry["tool"]), 0) + 1
        qs.windows["month"].start(now, LENGTH["month"])
        qs.windows["month"].used += 1
        return
    tokens = _tokens(entry)
    cost = credits_of(entry, now) if qs.schema == "credits" else tokens
    for name in ("5h", "week"):
        win = qs.windows[name]
        win.start(now, LENGTH[name])
        win.used += cost
    qs.calls.append((now, str(entry.get("model", "")), int(tokens)))


def _parse_time(text: str | None, default: dt.datetime) -> dt.datetime:
    if not text:
        return default
    try:
        return dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)
    except ValueError:
        raise ValueError(f"time {text!r}: use yyyy-MM-dd HH:mm:ss") from None


def model_usage_body(state: EmulatorState, start: str | None, end: str | None) -> dict[str, Any]:
    """``model-usage``: hourly buckets of calls and tokens between two times, and totals that are their sums.

    reference silent: the monitor's time zone (the account's local time, §14.3; UTC here), and whether an hour
    without calls reads ``null`` or 0 (``null`` here, as the reference's ``int|null`` allows); the default span
    is the last 24 hours.
    """
    qs = quota_state(state)
    now = dt.datetime.fromtimestamp(state.clock(), dt.UTC)
    last = _parse_time(end, now)
    first = _parse_time(start, last - dt.timedelta(hours=24))
    hour = first.replace(minute=0, second=0, microsecond=0)
    x_time: list[str] = []
    calls: list[int | None] = []
    tokens: list[int | None] = []
    per_model: dict[str, int] = {}
    while hour <= last:
        lo, hi = hour.timestamp(), (hour + dt.timedelta(hours=1)).timestamp()
        inside = [c for c in qs.calls if lo <= c[0] < hi and first.timestamp() <= c[0] <= last.timestamp()]
        x_time.append(hour.strftime("%Y-%m-%d %H:%M"))
        calls.append(len(inside) or None)
        tokens.append(sum(c[2] for c in inside) or None)
        for _, model, n in inside:
            per_model[model] = per_model.get(model, 0) + n
        hour += dt.timedelta(hours=1)
    ranked = sorted(per_model.items(), key=lambda kv: -kv[1])
    return {
        "x_time": x_time,
        "modelCallCount": calls,
        "tokensUsage": tokens,
        "totalUsage": {
            "totalModelCallCount": sum(c or 0 for c in calls),
            "totalTokensUsage": sum(t or 0 for t in tokens),
            "modelSummaryList": [
                {"modelName": m, "totalTokens": n, "sortOrder": i + 1} for i, (m, n) in enumerate(ranked)
            ],
        },
        "modelDataList": [{"modelName": m, "totalTokens": n} for m, n in ranked],
    }


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
    five.roll(now)
    week.roll(now)
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
        try:
            body = model_usage_body(state, request.query_params.get("startTime"), request.query_params.get("endTime"))
        except ValueError as exc:
            return JSONResponse({"code": 1214, "msg": str(exc), "success": False}, status_code=400)
        return JSONResponse({"code": 200, "msg": "Operation successful", "success": True, "data": body})

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
