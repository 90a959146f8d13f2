"""Stalls (issue 19): long tool arguments reach the client as they are written, and every silence gets keep-alive
pings, through `glm serve` in front of a `glm emulate --chunk-delay` that goes quiet between chunks, over http and
https (real processes, official `anthropic` and `openai` clients)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from glmkit.testing import TEST_KEY
from tests.gateway.conftest import SCHEMES, Serve, emulator_process, serve_process

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

WRITE = {
    "name": "write_file",
    "description": "Write a whole file.",
    "input_schema": {
        "type": "object",
        "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
        "required": ["path", "content"],
    },
}
PROMPT = "[emulator:tools=write_file] [emulator:long-args=2000] write the module"


@pytest.fixture(scope="module", params=SCHEMES)
def slow(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    """An emulator that waits 0.5 s between chunks (over http and https), behind a gateway that pings after 0.2 s of
    silence."""
    with emulator_process(tmp_path_factory.mktemp("slow-emu"), request.param, "--chunk-delay", "0.5") as emulator:
        home = tmp_path_factory.mktemp("slow-serve")
        (home / "config.toml").write_text("[gateway]\nping_interval = 0.2\n", encoding="utf-8")
        with serve_process(emulator, home, "translate") as serve:
            yield serve


def sse(raw: str) -> list[tuple[str, str]]:
    """(event or ':' for a comment, data) of each SSE event, in order."""
    out = []
    for block in raw.split("\n\n"):
        lines = [line for line in block.split("\n") if line]
        if not lines:
            continue
        if lines[0].startswith(":"):
            out.append((":", lines[0]))
            continue
        event = next((line[7:] for line in lines if line.startswith("event: ")), "")
        data = next((line[6:] for line in lines if line.startswith("data: ")), "")
        out.append((event, data))
    return out


def test_a_long_tool_argument_streams_as_input_json_delta_with_pings_between(slow: Serve) -> None:
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 4000,
        "stream": True,
        "thinking": {"type": "disabled"},
        "tools": [WRITE],
        "messages": [{"role": "user", "content": PROMPT}],
    }
    with httpx.stream("POST", f"{slow.url}/v1/messages", json=body, timeout=60) as response:
        events = sse(response.read().decode())
    names = [e for e, _ in events]
    deltas = [json.loads(d)["delta"] for e, d in events if e == "content_block_delta"]
    fragments = [d["partial_json"] for d in deltas if d["type"] == "input_json_delta"]
    assert len(fragments) >= 8  # the argument arrives as GLM writes it (tool_stream asked for), not in one piece
    assert len(json.loads("".join(fragments))["content"]) == 2000
    first, last = names.index("content_block_start"), names.index("content_block_stop")
    assert "ping" in names[first:last]  # the silences between fragments carry pings
    assert names[-1] == "message_stop"

    import anthropic

    client = anthropic.Anthropic(api_key=TEST_KEY, base_url=slow.url, max_retries=0)
    with client.messages.stream(**{k: v for k, v in body.items() if k != "stream"}) as stream:  # type: ignore[arg-type]
        final = stream.get_final_message()
    call = next(b for b in final.content if b.type == "tool_use")
    assert final.stop_reason == "tool_use" and len(call.input["content"]) == 2000  # type: ignore[index]


def openai_body(**extra: Any) -> dict[str, Any]:
    tool = {
        "type": "function",
        "function": {"name": WRITE["name"], "description": WRITE["description"], "parameters": WRITE["input_schema"]},
    }
    return {
        "model": "glm-4.6",
        "stream": True,
        "thinking": {"type": "disabled"},
        "tools": [tool],
        "messages": [{"role": "user", "content": PROMPT}],
        **extra,
    }


def test_the_openai_route_asks_for_tool_stream(slow: Serve) -> None:
    import openai

    client = openai.OpenAI(base_url=f"{slow.url}/v1", api_key=TEST_KEY, max_retries=0)
    body = openai_body()
    thinking = body.pop("thinking")
    chunks = list(client.chat.completions.create(**body, extra_body={"thinking": thinking}))  # type: ignore[call-overload]
    pieces = [
        call.function.arguments
        for c in chunks
        for call in (c.choices[0].delta.tool_calls or [] if c.choices else [])
        if call.function and call.function.arguments
    ]
    assert len(pieces) >= 8 and len(json.loads("".join(pieces))["content"]) == 2000


def test_a_silent_upstream_gets_keep_alive_comments_on_the_openai_route(slow: Serve) -> None:
    # the client turns tool_stream off: GLM then writes the whole argument before sending a byte
    body = openai_body(tool_stream=False)
    with httpx.stream("POST", f"{slow.url}/v1/chat/completions", json=body, timeout=60) as response:
        events = sse(response.read().decode())
    calls = [i for i, (e, d) in enumerate(events) if e == "" and '"tool_calls":[' in d]
    assert len(calls) == 1  # one piece, after the silence
    assert (":", ": keep-alive") in events[: calls[0]]
    assert events[-1] == ("", "[DONE]")


def test_a_stream_sent_back_by_a_1302_starts_and_pings_while_it_waits(slow: Serve) -> None:
    def chat_posts() -> int:
        log = httpx.get(f"{slow.emulator}/_emulator/requests", timeout=5).json()["requests"]
        return sum(1 for r in log if r["path"].endswith("/chat/completions"))

    before = chat_posts()
    slow.arm(kind="slow", delay=1.0, path="/chat/completions", skip=1, times=1)  # the second go thinks for 1 s
    slow.arm(code="1302", path="/chat/completions", times=1)
    try:
        body = {
            "model": "claude-haiku-4-5",
            "max_tokens": 200,
            "stream": True,
            "thinking": {"type": "disabled"},
            "messages": [{"role": "user", "content": "hi"}],
        }
        with httpx.stream("POST", f"{slow.url}/v1/messages", json=body, timeout=60) as response:
            assert response.status_code == 200
            names = [e for e, _ in sse(response.read().decode())]
    finally:
        slow.disarm()
    assert chat_posts() == before + 2  # refused once with 1302, then sent again
    assert names[0] == "message_start" and names.count("message_start") == 1
    assert "ping" in names[: names.index("content_block_start")]
    assert names[-1] == "message_stop"
