"""The official `anthropic` package against `glm serve` (a real process) backed by `glm emulate`, in both modes."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from tests.gateway.conftest import Serve

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

WEATHER = {
    "name": "get_weather",
    "description": "Current weather of a city.",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode()


def client(serve: Serve, **kw: object):  # type: ignore[no-untyped-def]
    import anthropic

    return anthropic.Anthropic(api_key="any-key", base_url=serve.url, max_retries=0, **kw)  # type: ignore[arg-type]


def test_plain_message(serve: Serve) -> None:
    msg = client(serve).messages.create(
        model="claude-sonnet-4-5-20250929[1m]", max_tokens=300, messages=[{"role": "user", "content": "hello gateway"}]
    )
    assert msg.model == "glm-5.3"
    assert msg.stop_reason == "end_turn"
    texts = [b.text for b in msg.content if b.type == "text"]
    assert len(texts) == 1 and "hello gateway" in texts[0]
    assert isinstance(msg.usage.input_tokens, int) and msg.usage.input_tokens > 0
    assert isinstance(msg.usage.output_tokens, int) and msg.usage.output_tokens > 0


def test_streaming_matches_plain_and_reports_input_tokens(serve: Serve) -> None:
    c = client(serve)
    kwargs = {"model": "claude-haiku-4-5", "max_tokens": 300, "messages": [{"role": "user", "content": "stream me"}]}
    plain = c.messages.create(**kwargs)  # type: ignore[arg-type]
    events = []
    with c.messages.stream(**kwargs) as stream:  # type: ignore[arg-type]
        for event in stream:
            events.append(event.type)
            if event.type == "message_start":
                start_usage = event.message.usage
        final = stream.get_final_message()
    assert events[0] == "message_start" and events[-1] == "message_stop"
    assert "content_block_delta" in events and "message_delta" in events
    assert start_usage.input_tokens > 0  # Z.AI's own endpoint says 0 here; the gateway estimates
    assert [b.model_dump() for b in final.content if b.type == "text"] == [
        b.model_dump() for b in plain.content if b.type == "text"
    ]
    assert final.stop_reason == plain.stop_reason == "end_turn"
    assert final.model == "glm-5.3-flash"


@pytest.mark.parametrize("stream", [False, True])
def test_tool_use_round_trip(serve: Serve, stream: bool) -> None:
    c = client(serve)
    messages: list[dict[str, object]] = [{"role": "user", "content": "weather in Paris?"}]
    if stream:
        with c.messages.stream(model="claude-opus-4-1", max_tokens=500, tools=[WEATHER], messages=messages) as s:  # type: ignore[arg-type]
            first = s.get_final_message()
    else:
        first = c.messages.create(model="claude-opus-4-1", max_tokens=500, tools=[WEATHER], messages=messages)  # type: ignore[arg-type]
    assert first.stop_reason == "tool_use"
    assert all(not (b.type == "text" and not b.text) for b in first.content)  # no empty text blocks
    uses = [b for b in first.content if b.type == "tool_use"]
    assert uses and uses[0].name == "get_weather" and isinstance(uses[0].input, dict) and "city" in uses[0].input
    messages.append({"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]})
    messages.append(
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": uses[0].id, "content": "sunny, 21C"}]}
    )
    second = c.messages.create(model="claude-opus-4-1", max_tokens=500, tools=[WEATHER], messages=messages)  # type: ignore[arg-type]
    assert second.stop_reason == "end_turn"
    assert "sunny, 21C" in second.content[-1].text  # type: ignore[union-attr]


def test_thinking_both_ways(serve: Serve) -> None:
    c = client(serve)
    msg = c.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=2000,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[{"role": "user", "content": "think first"}],
    )
    kinds = [b.type for b in msg.content]
    assert kinds[0] == "thinking" and "text" in kinds
    thinking = msg.content[0]
    assert "think first" in thinking.thinking  # type: ignore[union-attr]
    if serve.mode == "passthrough":
        assert thinking.signature  # type: ignore[union-attr]  # Z.AI's signature passed through
    with c.messages.stream(
        model="claude-sonnet-4-5",
        max_tokens=2000,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[{"role": "user", "content": "think first"}],
    ) as s:
        streamed = s.get_final_message()
    assert streamed.content[0].model_dump() == thinking.model_dump()
    # the thinking block goes back in the next turn
    follow = c.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=2000,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[
            {"role": "user", "content": "think first"},
            {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in msg.content]},
            {"role": "user", "content": "and again"},
        ],
    )
    assert "and again" in follow.content[-1].text  # type: ignore[union-attr]


def test_image_goes_to_the_vision_model(serve: Serve) -> None:
    msg = client(serve).messages.create(
        model="claude-sonnet-4-5",  # maps to text-only glm-5.3: the gateway routes to the vision model
        max_tokens=500,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                    {"type": "text", "text": "what is on this screenshot?"},
                ],
            }
        ],
    )
    assert msg.model == "glm-4.6v"
    assert "1 image" in msg.content[-1].text  # type: ignore[union-attr]


def test_count_tokens_matches_message_start(serve: Serve) -> None:
    c = client(serve)
    kwargs = {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "count these words please"}]}
    counted = c.messages.count_tokens(**kwargs)  # type: ignore[arg-type]
    assert counted.input_tokens > 0
    with c.messages.stream(max_tokens=50, **kwargs) as s:  # type: ignore[arg-type]
        start = next(e for e in s if e.type == "message_start")
    assert start.message.usage.input_tokens == counted.input_tokens


def test_upstream_429_retried_then_quota_429_reported(serve: Serve) -> None:
    import anthropic

    c = client(serve)
    serve.arm(kind="status", code="1303", retry_after=0, times=1)
    ok = c.messages.create(model="claude-sonnet-4-5", max_tokens=100, messages=[{"role": "user", "content": "again"}])
    assert ok.stop_reason == "end_turn"
    serve.arm(kind="status", code="1308", message="Usage limit reached, resets at 2026-11-25 20:00:00", times=1)
    with pytest.raises(anthropic.RateLimitError) as info:
        c.messages.create(model="claude-sonnet-4-5", max_tokens=100, messages=[{"role": "user", "content": "again"}])
    body = info.value.body
    assert isinstance(body, dict) and body["error"]["type"] == "rate_limit_error"
    assert body["error"]["code"] == "1308" and "resets at" in body["error"]["message"]


def test_upstream_500_retried_then_reported(serve: Serve) -> None:
    import anthropic

    c = client(serve)
    serve.arm(kind="status", status=500, retry_after=0, times=1)
    ok = c.messages.create(model="claude-sonnet-4-5", max_tokens=100, messages=[{"role": "user", "content": "once"}])
    assert ok.content
    serve.arm(kind="status", status=500, retry_after=0, times=3)  # GLM_MAX_RETRIES=2: three failures exhaust it
    with pytest.raises(anthropic.InternalServerError) as info:
        c.messages.create(model="claude-sonnet-4-5", max_tokens=100, messages=[{"role": "user", "content": "twice"}])
    assert info.value.status_code == 500
    assert info.value.body["error"]["type"] == "api_error"  # type: ignore[index]
    serve.disarm()


def test_stream_cut_by_upstream_becomes_error_event(serve: Serve) -> None:
    import anthropic

    serve.arm(kind="cut", after=6, times=1)
    got: list[str] = []
    with (
        pytest.raises(anthropic.APIStatusError) as info,
        client(serve).messages.stream(
            model="glm-4.6",  # a hybrid model: thinking off, so the first chunks are text
            max_tokens=500,
            messages=[{"role": "user", "content": "a long answer please"}],
        ) as s,
    ):
        got.extend(s.text_stream)
    assert got, "text before the cut reached the client"
    assert "ended before the answer was complete" in str(info.value)


def test_models_list_shows_mapped_models(serve: Serve) -> None:
    ids = [m.id for m in client(serve).models.list()]
    assert {
        "claude-opus-5-5",
        "claude-sonnet-5-5",
        "claude-haiku-5-5",
        "claude-glm-5.3",
        "claude-glm-5.3-flash",
    } <= set(ids)  # ids Claude Code's gateway model discovery keeps (it drops any not matching /claude|anthropic/i)


def test_ledger_has_one_row_per_request(serve: Serve) -> None:
    import time

    from glmkit.ledger import Ledger

    c = client(serve, default_headers={"x-glmkit-client": f"ledger-{serve.mode}"})
    for _ in range(3):
        c.messages.create(model="claude-sonnet-4-5", max_tokens=50, messages=[{"role": "user", "content": "x"}])
    for _ in range(100):
        rows = [
            r
            for r in Ledger(serve.home / "glmkit.db").requests(source="gateway")
            if r["client"] == f"ledger-{serve.mode}"
        ]
        if len(rows) >= 3:
            break
        time.sleep(0.05)
    assert len(rows) == 3
    last = rows[-1]
    assert last["route"] == "/v1/messages" and last["model_used"] == "glm-5.3" and last["status"] == 200
    assert last["tool"] == "anthropic"  # the official SDK's User-Agent: "Anthropic/Python ..."
    assert last["model_requested"] == "claude-sonnet-4-5" and last["output_tokens"] > 0
    assert last["latency_ms"] > 0 and last["queue_depth"] == 0


def test_bad_request_is_an_anthropic_400(serve: Serve) -> None:
    r = httpx.post(f"{serve.url}/v1/messages", json={"model": "claude-sonnet-4-5", "messages": []}, timeout=10)
    assert r.status_code == 400
    body = r.json()
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    assert "max_tokens" in body["error"]["message"]
    assert json.dumps(body).find("0123456789abcdef") < 0  # the upstream key never appears


def test_a_forwarded_for_header_does_not_change_who_the_client_is(serve: Serve) -> None:
    """Every client of a local gateway comes from 127.0.0.1: an ``X-Forwarded-For`` it sends is not believed (it
    would let any client pass for another in the queue's fair shares and in the ledger)."""
    from glmkit.ledger import Ledger

    c = client(serve, default_headers={"x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https"})
    c.messages.create(model="claude-sonnet-4-5", max_tokens=20, messages=[{"role": "user", "content": "who am I"}])
    # the row is written before the answer's last bytes leave, and this module's tests run one after the other
    last = Ledger(serve.home / "glmkit.db").requests(source="gateway")[-1]
    assert last["route"] == "/v1/messages" and last["model_requested"] == "claude-sonnet-4-5"
    assert last["client"] == "127.0.0.1"
