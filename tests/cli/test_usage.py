"""`glm usage` against a real emulator: plan windows that move, a spent quota, a bad key, this machine's ledger."""

from __future__ import annotations

import datetime as dt
import json
import time

import httpx
import pytest
from typer.testing import CliRunner

from glmkit import Client
from glmkit.cli.app import app
from glmkit.cli.usage import in_peak
from glmkit.ledger import Ledger
from glmkit.testing import TEST_KEY, EmulatorServer

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.filterwarnings("ignore:glmkit. chat is going to the GLM Coding Plan endpoint"),
    pytest.mark.usefixtures("coding_home"),
]
runner = CliRunner()
OTHER_KEY = "ffffffffffffffffffffffffffffffff.glmkitEmulator99"


def usage_json(*args: str) -> dict:
    out = runner.invoke(app, ["usage", "--json", *args])
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)


def window(report: dict, name: str) -> dict:
    return next(w for w in report["windows"] if w["window"] == name)


def test_windows_move_as_requests_consume_tokens(coding_server: EmulatorServer) -> None:
    before = window(usage_json(), "5h")
    with Client(api_key=TEST_KEY, base_url=coding_server.coding_base_url) as client:
        reply = client.chat.completions.create(model="glm-5.3", messages=[{"role": "user", "content": "hi"}])
    report = usage_json()
    assert report["plan"] == "pro"
    five = window(report, "5h")
    assert reply.usage.total_tokens and five["used"] > before["used"]  # in credits: a fraction per request
    assert (five["label"], five["capacity"]) == ("5-hour credits", 12_000)  # Pro (live evidence §3)
    assert 0 < five["resets_in_seconds"] <= 5 * 3600
    assert "month" not in {w["window"] for w in report["windows"]}  # credit plans send no TIME_LIMIT row


def test_bars_reset_time_and_mcp_counts_in_text(coding_server: EmulatorServer) -> None:
    spec = {"schema": "tokens", "5h": {"percentage": 50}, "mcp": {"search-prime": 25}}
    httpx.post(f"{coding_server.url}/api/_emulator/quota", json=spec)
    try:
        out = runner.invoke(app, ["usage"])
    finally:
        httpx.post(f"{coding_server.url}/api/_emulator/quota", json={"schema": "credits"})
    assert out.exit_code == 0, out.output
    line = next(ln for ln in out.output.splitlines() if ln.startswith("5-hour tokens"))
    assert "█" * 12 + "░" * 12 in line and "50%" in line
    assert "resets in 5h 00m" in line or "resets in 4h 59m" in line
    assert "search-prime 25" in out.output
    assert "This machine since 24h" in out.output


def test_pace_forecast(coding_server: EmulatorServer) -> None:
    httpx.post(f"{coding_server.url}/api/_emulator/quota", json={"5h": {"percentage": 50, "reset_in": 3 * 3600}})
    five = window(usage_json(), "5h")
    runout = dt.datetime.fromisoformat(five["runs_out_at"])
    expected = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)  # 50% in the 2 h since the window began
    assert abs((runout - expected).total_seconds()) < 120
    assert "at this rate it runs out at" in runner.invoke(app, ["usage"]).output


def test_spent_window_is_shown_and_chat_gets_1308(coding_server: EmulatorServer) -> None:
    httpx.post(f"{coding_server.url}/api/_emulator/quota", json={"5h": {"percentage": 100}})
    five = window(usage_json(), "5h")
    assert five["exhausted"] is True and five["percentage"] == 100
    assert "spent: requests get 1308/1310" in runner.invoke(app, ["usage"]).output
    ask = runner.invoke(app, ["ask", "hello"])
    assert ask.exit_code == 4
    assert "reset" in ask.output.lower()


def test_bad_key_exits_with_the_auth_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZAI_API_KEY", OTHER_KEY)
    out = runner.invoke(app, ["usage"])
    assert out.exit_code == 3
    assert "key" in out.output.lower()


def test_this_machine_by_model_and_tool_with_since() -> None:
    ledger = Ledger()
    ledger.add_request(
        source="gateway", client="claude-code", model_used="glm-5.3", input_tokens=1000, output_tokens=200
    )
    ledger.add_request(source="mcp", tool="web_search", model_used="glm-5.3-flash", input_tokens=10, output_tokens=5)
    old = time.time() - 3 * 86400
    ledger.add_request(source="gateway", model_used="glm-4.7", input_tokens=7, output_tokens=7, created=old)
    local = usage_json("--since", "24h")["local"]
    models = {r["key"]: r for r in local["by_model"]}
    assert set(models) == {"glm-5.3", "glm-5.3-flash"}  # the 3-day-old row is outside --since
    assert models["glm-5.3"]["input_tokens"] == 1000
    assert {r["key"] for r in local["by_tool"]} == {"claude-code", "web_search"}
    assert "glm-4.7" in {r["key"] for r in usage_json("--since", "7d")["local"]["by_model"]}
    bad = runner.invoke(app, ["usage", "--since", "yesterday-ish"])
    assert bad.exit_code == 2 and "start time" in bad.output


def test_watch_refreshes(coding_server: EmulatorServer) -> None:
    out = runner.invoke(app, ["usage", "--watch", "--interval", "0.01", "--times", "3"])
    assert out.exit_code == 0, out.output
    assert out.output.count("GLM Coding Plan:") == 3
    for bad in ("0", "-1"):
        refused = runner.invoke(app, ["usage", "--watch", "--interval", bad, "--times", "2"])
        assert refused.exit_code == 2 and "--interval" in refused.stderr and "hint:" in refused.stderr


def test_reading_the_usage_creates_no_ledger() -> None:
    import os
    from pathlib import Path

    assert runner.invoke(app, ["usage"]).exit_code == 0
    assert not (Path(os.environ["GLMKIT_HOME"]) / "glmkit.db").exists()


def test_unknown_rows_are_printed_raw(coding_server: EmulatorServer) -> None:
    row = {"type": "SEAT_LIMIT", "unit": 9, "number": 9, "percentage": 5}
    httpx.post(f"{coding_server.url}/api/_emulator/quota", json={"extra_rows": [row]})
    out = runner.invoke(app, ["usage"])
    assert out.exit_code == 0, out.output
    assert "unrecognised row (shown raw)" in out.output and "SEAT_LIMIT" in out.output
    assert usage_json()["unknown"] == [row]


def test_peak_hours_follow_utc_plus_8() -> None:
    utc = dt.UTC
    assert in_peak(dt.datetime(2026, 11, 25, 7, 0, tzinfo=utc))  # Wednesday 15:00 in UTC+8
    assert not in_peak(dt.datetime(2026, 11, 25, 11, 0, tzinfo=utc))  # 19:00 in UTC+8
    assert not in_peak(dt.datetime(2026, 11, 28, 7, 0, tzinfo=utc))  # Saturday


def test_next_peak_change() -> None:
    from glmkit.types.quota import PEAK_HOURS

    utc = dt.UTC
    friday_evening = dt.datetime(2026, 11, 27, 11, 0, tzinfo=utc)  # Friday 19:00 UTC+8
    assert PEAK_HOURS.next_change(friday_evening) == dt.datetime(2026, 11, 30, 6, 0, tzinfo=utc)  # Monday 14:00
    inside = dt.datetime(2026, 11, 25, 7, 30, tzinfo=utc)  # Wednesday 15:30 UTC+8
    assert PEAK_HOURS.next_change(inside) == dt.datetime(2026, 11, 25, 10, 0, tzinfo=utc)


def test_offline_usage_is_a_credit_plan_with_its_price_phase() -> None:
    """``glm usage --offline`` shows the default (credit) plan in credits, and the peak / off-peak phase."""
    from glmkit.types.quota import price_phase

    out = runner.invoke(app, ["usage", "--offline"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    five = next(ln for ln in lines if ln.startswith("5-hour credits"))
    assert "0 / 12k" in five and not any(ln.startswith("monthly MCP") for ln in lines)
    assert "starts with the next request" in five  # an untouched credit window has no reset time yet
    assert ("PEAK HOURS" if price_phase().peak else "off-peak") in lines[0]
    assert "Mon-Fri 14:00-18:00 UTC+8" in lines[0]
    report = usage_json("--offline")
    phase = price_phase()
    assert report["peak_hours_now"] == phase.peak and report["cost_factor"] == phase.cost_factor
    assert dt.datetime.fromisoformat(report["peak_hours_change_at"]) == phase.changes_at
