"""In-process gateway behaviour: describe-then-replace vision, passthrough fixes, config errors, body redaction."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from glmkit._config import resolve_settings
from glmkit._errors import InputError
from glmkit.emulator import EmulatorConfig
from glmkit.emulator import create_app as emulator_app
from glmkit.gateway.app import create_app, redact_body
from glmkit.gateway.config import GatewayConfig, from_config
from glmkit.testing import TEST_KEY, AsyncEmulatorTransport, EmulatorServer

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="


def gateway(tmp_path: Path, emu: Any = None, **config: Any) -> tuple[Any, Any]:
    emu = emu or emulator_app(EmulatorConfig())
    settings = resolve_settings(api_key=TEST_KEY, base_url="http://emulator.invalid/api/coding/paas/v4", environ={})
    app = create_app(
        GatewayConfig(ledger_path=str(tmp_path / "l.db"), **config), settings, transport=AsyncEmulatorTransport(emu)
    )
    return app, emu


async def test_describe_then_replace_keeps_the_text_model(tmp_path: Path) -> None:
    app, emu = gateway(tmp_path, vision="describe")
    async with httpx.AsyncClient(transport=AsyncEmulatorTransport(app), base_url="http://localhost") as c:
        r = await c.post(
            "/v1/messages",
            json={
                "model": "claude-sonnet-4-5",
                "max_tokens": 300,
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                            {"type": "text", "text": "fix the error in this screenshot"},
                        ],
                    }
                ],
            },
        )
    await app.state.gateway.aclose()
    assert r.status_code == 200, r.text
    assert r.json()["model"] == "glm-5.3"  # the coding model answered, from a text description
    bodies = list(emu.state.emulator.extra["chat"]["received"])
    assert bodies[0]["model"] == "glm-4.6v" and bodies[0]["messages"][0]["content"][0]["type"] == "image_url"
    final = bodies[-1]
    assert final["model"] == "glm-5.3"
    assert "[Image: This is glm-4.6v" in final["messages"][-1]["content"]


async def test_passthrough_mends_zero_usage_float_usage_and_empty_blocks(tmp_path: Path) -> None:
    app, _ = gateway(tmp_path, mode="passthrough")
    tool = {"name": "lookup", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}
    body = {
        "model": "glm-4.6",
        "max_tokens": 300,
        "tools": [tool],
        "system": [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": "look it up"}],
    }
    async with httpx.AsyncClient(transport=AsyncEmulatorTransport(app), base_url="http://localhost") as c:
        plain = (await c.post("/v1/messages", json=body)).json()
        streamed = (await c.post("/v1/messages", json={**body, "stream": True})).text
    await app.state.gateway.aclose()
    assert [b["type"] for b in plain["content"]] == ["tool_use"]  # the upstream's empty text block is gone
    assert all(isinstance(v, int) for v in plain["usage"].values())  # floats from the "cache hit" made ints
    events = [json.loads(line[6:]) for line in streamed.splitlines() if line.startswith("data: ")]
    start = next(e for e in events if e["type"] == "message_start")
    assert start["message"]["usage"]["input_tokens"] > 0  # the upstream said 0
    blocks = [e for e in events if e["type"] == "content_block_start"]
    assert [(b["index"], b["content_block"]["type"]) for b in blocks] == [(0, "tool_use")]
    assert all(e["index"] == 0 for e in events if e["type"] in ("content_block_delta", "content_block_stop"))
    delta = next(e for e in events if e["type"] == "message_delta")
    assert all(isinstance(v, int) for v in delta["usage"].values())


async def test_model_1m_suffix_never_reaches_the_upstream(tmp_path: Path) -> None:
    app, emu = gateway(tmp_path)
    async with httpx.AsyncClient(transport=AsyncEmulatorTransport(app), base_url="http://localhost") as c:
        r = await c.post(
            "/v1/chat/completions", json={"model": "glm-5.3[1m]", "messages": [{"role": "user", "content": "x"}]}
        )
    await app.state.gateway.aclose()
    assert r.status_code == 200 and r.json()["model"] == "glm-5.3"


def test_config_errors_name_the_fix() -> None:
    with pytest.raises(InputError, match="exposes the gateway") as info:
        GatewayConfig(host="0.0.0.0", ledger=False)
    assert "--token" in (info.value.hint or "")
    with pytest.raises(InputError, match="Unknown gateway mode .proxy."):
        from_config({"routes": {"/v1/messages": "proxy"}}, ledger=False)
    with pytest.raises(InputError, match="Unknown \\[gateway\\] settings: colour"):
        from_config({"colour": "blue"})
    cfg = from_config({"models": {"opus": "glm-5.2"}, "routes": {"/v1/messages": "passthrough"}}, ledger=False)
    assert cfg.map_model("claude-opus-4-1") == "glm-5.2" and cfg.mode_for("/v1/messages") == "passthrough"


def test_logged_bodies_are_redacted() -> None:
    raw = json.dumps(
        {
            "api_key": "0123456789abcdef0123456789abcdef.secretsecret1234",
            "x-api-key": "k",
            "messages": [{"content": "a" * 5000}],
        }
    ).encode()
    text = redact_body(raw)
    assert "secretsecret" not in text and '"x-api-key":"[redacted]"' in text
    assert "[5000 chars]" in text


async def test_malformed_upstream_body_is_a_502(tmp_path: Path) -> None:
    from glmkit.emulator.faults import Fault

    emu = emulator_app(EmulatorConfig(faults=[Fault(kind="malformed", times=2)]))
    app, _ = gateway(tmp_path, emu)
    async with httpx.AsyncClient(transport=AsyncEmulatorTransport(app), base_url="http://localhost") as c:
        r = await c.post(
            "/v1/messages", json={"model": "glm-4.6", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}
        )
        o = await c.post(
            "/v1/chat/completions", json={"model": "glm-4.6", "messages": [{"role": "user", "content": "x"}]}
        )
    await app.state.gateway.aclose()
    assert r.status_code == 502 and r.json()["error"]["type"] == "api_error"
    assert o.status_code == 502 and "not valid JSON" in o.json()["error"]["message"]


async def test_passthrough_does_not_send_disabled_thinking_to_an_always_thinking_model(tmp_path: Path) -> None:
    emu = emulator_app(EmulatorConfig())
    bodies: list[dict[str, Any]] = []

    async def capture(scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        bodies.append(json.loads(message.get("body") or b"{}"))

        pending = [message]

        async def replay() -> Any:
            return pending.pop() if pending else await receive()

        await emu(scope, replay, send)

    app, _ = gateway(tmp_path, capture, mode="passthrough")
    async with httpx.AsyncClient(transport=AsyncEmulatorTransport(app), base_url="http://localhost") as c:
        for model in ("glm-5.3", "glm-4.6"):
            r = await c.post(
                "/v1/messages",
                json={
                    "model": model,
                    "max_tokens": 50,
                    "thinking": {"type": "disabled"},
                    "messages": [{"role": "user", "content": "x"}],
                },
            )
            assert r.status_code == 200
    await app.state.gateway.aclose()
    assert "thinking" not in bodies[0] and bodies[0]["model"] == "glm-5.3"
    assert bodies[1]["thinking"] == {"type": "disabled"}  # a hybrid model may switch it off


@pytest.mark.parametrize(
    ("base_url", "lean", "proxy", "expected"),
    [
        ("http://127.0.0.1:8741/api/coding/paas/v4", None, {}, True),
        ("https://api.z.ai/api/coding/paas/v4", None, {}, True),
        ("https://api.z.ai/api/coding/paas/v4", False, {}, False),
        ("https://api.z.ai/api/coding/paas/v4", None, {"HTTPS_PROXY": "http://proxy.corp:3128"}, False),
        ("https://api.z.ai/api/coding/paas/v4", None, {"ALL_PROXY": "http://proxy.corp:3128"}, False),
        ("https://api.z.ai/api/coding/paas/v4", None, {"HTTP_PROXY": "http://proxy.corp:3128"}, True),
        (
            "https://api.z.ai/api/coding/paas/v4",
            None,
            {"HTTPS_PROXY": "http://proxy.corp:3128", "NO_PROXY": "api.z.ai"},
            True,
        ),
        ("https://api.z.ai/api/coding/paas/v4", True, {"HTTPS_PROXY": "http://proxy.corp:3128"}, True),
    ],
)
def test_lean_upstream_transport_unless_a_proxy_applies_or_turned_off(
    base_url: str, lean: bool | None, proxy: dict[str, str], expected: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from glmkit._http11 import LeanTransport
    from glmkit.gateway.state import Gateway

    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in proxy.items():
        monkeypatch.setenv(name, value)
    settings = resolve_settings(api_key=TEST_KEY, base_url=base_url, environ={})
    gateway = Gateway(GatewayConfig(lean_upstream=lean, ledger=False), settings)
    assert isinstance(gateway.upstream.direct, LeanTransport) is expected


async def test_without_the_lean_transport_the_upstream_goes_through_httpx(
    tmp_path: Path, emulator_server: EmulatorServer
) -> None:
    settings = resolve_settings(api_key=TEST_KEY, base_url=emulator_server.coding_base_url, environ={})
    app = create_app(GatewayConfig(lean_upstream=False, ledger=False), settings)
    assert app.state.gateway.upstream.direct is None  # httpx picks the route (and any proxy) for each URL
    body = {"model": "glm-4.6", "messages": [{"role": "user", "content": "through httpx"}]}
    async with httpx.AsyncClient(transport=AsyncEmulatorTransport(app), base_url="http://localhost") as c:
        plain = await c.post("/v1/chat/completions", json=body)
        async with c.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as r:
            streamed = b"".join([piece async for piece in r.aiter_bytes()])
    await app.state.gateway.aclose()
    assert plain.status_code == 200 and "through httpx" in plain.json()["choices"][0]["message"]["content"]
    assert streamed.endswith(b"data: [DONE]\n\n")


@pytest.mark.parametrize(
    ("agent", "tool"),
    [
        ("claude-cli/2.0.14 (external, cli)", "claude-code"),
        ("OpenAI/Python 3.57.0", "openai"),
        ("", "unknown"),
        (None, "unknown"),
    ],
)
def test_ledger_tool_is_named_from_the_user_agent(agent: str | None, tool: str) -> None:
    from glmkit.gateway.endpoint import tool_of

    assert tool_of(agent) == tool


async def test_an_environment_proxy_carries_the_sdk_and_the_gateway_upstream(
    tmp_path: Path, emulator_server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from glmkit import AsyncClient
    from glmkit._errors import APIStatusError

    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    # The emulator plays the proxy: a request that reaches it names a foreign Host, which its guard answers 421.
    # Sent past the proxy, the request would fail to connect (.invalid never resolves).
    monkeypatch.setenv("HTTP_PROXY", emulator_server.url)
    base = "http://api.proxied.invalid/api/coding/paas/v4"
    async with AsyncClient(api_key=TEST_KEY, base_url=base, max_retries=0, environ={}) as client:
        with pytest.raises(APIStatusError) as info:
            await client.models.list()
    assert info.value.status_code == 421
    settings = resolve_settings(api_key=TEST_KEY, base_url=base, max_retries=0, environ={})
    app = create_app(GatewayConfig(ledger=False), settings)
    body = {"model": "glm-4.6", "messages": [{"role": "user", "content": "through the proxy"}]}
    async with httpx.AsyncClient(transport=AsyncEmulatorTransport(app), base_url="http://localhost") as c:
        answer = await c.post("/v1/chat/completions", json=body)
    await app.state.gateway.aclose()
    assert answer.status_code == 421, answer.text
