"""What the official `anthropic` package sees from the gateway in corner cases: malformed requests, overloaded and
quota errors, unknown routes, broken upstream streams, protocol headers (in process, against the emulator)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest
from anthropic.types import ErrorResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from glmkit._config import resolve_settings
from glmkit.emulator import EmulatorConfig
from glmkit.emulator import create_app as emulator_app
from glmkit.emulator.faults import Fault
from glmkit.gateway.app import create_app
from glmkit.gateway.config import GatewayConfig
from glmkit.testing import TEST_KEY, AsyncEmulatorTransport
from tests.gateway.conftest import ThreadServer

pytestmark = pytest.mark.timeout(30)
MSG: dict[str, Any] = {"model": "claude-sonnet-4-5", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}


def gateway(tmp_path: Path, upstream: Any, **config: Any) -> Any:
    settings = resolve_settings(api_key=TEST_KEY, base_url="http://emulator.invalid/api/coding/paas/v4", environ={})
    config.setdefault("ledger_path", str(tmp_path / "l.db"))
    return create_app(GatewayConfig(**config), settings, transport=AsyncEmulatorTransport(upstream))


@contextlib.contextmanager
def sdk(app: Any, max_retries: int = 0) -> Iterator[anthropic.Anthropic]:
    """The official client against the gateway app served on a loopback port (stopped, ledger flushed, on exit)."""
    with ThreadServer(app) as server:
        yield anthropic.Anthropic(api_key="x", base_url=server.url, max_retries=max_retries)


def events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"system": ["be brief"]}, "system.0"),
        ({"tools": [{"input_schema": {"type": "object"}}]}, "tools.0.name"),
        ({"tools": "lookup"}, "tools"),
        ({"tool_choice": "auto"}, "tool_choice"),
        ({"thinking": "on"}, "thinking"),
        ({"metadata": "me"}, "metadata"),
        ({"temperature": "hot"}, "temperature"),
        ({"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]}, "messages.0.content.0.text"),
        (
            {"messages": [{"role": "user", "content": [{"type": "image", "source": "x"}]}]},
            "messages.0.content.0.source",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": [5]}]}]},
            "messages.0.content.0.content.0",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "tool_result", "tool_use_id": "t", "content": [{"type": "text"}]}],
                    }
                ]
            },
            "messages.0.content.0.content.0.text",
        ),
    ],
)
@pytest.mark.parametrize("mode", ["translate", "passthrough"])
def test_malformed_request_is_a_400_naming_the_field(
    tmp_path: Path, extra: dict[str, Any], field: str, mode: str
) -> None:
    app = gateway(tmp_path, emulator_app(EmulatorConfig()), mode=mode)
    with sdk(app) as client, pytest.raises(anthropic.BadRequestError) as info:
        client.messages.create(**MSG, extra_body=extra)  # sent as written, past the SDK's own checks
    error = ErrorResponse.model_validate(info.value.body)
    assert error.error.type == "invalid_request_error"
    assert error.error.message.startswith(field + ":") or error.error.message.startswith(field + ".")


@pytest.mark.parametrize("mode", ["translate", "passthrough"])
def test_overloaded_1305_is_a_529_overloaded_error_in_both_modes(tmp_path: Path, mode: str) -> None:
    emu = emulator_app(EmulatorConfig(faults=[Fault(code="1305", times=10)]))
    app = gateway(tmp_path, emu, mode=mode, ledger=False)
    with sdk(app) as client, pytest.raises(anthropic.APIStatusError) as info:
        client.messages.create(**MSG)
    assert info.value.status_code == 529
    assert ErrorResponse.model_validate(info.value.body).error.type == "overloaded_error"


def test_quota_429_tells_the_client_not_to_retry(tmp_path: Path) -> None:
    from glmkit.ledger import Ledger

    emu = emulator_app(EmulatorConfig(faults=[Fault(code="1308", times=10)]))
    app = gateway(tmp_path, emu)
    with sdk(app, max_retries=3) as client, pytest.raises(anthropic.RateLimitError) as info:
        client.messages.create(**MSG)
    assert info.value.response.headers["x-should-retry"] == "false"
    assert ErrorResponse.model_validate(info.value.body).error.type == "rate_limit_error"
    assert len(Ledger(tmp_path / "l.db").requests()) == 1  # the SDK asked once: a spent plan will not come back


@pytest.mark.anyio
async def test_unknown_route_and_method_answer_in_anthropic_format(tmp_path: Path) -> None:
    app = gateway(tmp_path, emulator_app(EmulatorConfig()), ledger=False)
    async with httpx.AsyncClient(transport=AsyncEmulatorTransport(app), base_url="http://localhost") as c:
        missing = await c.post("/v1/messages/batches", json=MSG, headers={"anthropic-version": "2023-06-01"})
        wrong = await c.get("/v1/messages")
    await app.state.gateway.aclose()
    assert missing.status_code == 404
    assert ErrorResponse.model_validate(missing.json()).error.type == "not_found_error"
    assert wrong.status_code == 405
    assert ErrorResponse.model_validate(wrong.json()).error.type == "invalid_request_error"


def fake_upstream(chat: bytes = b"", seen: list[Request] | None = None) -> Starlette:
    """A coding endpoint that streams ``chat``, and an Anthropic endpoint that records what it was sent."""

    async def completions(request: Request) -> Response:
        return Response(chat, media_type="text/event-stream")

    async def messages(request: Request) -> Response:
        if seen is not None:
            seen.append(request)
        message = {
            "id": "m1",
            "type": "message",
            "role": "assistant",
            "model": "glm-5.3",
            "content": [{"type": "text", "text": "ok"}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 3, "output_tokens": 1},
        }
        return JSONResponse(message)

    return Starlette(
        routes=[
            Route("/api/coding/paas/v4/chat/completions", completions, methods=["POST"]),
            Route("/api/anthropic/v1/messages", messages, methods=["POST"]),
        ]
    )


@pytest.mark.anyio
async def test_a_malformed_upstream_chunk_ends_the_stream_with_an_error_event(tmp_path: Path) -> None:
    from glmkit.ledger import Ledger

    chat = b'data: {"id":"1","choices":[{"index":0,"delta":{"content":"hel"}}]}\n\ndata: {not json\n\n'
    app = gateway(tmp_path, fake_upstream(chat))
    async with httpx.AsyncClient(transport=AsyncEmulatorTransport(app), base_url="http://localhost") as c:
        r = await c.post("/v1/messages", json={**MSG, "stream": True})
    await app.state.gateway.aclose()
    got = events(r.text)
    assert [e["type"] for e in got][:3] == ["message_start", "content_block_start", "content_block_delta"]
    assert ErrorResponse.model_validate(got[-1]).error.type == "api_error"
    assert [row["status"] for row in Ledger(tmp_path / "l.db").requests()] == [502]


def test_passthrough_forwards_the_clients_protocol_headers(tmp_path: Path) -> None:
    seen: list[Request] = []
    app = gateway(tmp_path, fake_upstream(seen=seen), mode="passthrough", ledger=False)
    with sdk(app) as client:
        message = client.messages.create(**MSG, extra_headers={"anthropic-beta": "interleaved-thinking-2025-05-14"})
    assert message.content[0].type == "text"
    headers = seen[0].headers
    assert headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    assert headers["anthropic-version"] == client.default_headers["anthropic-version"]  # what the SDK sent
    assert "x-api-key" not in headers and headers["authorization"] != "Bearer x"  # the client's key stays here


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["translate", "passthrough"])
async def test_overloaded_mid_stream_is_an_overloaded_error_event(tmp_path: Path, mode: str) -> None:
    emu = emulator_app(EmulatorConfig(faults=[Fault(kind="stream_error", after=3, code="1305")]))
    app = gateway(tmp_path, emu, mode=mode, ledger=False)
    async with httpx.AsyncClient(transport=AsyncEmulatorTransport(app), base_url="http://localhost") as c:
        r = await c.post("/v1/messages", json={**MSG, "stream": True})
    await app.state.gateway.aclose()
    got = events(r.text)
    assert got[0]["type"] == "message_start"
    error = ErrorResponse.model_validate(got[-1])
    assert error.error.type == "overloaded_error"


@pytest.mark.anyio
async def test_tool_result_blocks_the_gateway_does_not_use_are_still_accepted(tmp_path: Path) -> None:
    result = [{"type": "text", "text": "3 hits"}, {"type": "search_result", "source": "s", "title": "t", "content": []}]
    messages = [
        {"role": "user", "content": "search"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "search", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": result}]},
    ]
    tools = [{"name": "search", "input_schema": {"type": "object"}}]
    app = gateway(tmp_path, emulator_app(EmulatorConfig()), ledger=False)
    async with httpx.AsyncClient(transport=AsyncEmulatorTransport(app), base_url="http://localhost") as c:
        r = await c.post("/v1/messages", json={**MSG, "messages": messages, "tools": tools})
    await app.state.gateway.aclose()
    assert r.status_code == 200, r.text


def test_upstream_refusing_the_gateways_key_is_not_the_clients_401(tmp_path: Path) -> None:
    emu = emulator_app(EmulatorConfig(faults=[Fault(code="1002", times=10)]))  # Z.AI: "Authorization Token is invalid"
    app = gateway(tmp_path, emu, ledger=False)
    with sdk(app, max_retries=2) as client, pytest.raises(anthropic.APIStatusError) as info:
        client.messages.create(**MSG)
    assert info.value.status_code == 502 and not isinstance(info.value, anthropic.AuthenticationError)
    assert info.value.response.headers["x-should-retry"] == "false"
    message = ErrorResponse.model_validate(info.value.body).error.message
    assert "ZAI_API_KEY" in message and TEST_KEY[:8] not in message


@pytest.mark.anyio
@pytest.mark.parametrize("messages", [["hi"], [{"role": "user", "content": [5]}], [{"role": "tool", "content": "x"}]])
async def test_emulated_anthropic_endpoint_refuses_malformed_messages(messages: list[Any]) -> None:
    # the passthrough upstream itself: a 400 with a business code, as Z.AI answers, never a crash
    emu = emulator_app(EmulatorConfig())
    async with httpx.AsyncClient(transport=AsyncEmulatorTransport(emu), base_url="http://emulator.invalid") as c:
        body = {**MSG, "model": "glm-4.6", "messages": messages}
        r = await c.post("/api/anthropic/v1/messages", json=body, headers={"x-api-key": TEST_KEY})
    assert r.status_code == 400
    error = ErrorResponse.model_validate(r.json()).error
    # Z.AI's Anthropic endpoint writes "[code][message][request id]" (live evidence §2)
    assert error.type == "invalid_request_error" and "][messages.0." in error.message


def test_wire_types_read_what_passthrough_relays() -> None:
    from glmkit.types.anthropic import Message, RedactedThinkingBlock

    content = [{"type": "redacted_thinking", "data": "EmwKAhgBEgy..."}, {"type": "text", "text": "hi"}]
    raw = {"id": "m", "model": "glm-5.3", "content": content, "usage": {"input_tokens": 1, "output_tokens": 1}}
    assert isinstance(Message.model_validate(raw).content[0], RedactedThinkingBlock)
    anthropic.types.Message.model_validate({**raw, "type": "message", "role": "assistant", "stop_reason": "end_turn"})


@pytest.mark.parametrize("mode", ["translate", "passthrough"])
def test_the_upstream_request_id_reaches_the_client(tmp_path: Path, mode: str) -> None:
    app = gateway(tmp_path, emulator_app(EmulatorConfig()), mode=mode, ledger=False)
    with sdk(app) as client:
        message = client.messages.create(**MSG)
    assert message._request_id  # the SDK reads the request-id header: what a bug report to Z.AI needs


def test_the_upstreams_retry_after_is_passed_on(tmp_path: Path) -> None:
    emu = emulator_app(EmulatorConfig(faults=[Fault(code="1305", retry_after=0.05, times=10)]))
    app = gateway(tmp_path, emu, ledger=False)
    with sdk(app) as client, pytest.raises(anthropic.APIStatusError) as info:
        client.messages.create(**MSG)
    assert info.value.status_code == 529
    assert float(info.value.response.headers["retry-after"]) == 0.05
