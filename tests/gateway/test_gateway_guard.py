"""The gateway refuses what a web page (or a broken client) sends, each in the route's own error format, before
anything reaches the upstream: foreign Host, non-loopback Origin, non-JSON bodies, oversized bodies, JSON nested
too deeply, lone surrogates; `/health` tells strangers only that it is alive."""

from __future__ import annotations

import json
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

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

MESSAGE = {"model": "claude-sonnet-4-5", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
CHAT = {"model": "glm-4.6", "messages": [{"role": "user", "content": "hi"}]}
ROUTES = [("/v1/messages", MESSAGE), ("/v1/messages/count_tokens", MESSAGE), ("/v1/chat/completions", CHAT)]


def build(tmp_path: Path, **config: Any) -> tuple[Any, Any]:
    emu = emulator_app(EmulatorConfig())
    settings = resolve_settings(api_key=TEST_KEY, base_url="http://emulator.invalid/api/coding/paas/v4", environ={})
    app = create_app(
        GatewayConfig(ledger_path=str(tmp_path / "l.db"), **config), settings, transport=AsyncEmulatorTransport(emu)
    )
    return app, emu


def upstream_calls(emu: Any) -> list[dict[str, Any]]:
    return [r for r in emu.state.emulator.requests if not r["path"].startswith("/_emulator")]


def assert_format(route: str, r: httpx.Response, status: int) -> str:
    """The error is in the route's dialect; returns its message."""
    assert r.status_code == status, r.text
    body = r.json()
    if route.startswith("/v1/messages"):
        assert body["type"] == "error" and body["error"]["type"] in (
            "invalid_request_error",
            "permission_error",
            "request_too_large",
        )
    else:
        assert set(body) == {"error"} and body["error"]["code"] in (str(status), "1214")
    assert r.headers.get("x-should-retry") == "false"
    return str(body["error"]["message"])


async def post(app: Any, route: str, *, base: str = "http://127.0.0.1:8742", **kw: Any) -> httpx.Response:
    async with httpx.AsyncClient(transport=AsyncEmulatorTransport(app), base_url=base) as c:
        return await c.post(route, **kw)


@pytest.mark.parametrize(("route", "body"), ROUTES)
async def test_foreign_host_is_refused_in_the_route_format(tmp_path: Path, route: str, body: Any) -> None:
    app, emu = build(tmp_path)
    r = await post(app, route, base="http://rebound.example:8742", json=body)
    assert "rebound.example" in assert_format(route, r, 421)
    for host in ("localhost:8742", "127.0.0.1", "[::1]:1234"):
        ok = await post(app, route, json=body, headers={"Host": host})
        assert ok.status_code == 200, (host, ok.text)
    await app.state.gateway.aclose()
    assert len(upstream_calls(emu)) == (0 if route.endswith("count_tokens") else 3)


async def test_get_routes_refuse_a_foreign_host_too(tmp_path: Path) -> None:
    app, _ = build(tmp_path)
    async with httpx.AsyncClient(transport=AsyncEmulatorTransport(app), base_url="http://evil.test") as c:
        models = await c.get("/v1/models")
        health = await c.get("/health")
    await app.state.gateway.aclose()
    assert models.status_code == 421 and health.status_code == 421
    assert "models" not in health.text


@pytest.mark.parametrize(("route", "body"), ROUTES)
async def test_web_origin_is_refused_loopback_origin_allowed(tmp_path: Path, route: str, body: Any) -> None:
    app, emu = build(tmp_path)
    r = await post(app, route, json=body, headers={"Origin": "https://evil.example"})
    assert "evil.example" in assert_format(route, r, 403)
    null = await post(app, route, json=body, headers={"Origin": "null"})
    assert null.status_code == 403
    local = await post(app, route, json=body, headers={"Origin": "http://localhost:3000"})
    assert local.status_code == 200, local.text
    await app.state.gateway.aclose()
    assert len(upstream_calls(emu)) == (0 if route.endswith("count_tokens") else 1)


async def test_configured_hosts_and_origins_are_let_in(tmp_path: Path) -> None:
    app, _ = build(tmp_path, allowed_hosts=["gw.lan"], allowed_origins=["https://app.example"])
    r = await post(app, "/v1/chat/completions", base="http://gw.lan:8742", json=CHAT)
    o = await post(app, "/v1/chat/completions", json=CHAT, headers={"Origin": "https://app.example"})
    await app.state.gateway.aclose()
    assert r.status_code == 200 and o.status_code == 200


@pytest.mark.parametrize(("route", "body"), ROUTES)
@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; b=x", None])
async def test_post_bodies_must_be_json(tmp_path: Path, route: str, body: Any, ctype: str | None) -> None:
    app, emu = build(tmp_path)
    headers = {"Content-Type": ctype} if ctype else {}
    r = await post(app, route, content=json.dumps(body).encode(), headers=headers)
    assert "application/json" in assert_format(route, r, 415)
    ok = await post(app, route, content=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    await app.state.gateway.aclose()
    assert ok.status_code == 200
    assert len(upstream_calls(emu)) == (0 if route.endswith("count_tokens") else 1)


@pytest.mark.parametrize(("route", "body"), ROUTES)
async def test_body_over_the_cap_is_413(tmp_path: Path, route: str, body: Any) -> None:
    app, emu = build(tmp_path, max_body=4096)
    big = {**body, "metadata": {"pad": "x" * 5000}}
    r = await post(app, route, json=big)
    assert "4,096" in assert_format(route, r, 413)
    assert r.headers["connection"] == "close"

    async def chunks() -> Any:  # no Content-Length: the guard counts what arrives
        yield json.dumps(big).encode()[:3000]
        yield json.dumps(big).encode()[3000:]

    streamed = await post(app, route, content=chunks(), headers={"Content-Type": "application/json"})
    assert_format(route, streamed, 413)
    await app.state.gateway.aclose()
    assert upstream_calls(emu) == []


def test_default_cap_is_64_mib() -> None:
    assert GatewayConfig().max_body == 64 * 1024 * 1024


@pytest.mark.parametrize(("route", "body"), ROUTES)
async def test_deeply_nested_json_is_a_400_not_a_500(tmp_path: Path, route: str, body: Any) -> None:
    app, emu = build(tmp_path)
    deep = "[" * 100_000 + "]" * 100_000
    raw = json.dumps(body)[:-1] + ', "metadata": ' + deep + "}"
    r = await post(app, route, content=raw.encode(), headers={"Content-Type": "application/json"})
    assert "too deeply" in assert_format(route, r, 400)
    bare = await post(app, route, content=deep.encode(), headers={"Content-Type": "application/json"})
    assert bare.status_code == 400, bare.text
    await app.state.gateway.aclose()
    assert upstream_calls(emu) == []


@pytest.mark.parametrize(("route", "body"), [ROUTES[0], ROUTES[2]])
async def test_lone_surrogate_is_our_own_400(tmp_path: Path, route: str, body: Any) -> None:
    app, emu = build(tmp_path)
    raw = json.dumps(body).replace('"hi"', '"broken \\ud800 text"')
    r = await post(app, route, content=raw.encode(), headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    message = r.json()["error"]["message"]
    assert "\\ud800" in message and "upstream" not in message.lower()
    paired = json.dumps(body).replace('"hi"', '"emoji \\ud83d\\ude00 and a \\\\ud800 written out"')
    ok = await post(app, route, content=paired.encode(), headers={"Content-Type": "application/json"})
    await app.state.gateway.aclose()
    assert ok.status_code == 200, ok.text  # a surrogate pair and an escaped backslash are fine
    assert len(upstream_calls(emu)) == 1


async def test_health_shows_only_liveness_without_the_token(tmp_path: Path) -> None:
    app, _ = build(tmp_path, token="gw-secret")
    async with httpx.AsyncClient(transport=AsyncEmulatorTransport(app), base_url="http://127.0.0.1") as c:
        await c.post("/v1/chat/completions", json=CHAT, headers={"x-api-key": "gw-secret"})
        stranger = await c.get("/health")
        owner = await c.get("/health", headers={"Authorization": "Bearer gw-secret"})
    await app.state.gateway.aclose()
    assert stranger.json() == {"ok": True, "gateway": "glmkit"}
    assert "glm-4.6" in owner.json()["models"] and owner.json()["mode"] == "translate"


def test_hang_up_calls_each_waiter_once_and_a_late_one_at_once() -> None:
    """A request that starts waiting after its connection was lost is cancelled at once, not left to spend."""
    from glmkit._request_guard import HangUp

    calls: list[str] = []
    hang_up = HangUp()
    hang_up.add(lambda: calls.append("first"))
    done = lambda: calls.append("done")  # noqa: E731
    hang_up.add(done)
    hang_up.discard(done)  # its request finished: not called
    hang_up.discard(done)  # discarding twice is harmless
    hang_up.fire()
    assert calls == ["first"]
    hang_up.fire()
    assert calls == ["first"]
    hang_up.add(lambda: calls.append("late"))
    assert calls == ["first", "late"]
