"""``client.quota``: every schema generation parsed, windows found by unit/number, and the emulated monitor."""

from __future__ import annotations

import datetime as dt
import json
import random
import time

import httpx
import pytest

from glmkit import AsyncClient, Client
from glmkit._errors import AuthenticationError, QuotaExceededError
from glmkit.emulator import EmulatorConfig, create_app
from glmkit.testing import TEST_KEY, async_offline_client, offline_client
from glmkit.types.quota import QuotaInfo, parse_monitor

pytestmark = pytest.mark.filterwarnings("ignore:glmkit. chat is going to the GLM Coding Plan endpoint")

CODING = "http://emulator.invalid/api/coding/paas/v4"
GENERAL = "http://emulator.invalid/api/paas/v4"
MSG = [{"role": "user", "content": "count my tokens"}]

# The reference's example (§14.3): TOKENS_LIMIT with every field, weekly with only percentage, TIME_LIMIT.
TOKENS = {
    "level": "pro",
    "limits": [
        {"type": "TOKENS_LIMIT", "unit": 3, "number": 5, "usage": 40000000, "currentValue": 13628365,
         "remaining": 26371635, "percentage": 34, "nextResetTime": 1768507567547},
        {"type": "TOKENS_LIMIT", "unit": 6, "number": 1, "percentage": 8, "nextResetTime": 1789190400000},
        {"type": "TIME_LIMIT", "unit": 5, "number": 1, "usage": 1000, "currentValue": 40, "remaining": 960,
         "percentage": 4, "usageDetails": [{"modelCode": "search-prime", "usage": 25},
                                           {"modelCode": "web-reader", "usage": 10}]},
    ],
}  # fmt: skip
CREDITS = {
    "planName": "GLM Coding Max",
    "limits": [
        {"type": "CREDIT_LIMIT", "unit": 6, "number": 1, "usage": 140000, "currentValue": 70000, "remaining": 70000,
         "percentage": 50, "nextResetTime": 1789190400000},
        {"type": "CREDIT_LIMIT", "unit": 3, "number": 5, "usage": 28000, "currentValue": 7000, "remaining": 21000,
         "nextResetTime": 1768507567547},
    ],
}  # fmt: skip
LEGACY = {"level": "pro", "limits": [{"type": "TOKENS_LIMIT", "unit": 3, "number": 5, "percentage": 12}]}


def envelope(data: object) -> bytes:
    return json.dumps({"code": 200, "msg": "Operation successful", "success": True, "data": data}).encode()


def test_tokens_generation() -> None:
    info = parse_monitor(envelope(TOKENS), QuotaInfo)
    assert info.plan == "pro"
    five, week, month = info.window("5h"), info.window("week"), info.window("month")
    assert five.currentValue == 13628365 and five.used_percent == 34 and five.label == "5-hour tokens"
    assert five.resets_at == dt.datetime.fromtimestamp(1768507567.547, tz=dt.UTC)
    assert week.used_percent == 8 and week.usage is None  # optional fields may be missing
    assert month.kind == "mcp" and {d.modelCode: d.usage for d in month.usageDetails} == {
        "search-prime": 25,
        "web-reader": 10,
    }
    assert info.unknown == []


def test_credit_generation_with_plan_name_and_computed_percentage() -> None:
    info = parse_monitor(envelope(CREDITS), QuotaInfo)
    assert info.plan == "GLM Coding Max"
    assert info.window("5h").type == "CREDIT_LIMIT"
    assert info.window("5h").used_percent == 25.0  # no percentage field: currentValue / usage
    assert info.window("week").used_percent == 50
    assert info.window("month") is None


def test_legacy_percentage_only_generation() -> None:
    info = parse_monitor(envelope(LEGACY), QuotaInfo)
    five = info.window("5h")
    assert five.used_percent == 12 and five.resets_at is None and five.forecast(dt.datetime.now(dt.UTC)) is None


def test_windows_are_found_by_unit_and_number_not_position() -> None:
    rows = list(TOKENS["limits"])
    for seed in range(5):
        random.Random(seed).shuffle(rows)
        info = parse_monitor(envelope({"level": "pro", "limits": rows}), QuotaInfo)
        assert info.window("5h").percentage == 34
        assert info.window("week").percentage == 8
        assert info.window("month").percentage == 4


def test_unknown_rows_are_kept_raw_not_fatal() -> None:
    data = {
        "level": "lite",
        "limits": [
            {"type": "TOKENS_LIMIT", "unit": 1, "number": 7, "percentage": 3},  # an unattested window
            {"type": "SEAT_LIMIT", "unit": 3, "number": 5, "percentage": 1},  # an unknown type
            {"type": "TOKENS_LIMIT", "unit": 3, "number": 5, "percentage": {"odd": True}},  # unreadable
            "not even an object",
        ],
    }
    info = parse_monitor(envelope(data), QuotaInfo)
    assert len(info.limits) == 4
    assert len(info.unknown) == 4
    assert info.window("5h") is None
    assert info.unknown[2].raw == data["limits"][2]


def test_data_as_a_bare_list_and_error_envelopes() -> None:
    info = parse_monitor(envelope(LEGACY["limits"]), QuotaInfo)
    assert info.window("5h").percentage == 12
    with pytest.raises(AuthenticationError) as err:
        parse_monitor(
            json.dumps({"code": 1001, "msg": "Authorization Token Missing", "success": False}).encode(), QuotaInfo
        )
    assert err.value.code == "1001"


def test_forecast_runs_out_before_reset_at_the_current_pace() -> None:
    now = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
    reset = now + dt.timedelta(hours=3)  # the window started 2 h ago
    row = {
        "type": "TOKENS_LIMIT",
        "unit": 3,
        "number": 5,
        "percentage": 50,
        "nextResetTime": int(reset.timestamp() * 1000),
    }
    five = parse_monitor(envelope({"limits": [row]}), QuotaInfo).window("5h")
    assert five.forecast(now) == now + dt.timedelta(hours=2)
    row["percentage"] = 20  # 20% in 2 h: 100% would take 10 h, after the reset
    assert parse_monitor(envelope({"limits": [row]}), QuotaInfo).window("5h").forecast(now) is None


# -- against the emulator ---------------------------------------------------------------------------------


PEAK = dt.datetime(2026, 11, 25, 7, 30, tzinfo=dt.UTC).timestamp()  # a Wednesday, 15:30 UTC+8: peak hours
OFF_PEAK = dt.datetime(2026, 11, 28, 7, 30, tzinfo=dt.UTC).timestamp()  # a Saturday


@pytest.mark.parametrize(("when", "factor"), [(PEAK, 1.0), (OFF_PEAK, 0.5)])
def test_emulated_credit_windows_move_with_plan_usage_only(when: float, factor: float) -> None:
    """The default plan is a credit plan (live evidence §3): Max 28,000 / 140,000 credits, no MCP row, an untouched
    5-hour row without nextResetTime; a request costs (input x 6.9 + output x 24) / 10,000 credits on GLM-5.3,
    half of that off-peak."""
    app = create_app(EmulatorConfig(plan="max"), clock=lambda: when)
    coding = offline_client(app, base_url=CODING)
    general = offline_client(app, base_url=GENERAL)
    first = coding.quota.limits()
    assert first.plan == "max" and first.credits and first.window("5h").currentValue == 0
    assert first.window("5h").nextResetTime is None and first.window("week").nextResetTime is not None
    assert first.window("month") is None and {lim.type for lim in first.limits} == {"CREDIT_LIMIT"}
    reply = coding.chat.completions.create(model="glm-5.3", messages=MSG)
    general.chat.completions.create(model="glm-5.3", messages=MSG)  # balance-billed: not the plan's window
    after = coding.quota.limits()
    cost = factor * (reply.usage.prompt_tokens * 6.9 + reply.usage.completion_tokens * 24) / 10_000
    assert after.window("5h").currentValue == pytest.approx(cost, abs=0.01)
    assert after.window("week").currentValue == pytest.approx(cost, abs=0.01)
    assert after.window("5h").nextResetTime == int((when + 5 * 3600) * 1000)  # started by the first request
    assert (after.window("5h").usage, after.window("week").usage) == (28_000, 140_000)


@pytest.mark.parametrize(("level", "five", "week"), [("lite", 2_000, 10_000), ("pro", 12_000, 60_000)])
def test_credit_capacities_are_the_live_ones(level: str, five: int, week: int) -> None:
    """Live evidence §3: Lite 2,000 / 10,000 and Pro 12,000 / 60,000 credits."""
    info = offline_client(create_app(EmulatorConfig(plan=level))).quota.limits()
    assert (info.window("5h").usage, info.window("week").usage) == (five, week)


def test_token_plans_send_percentage_rows_and_a_full_mcp_row() -> None:
    """Live evidence §3 (a 2026-09-01 Pro capture): TOKENS_LIMIT rows with only percentage and nextResetTime,
    beside a full TIME_LIMIT row."""
    app = create_app(EmulatorConfig(options={"quota": {"schema": "tokens", "mcp": {"search-prime": 4}}}))
    info = offline_client(app, base_url=CODING).quota.limits()
    rows = {lim.type: lim for lim in info.limits if lim.window == "5h" or lim.type == "TIME_LIMIT"}
    assert set(rows["TOKENS_LIMIT"].model_dump(exclude_none=True, exclude_defaults=True)) == {
        "type", "unit", "number", "percentage", "nextResetTime"
    }  # fmt: skip
    mcp = rows["TIME_LIMIT"]
    assert (mcp.usage, mcp.currentValue, mcp.remaining) == (1000, 4, 996) and mcp.usageDetails[0].usage == 4


@pytest.mark.parametrize(
    ("spec", "code"), [({"5h": {"percentage": 100}}, "1308"), ({"week": {"percentage": 100}}, "1310")]
)
def test_exhausted_window_answers_with_its_business_code(spec: dict, code: str) -> None:
    app = create_app(EmulatorConfig(options={"quota": spec}))
    client = offline_client(app, base_url=CODING, max_retries=3)
    with pytest.raises(QuotaExceededError) as err:
        client.chat.completions.create(model="glm-5.3", messages=MSG)
    assert err.value.code == code and err.value.resets_at is not None
    assert sum(r["path"].endswith("/chat/completions") for r in app.state.emulator.requests) == 1  # never retried
    assert client.quota.limits().window("5h" if code == "1308" else "week").used_percent == 100


@pytest.mark.parametrize("schema", ["tokens", "credits", "legacy"])
def test_emulator_serves_each_schema_generation(schema: str) -> None:
    app = create_app(EmulatorConfig(options={"quota": {"schema": schema, "5h": {"percentage": 40}}}))
    info = offline_client(app).quota.limits()
    assert info.window("5h").used_percent == 40
    assert info.window("5h").type == ("CREDIT_LIMIT" if schema == "credits" else "TOKENS_LIMIT")
    assert (info.window("5h").nextResetTime is None) == (schema == "legacy")


def test_knob_route_sets_state_and_a_bad_key_is_refused() -> None:
    app = create_app(EmulatorConfig(keys=frozenset({TEST_KEY})))
    transport = httpx.ASGITransport(app=app)

    async def go() -> None:
        async with httpx.AsyncClient(transport=transport, base_url="http://emulator.invalid") as http:
            spec = {"level": "lite", "schema": "tokens", "mcp": {"search-prime": 7}}
            r = await http.post("/api/_emulator/quota", json=spec)
            assert r.json()["data"]["level"] == "lite"
            r = await http.get("/api/monitor/usage/quota/limit", headers={"Authorization": "wrong.key"})
            assert r.status_code == 401 and r.json()["success"] is False

    import anyio

    anyio.run(go)
    info = offline_client(app).quota.limits()
    assert info.window("month").usageDetails[0].modelCode == "search-prime" and info.window("month").currentValue == 7
    with pytest.raises(AuthenticationError):
        offline_client(app, api_key="ffffffffffffffffffffffffffffffff.glmkitEmulator99").quota.limits()


def test_raw_key_first_then_bearer() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        if not request.headers["authorization"].startswith("Bearer "):
            return httpx.Response(401, json={"code": 1001, "msg": "Authorization Token Missing", "success": False})
        return httpx.Response(200, content=envelope(TOKENS))

    client = Client(api_key=TEST_KEY, base_url="https://api.z.ai/api/paas/v4", transport=httpx.MockTransport(handler))
    assert client.quota.limits().plan == "pro"
    assert seen == [TEST_KEY, f"Bearer {TEST_KEY}"]


def test_usage_endpoints_send_local_times() -> None:
    urls: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        urls.append(request.url)
        return httpx.Response(200, content=envelope({"totalUsage": {"totalNetworkSearchCount": 3}}))

    client = Client(api_key=TEST_KEY, transport=httpx.MockTransport(handler), environ={})
    start, end = dt.datetime(2026, 11, 1, 0, 0), dt.datetime(2026, 11, 2, 0, 0)
    assert client.quota.tool_usage(start, end).totalUsage == {"totalNetworkSearchCount": 3}
    assert urls[0].path == "/api/monitor/usage/tool-usage"
    assert urls[0].params["startTime"] == "2026-11-01 00:00:00" and urls[0].params["endTime"] == "2026-11-02 00:00:00"


@pytest.mark.anyio
async def test_async_quota_matches_sync() -> None:
    app = create_app(EmulatorConfig(options={"quota": {"5h": {"percentage": 30}}}))
    aclient: AsyncClient = async_offline_client(app)
    info = await aclient.quota.limits()
    assert info.to_dict() == offline_client(app).quota.limits().to_dict()
    await aclient.close()


@pytest.mark.timeout(60)
def test_claude_codes_protocol_draws_on_the_same_plan_window() -> None:
    """The official anthropic client (what Claude Code speaks) moves the window and gets 1308 when it is spent."""
    anthropic = pytest.importorskip("anthropic")
    from glmkit.testing import EmulatorServer

    with EmulatorServer(job_seconds=0.0) as server:
        judge = anthropic.Anthropic(api_key=TEST_KEY, base_url=f"{server.url}/api/anthropic", max_retries=0)
        reply = judge.messages.create(model="glm-5.3", max_tokens=64, messages=[{"role": "user", "content": "hi"}])
        client = Client(api_key=TEST_KEY, base_url=server.base_url)
        used = client.quota.limits().window("5h").currentValue
        from glmkit.emulator.quota import credits_of

        entry = {
            "model": "glm-5.3",
            "input_tokens": reply.usage.input_tokens,
            "output_tokens": reply.usage.output_tokens,
        }
        assert used == pytest.approx(credits_of(entry, time.time()), abs=0.01) and used > 0
        httpx.post(f"{server.url}/api/_emulator/quota", json={"5h": {"percentage": 100}})
        with pytest.raises(anthropic.RateLimitError) as err:
            judge.messages.create(model="glm-5.3", max_tokens=64, messages=[{"role": "user", "content": "hi"}])
        assert "1308" in str(err.value.body)


def test_no_forecast_in_the_first_minutes_of_a_window() -> None:
    now = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
    reset = now + dt.timedelta(days=7) - dt.timedelta(minutes=5)  # the week began 5 minutes ago
    row = {
        "type": "TOKENS_LIMIT",
        "unit": 6,
        "number": 1,
        "percentage": 3,
        "nextResetTime": int(reset.timestamp() * 1000),
    }
    assert parse_monitor(envelope({"limits": [row]}), QuotaInfo).window("week").forecast(now) is None


def test_price_phase_reads_the_peak_table_from_data() -> None:
    """One public function says peak or off-peak and when it flips; the hours come from data/limits.toml."""
    from glmkit import data
    from glmkit.types.quota import price_phase

    row = data.load("limits")["plan"]["peak_hours"]
    assert (row["utc_offset_hours"], row["start_hour"], row["end_hour"]) == (8, 14, 18)
    utc = dt.UTC
    inside = price_phase(dt.datetime(2026, 11, 25, 7, 30, tzinfo=utc))  # Wednesday 15:30 UTC+8
    assert (inside.peak, inside.name, inside.cost_factor) == (True, "peak", 1.0)
    assert inside.changes_at == dt.datetime(2026, 11, 25, 10, 0, tzinfo=utc)  # 18:00 UTC+8
    assert inside.changes_at.tzinfo is not None and inside.changes_at.utcoffset() == dt.timedelta(0)
    assert inside.seconds_left(dt.datetime(2026, 11, 25, 7, 30, tzinfo=utc)) == 2.5 * 3600
    weekend = price_phase(dt.datetime(2026, 11, 28, 7, 0, tzinfo=utc))  # Saturday
    assert (weekend.peak, weekend.name, weekend.cost_factor) == (False, "off-peak", row["off_peak_cost"])
    assert weekend.changes_at == dt.datetime(2026, 11, 30, 6, 0, tzinfo=utc)  # Monday 14:00 UTC+8
    assert weekend.hours == "Mon-Fri 14:00-18:00 UTC+8"
    naive = price_phase(dt.datetime(2026, 11, 25, 7, 30))  # read as UTC
    assert naive == inside


def test_client_quota_phase_and_credit_plans() -> None:
    """``client.quota.phase()`` (sync and async alike) is the same function; a credit plan says so."""
    from glmkit.types.quota import price_phase

    when = dt.datetime(2026, 11, 25, 7, 30, tzinfo=dt.UTC)
    assert offline_client().quota.phase(when) == price_phase(when)
    assert async_offline_client().quota.phase(when) == price_phase(when)
    assert parse_monitor(envelope(CREDITS), QuotaInfo).credits
    assert not parse_monitor(envelope(TOKENS), QuotaInfo).credits
