"""The official `openai` package against `glm serve`'s OpenAI routes, and the gateway's security rules."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.gateway.conftest import Serve, base_env, serve_process

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]
TOKEN = "gw-token-for-tests"


@pytest.fixture(scope="module")
def gateway(emulate_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    with serve_process(emulate_url, tmp_path_factory.mktemp("oa-home"), "translate", "--token", TOKEN) as s:
        yield s
        s.disarm()


def oai(gateway: Serve, key: str = TOKEN):  # type: ignore[no-untyped-def]
    import openai

    return openai.OpenAI(api_key=key, base_url=f"{gateway.url}/v1", max_retries=0)


def test_plain_and_streaming_with_glm_extras(gateway: Serve) -> None:
    c = oai(gateway)
    reply = c.chat.completions.create(
        model="glm-4.6",
        messages=[{"role": "user", "content": "ping through"}],
        extra_body={"thinking": {"type": "enabled"}},
    )
    assert reply.object == "chat.completion"
    assert "ping through" in (reply.choices[0].message.content or "")
    assert reply.choices[0].message.model_extra.get("reasoning_content")  # GLM's extra field intact
    text, reasoning = "", ""
    for chunk in c.chat.completions.create(
        model="glm-4.6",
        messages=[{"role": "user", "content": "ping through"}],
        stream=True,
        extra_body={"thinking": {"type": "enabled"}},
    ):
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            reasoning += (chunk.choices[0].delta.model_extra or {}).get("reasoning_content") or ""
    assert text == reply.choices[0].message.content
    assert reasoning == reply.choices[0].message.model_extra["reasoning_content"]


def test_claude_names_are_mapped_on_the_openai_route(gateway: Serve) -> None:
    reply = oai(gateway).chat.completions.create(model="claude-haiku-4-5", messages=[{"role": "user", "content": "hi"}])
    assert reply.model == "glm-5.3-flash"


def test_models_list_is_the_upstream_list(gateway: Serve) -> None:
    ids = [m.id for m in oai(gateway).models.list()]
    assert "glm-5.3" in ids


def test_upstream_errors(gateway: Serve) -> None:
    import openai

    c = oai(gateway)
    gateway.arm(kind="status", code="1303", retry_after=0, times=1)
    assert c.chat.completions.create(model="glm-4.6", messages=[{"role": "user", "content": "a"}]).choices
    gateway.arm(kind="status", code="1310", times=1)
    with pytest.raises(openai.RateLimitError) as info:
        c.chat.completions.create(model="glm-4.6", messages=[{"role": "user", "content": "a"}])
    assert info.value.body["code"] == "1310"  # type: ignore[index]
    gateway.arm(kind="status", status=500, retry_after=0, times=3)
    with pytest.raises(openai.InternalServerError):
        c.chat.completions.create(model="glm-4.6", messages=[{"role": "user", "content": "a"}])
    gateway.disarm()


def test_stream_cut_is_seen_by_the_client(gateway: Serve) -> None:
    gateway.arm(kind="cut", after=3, times=1)
    r = httpx.post(
        f"{gateway.url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {TOKEN}"},
        json={"model": "glm-4.6", "messages": [{"role": "user", "content": "cut me"}], "stream": True},
        timeout=10,
    )
    assert r.status_code == 200
    assert r.text.count("data: ") == 4 and "[DONE]" not in r.text  # relayed as cut, never completed silently
    assert json.loads(r.text.rsplit("data: ", 1)[1])["error"]["code"] == "502"


def test_stream_cut_raises_in_the_openai_package(gateway: Serve) -> None:
    import openai

    gateway.arm(kind="cut", after=2, times=1)
    stream = oai(gateway).chat.completions.create(
        model="glm-4.6", messages=[{"role": "user", "content": "cut me"}], stream=True
    )
    with pytest.raises(openai.APIError, match="ended before the answer was complete"):
        for _ in stream:
            pass


def test_wrong_token_is_refused_and_key_never_leaks(gateway: Serve) -> None:
    import openai

    with pytest.raises(openai.AuthenticationError) as info:
        oai(gateway, key="wrong").chat.completions.create(model="glm-4.6", messages=[{"role": "user", "content": "a"}])
    assert "0123456789abcdef" not in str(info.value.body)
    r = httpx.post(f"{gateway.url}/v1/messages", json={}, timeout=5)
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"


def test_binding_beyond_loopback_needs_a_token(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    env["ZAI_API_KEY"] = "0123456789abcdef0123456789abcdef.glmkitEmulator01"
    proc = subprocess.run(
        [sys.executable, "-m", "glmkit.cli.app", "serve", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        env=env,
        timeout=30,
    )
    assert proc.returncode == 2
    assert b"--token" in proc.stderr
    assert env["ZAI_API_KEY"].encode() not in proc.stderr


def test_tool_call_round_trip_and_image(gateway: Serve) -> None:
    c = oai(gateway)
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather of a city.",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            },
        }
    ]
    messages: list[dict[str, object]] = [{"role": "user", "content": "weather in Oslo?"}]
    first = c.chat.completions.create(model="glm-4.6", messages=messages, tools=tools)  # type: ignore[arg-type]
    assert first.choices[0].finish_reason == "tool_calls"
    call = first.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "get_weather" and "city" in json.loads(call.function.arguments)
    messages.append(first.choices[0].message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "snow, -3C"})
    second = c.chat.completions.create(model="glm-4.6", messages=messages, tools=tools)  # type: ignore[arg-type]
    assert "snow, -3C" in (second.choices[0].message.content or "")
    seen = c.chat.completions.create(
        model="glm-4.6v",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "https://example.com/screen.png"}},
                    {"type": "text", "text": "what is this?"},
                ],
            }
        ],
    )
    assert "1 image" in (seen.choices[0].message.content or "")


def test_ledger_rows_are_flushed_on_shutdown(emulate_url: str, tmp_path: Path) -> None:
    from glmkit.ledger import Ledger

    with serve_process(emulate_url, tmp_path, "translate") as s:
        for i in range(5):
            r = httpx.post(
                f"{s.url}/v1/chat/completions",
                json={"model": "glm-4.6", "messages": [{"role": "user", "content": f"q{i}"}]},
                timeout=10,
            )
            assert r.status_code == 200
    # the process was terminated at once: the rows still batched in memory were written on the way out
    rows = Ledger(tmp_path / "glmkit.db").requests(source="gateway")
    assert len(rows) == 5 and all(r["route"] == "/v1/chat/completions" and r["status"] == 200 for r in rows)
