"""What Claude Code 2.1.3xx needs of the gateway besides /v1/messages itself: ``HEAD /``, ``?beta=true``, model
discovery ids it keeps, and the ``prompt is too long`` wording it compacts on."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from glmkit._config import resolve_settings
from glmkit.emulator import EmulatorConfig
from glmkit.emulator import create_app as emulator_app
from glmkit.gateway.app import create_app
from glmkit.gateway.config import GatewayConfig
from glmkit.testing import TEST_KEY, AsyncEmulatorTransport

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]
HELLO = {"model": "claude-opus-5-5", "max_tokens": 1000, "messages": [{"role": "user", "content": "hi"}]}


def app_for(tmp_path: Path, **config: Any) -> Any:
    settings = resolve_settings(api_key=TEST_KEY, base_url="http://emulator.invalid/api/coding/paas/v4", environ={})
    emu = emulator_app(EmulatorConfig())
    return create_app(
        GatewayConfig(ledger_path=str(tmp_path / "l.db"), **config), settings, transport=AsyncEmulatorTransport(emu)
    )


async def call(app: Any, method: str, path: str, **kw: Any) -> httpx.Response:
    async with httpx.AsyncClient(transport=AsyncEmulatorTransport(app), base_url="http://127.0.0.1") as c:
        r = await c.request(method, path, **kw)
    await app.state.gateway.aclose()
    return r


async def test_head_root_answers_200(tmp_path: Path) -> None:
    assert (await call(app_for(tmp_path), "HEAD", "/")).status_code == 200


@pytest.mark.parametrize("mode", ["translate", "passthrough"])
async def test_beta_query_is_served(tmp_path: Path, mode: str) -> None:
    app = app_for(tmp_path, mode=mode)
    r = await call(app, "POST", "/v1/messages?beta=true", json=HELLO, headers={"anthropic-version": "2023-06-01"})
    assert r.status_code == 200, r.text
    count = await call(app_for(tmp_path), "POST", "/v1/messages/count_tokens?beta=true", json=HELLO)
    assert count.status_code == 200 and count.json()["input_tokens"] > 0


@pytest.mark.parametrize("header", [{"anthropic-version": "2023-06-01"}, {"x-api-key": "any"}])
async def test_models_lists_ids_claude_code_keeps(tmp_path: Path, header: dict[str, str]) -> None:
    config = GatewayConfig(ledger=False)
    r = await call(app_for(tmp_path), "GET", "/v1/models?limit=1000", headers=header)
    data = r.json()["data"]
    ids = [m["id"] for m in data]
    assert ids[:3] == ["claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5"]
    assert "claude-glm-5.3" in ids and "claude-glm-5.3-flash" in ids
    assert all(re.search("claude|anthropic", i, re.I) for i in ids)  # Claude Code drops every other id
    for m in data:  # the display name says which GLM model answers, and the id resolves to it
        glm = config.map_model(m["id"])
        assert m["display_name"].startswith(glm + " ")


@pytest.mark.parametrize("mode", ["translate", "passthrough"])
async def test_prompt_too_long_in_claude_codes_wording(tmp_path: Path, mode: str) -> None:
    app = app_for(tmp_path, mode=mode, max_context=50)
    body = {**HELLO, "messages": [{"role": "user", "content": "word " * 400}]}
    r = await call(app, "POST", "/v1/messages", json=body)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert re.fullmatch(r"prompt is too long: \d+ tokens > 50 maximum", error["message"]), error


def test_only_betas_meaningful_upstream_are_passed() -> None:
    from glmkit.gateway.app import upstream_betas

    sent = "claude-code-20250219,interleaved-thinking-2025-05-14, context-management-2025-06-27,effort-2025-11-24"
    assert upstream_betas(sent) == "interleaved-thinking-2025-05-14"
    assert upstream_betas(None) == "" and upstream_betas("prompt-caching-2024-07-31") == ""


def test_unified_headers_from_plan_windows() -> None:
    from glmkit.gateway.plan_limits import unified_headers
    from glmkit.types.quota import QuotaInfo

    info = QuotaInfo.model_validate(
        {
            "level": "pro",
            "limits": [
                {"type": "CREDIT_LIMIT", "unit": 3, "number": 5, "usage": 12000, "currentValue": 10200,
                 "nextResetTime": 1796230000000},
                {"type": "CREDIT_LIMIT", "unit": 6, "number": 1, "usage": 60000, "currentValue": 12000,
                 "nextResetTime": 1796600000000},
            ],
        }
    )  # fmt: skip
    h = unified_headers(info)
    assert h["anthropic-ratelimit-unified-5h-utilization"] == "0.85"
    assert h["anthropic-ratelimit-unified-5h-status"] == "allowed_warning"
    assert h["anthropic-ratelimit-unified-5h-reset"] == "1796230000"
    assert h["anthropic-ratelimit-unified-7d-utilization"] == "0.2"
    assert h["anthropic-ratelimit-unified-7d-status"] == "allowed"
    assert h["anthropic-ratelimit-unified-status"] == "allowed_warning"  # the most used window speaks
    assert h["anthropic-ratelimit-unified-reset"] == "1796230000"
    assert unified_headers(QuotaInfo.model_validate({"limits": []})) == {}


async def test_plan_limit_headers_reach_answers_without_waiting_on_the_monitor(tmp_path: Path) -> None:
    import asyncio

    app = app_for(tmp_path, plan_limits=0.05)
    seen: list[dict[str, str]] = []
    claude_code = {"user-agent": "claude-cli/2.1.332 (external, cli)"}
    async with httpx.AsyncClient(transport=AsyncEmulatorTransport(app), base_url="http://127.0.0.1") as c:
        other = await c.post("/v1/messages", json=HELLO)  # not Claude Code: no headers, and no monitor read
        assert not any(k.startswith("anthropic-ratelimit") for k in other.headers)
        assert app.state.gateway.plan_limits._task is None
        for _ in range(60):
            r = await c.post("/v1/messages", json=HELLO, headers=claude_code)
            assert r.status_code == 200
            seen.append({k: v for k, v in r.headers.items() if k.startswith("anthropic-ratelimit-unified-")})
            if seen[-1]:
                break
            await asyncio.sleep(0.05)
    await app.state.gateway.aclose()
    assert seen[0] == {}  # the first answer did not wait for the monitor
    last = seen[-1]
    assert 0.0 <= float(last["anthropic-ratelimit-unified-5h-utilization"]) <= 1.0
    assert last["anthropic-ratelimit-unified-status"] in ("allowed", "allowed_warning", "rejected")
