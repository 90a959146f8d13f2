"""The official clients as judges of what the live API does and we must match (live evidence §1): the ``openai``
package's ``client.chat.completions.stream()`` helper (it drops every chunk whose ``object`` is not
``chat.completion.chunk``) and the official ``zai-sdk``, against `glm emulate` and through `glm serve`, both real
processes; and the gateway against an upstream that omits ``object`` as the 2025 recordings did."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from glmkit._config import resolve_settings
from glmkit.gateway.app import create_app
from glmkit.gateway.config import GatewayConfig
from glmkit.gateway.openai import ChunkObjects
from glmkit.testing import TEST_KEY, AsyncEmulatorTransport
from tests.gateway.conftest import Serve, ThreadServer, serve_process

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]
WEATHER = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "Get weather information for a location",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
    },
}
ASK = [{"role": "user", "content": "What's the weather in Florence, Italy?"}]


@pytest.fixture(scope="module")
def gateway(emulate_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    with serve_process(emulate_url, tmp_path_factory.mktemp("judges-home"), "translate") as s:
        yield s


def bases(emulate_url: str, gateway: Serve) -> dict[str, str]:
    return {"glm emulate": f"{emulate_url}/api/coding/paas/v4", "glm serve": f"{gateway.url}/v1"}


def _stream_helper(base: str) -> None:
    client = openai.OpenAI(api_key=TEST_KEY, base_url=base, max_retries=0)
    with client.chat.completions.stream(model="glm-4.7", messages=[{"role": "user", "content": "Say hi"}]) as stream:
        deltas = [e.delta for e in stream if e.type == "content.delta"]
        final = stream.get_final_completion()
    assert deltas and "".join(deltas) == final.choices[0].message.content
    assert final.choices[0].finish_reason == "stop" and final.usage is not None
    with client.chat.completions.stream(model="glm-4.7", messages=ASK, tools=[WEATHER]) as stream:  # type: ignore[list-item]
        done = [e for e in stream if e.type == "tool_calls.function.arguments.done"]
        final = stream.get_final_completion()
    (call,) = final.choices[0].message.tool_calls or []
    assert call.function.name == "weather" and [e.name for e in done] == ["weather"]
    assert "location" in json.loads(call.function.arguments)


def test_openai_stream_helper_against_the_emulator_and_through_the_gateway(emulate_url: str, gateway: Serve) -> None:
    for where, base in bases(emulate_url, gateway).items():
        try:
            _stream_helper(base)
        except AssertionError as exc:
            raise AssertionError(f"{where}: {exc}") from exc


def test_zai_sdk_streams_and_calls_tools_against_the_emulator_and_through_the_gateway(
    emulate_url: str, gateway: Serve
) -> None:
    zai = pytest.importorskip("zai", reason="the official zai-sdk package is not installed")
    for where, base in bases(emulate_url, gateway).items():
        client = zai.ZaiClient(api_key=TEST_KEY, base_url=base)
        try:
            text = ""
            for chunk in client.chat.completions.create(model="glm-4.7", messages=ASK[:1], stream=True):
                text += chunk.choices[0].delta.content or "" if chunk.choices else ""
            assert text, where
            reply = client.chat.completions.create(model="glm-4.7", messages=ASK, tools=[WEATHER])
            (call,) = reply.choices[0].message.tool_calls
            assert call.function.name == "weather" and reply.choices[0].finish_reason == "tool_calls", where
        finally:
            client.close()


# ---- the gateway in front of an upstream without "object" (2025 recordings) ------------------------------------

OLD_CHUNKS = [  # the 2025-11 glm-4.5 shape (fantasy commit 9330a85^): no "object" field
    {
        "id": "r1",
        "created": 1,
        "model": "glm-4.5",
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Ol"}}],
    },
    {
        "id": "r1",
        "created": 1,
        "model": "glm-4.5",
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": "á"}}],
    },
    {
        "id": "r1",
        "created": 1,
        "model": "glm-4.5",
        "choices": [{"index": 0, "finish_reason": "stop", "delta": {"role": "assistant", "content": ""}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
    },
]


async def _old_upstream(request: Request) -> Response:
    async def body() -> Any:
        for chunk in OLD_CHUNKS:
            raw = b"data: " + json.dumps(chunk).encode() + b"\n\n"
            yield raw[:7]  # split mid-event, as a network may
            yield raw[7:]
        yield b"data: [DONE]\n\n"

    return StreamingResponse(body(), media_type="text/event-stream")


def test_gateway_adds_object_to_chunks_that_lack_it(tmp_path: Path) -> None:
    upstream = Starlette(routes=[Route("/api/coding/paas/v4/chat/completions", _old_upstream, methods=["POST"])])
    settings = resolve_settings(api_key=TEST_KEY, base_url="http://up.invalid/api/coding/paas/v4", environ={})
    config = GatewayConfig(ledger_path=str(tmp_path / "l.db"))
    app = create_app(config, settings, transport=AsyncEmulatorTransport(upstream))
    with ThreadServer(app) as server:
        client = openai.OpenAI(api_key="x", base_url=f"{server.url}/v1", max_retries=0)
        with client.chat.completions.stream(model="glm-4.5", messages=[{"role": "user", "content": "hi"}]) as stream:
            text = "".join(e.delta for e in stream if e.type == "content.delta")
        assert text == "Olá"
        raw = httpx.post(
            f"{server.url}/v1/chat/completions",
            json={"model": "glm-4.5", "messages": [{"role": "user", "content": "hi"}], "stream": True},
            timeout=10,
        ).text
    chunks = [json.loads(line[6:]) for line in raw.split("\n") if line.startswith("data: {")]
    assert [c["object"] for c in chunks] == ["chat.completion.chunk"] * 3
    assert [{k: v for k, v in c.items() if k != "object"} for c in chunks] == OLD_CHUNKS
    assert raw.rstrip().endswith("data: [DONE]")


@pytest.mark.parametrize("cut", [1, 5, 40, 1000])
def test_chunk_objects_relays_tagged_chunks_bytes_unchanged(cut: int) -> None:
    live = b'data: {"id":"a","object":"chat.completion.chunk","choices":[]}\n\ndata: [DONE]\n\n'
    tagger = ChunkObjects()
    out = b"".join(tagger.feed(live[i : i + cut]) for i in range(0, len(live), cut)) + tagger.flush()
    assert out == live
    old = b': keepalive\n\ndata: {"id":"a","choices":[]}\n\ndata: {"error":{"code":"1234"}}\n\ndata: [DONE]\n\n'
    tagger = ChunkObjects()
    out = b"".join(tagger.feed(old[i : i + cut]) for i in range(0, len(old), cut)) + tagger.flush()
    assert out == old.replace(b'{"id":"a"', b'{"object":"chat.completion.chunk","id":"a"')


@pytest.mark.parametrize("mode", ["translate", "passthrough"])
def test_prompt_caching_reaches_anthropic_clients_through_the_gateway(tmp_path: Path, mode: str) -> None:
    """The emulator reports cached tokens for a repeated prefix as the live API does, so the gateway's usage mapping
    is exercised: the second identical request shows cache_read_input_tokens, as integers, in both modes."""
    import anthropic

    from glmkit.emulator import EmulatorConfig
    from glmkit.emulator import create_app as emulator_app

    settings = resolve_settings(api_key=TEST_KEY, base_url="http://emulator.invalid/api/coding/paas/v4", environ={})
    config = GatewayConfig(ledger_path=str(tmp_path / "l.db"), mode=mode)
    app = create_app(config, settings, transport=AsyncEmulatorTransport(emulator_app(EmulatorConfig())))
    body: dict[str, Any] = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 400,
        "system": [{"type": "text", "text": "You review Python code."}],
        "messages": [{"role": "user", "content": "Review the retry loop"}],
    }
    with ThreadServer(app) as server:
        client = anthropic.Anthropic(api_key="x", base_url=server.url, max_retries=0)
        first = client.messages.create(**body)
        with client.messages.stream(**body) as stream:
            second = stream.get_final_message()
    assert not first.usage.cache_read_input_tokens
    cached = second.usage.cache_read_input_tokens
    assert isinstance(cached, int) and cached > 0
    assert isinstance(second.usage.input_tokens, int)
