"""Property tests of the pure translators: any valid Anthropic request -> a valid GLM request; any GLM answer ->
a valid Anthropic message; a streamed answer reassembles to the same message as the whole one."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from glmkit._sse import SSEDecoder
from glmkit.emulator.chat import validate as emulator_validate
from glmkit.gateway.anthropic import Plan, message_id, to_chat, to_message
from glmkit.gateway.anthropic_stream import StreamTranslator
from glmkit.gateway.config import GatewayConfig
from glmkit.gateway.preflight import PreflightError, preflight
from glmkit.types.anthropic import Message, MessageCreateParams
from glmkit.types.chat import ChatCompletionParams

CONFIG = GatewayConfig(ledger=False)
REQUEST = TypeAdapter(MessageCreateParams)
GLM_REQUEST = TypeAdapter(ChatCompletionParams)
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

text = st.text(min_size=1, max_size=24)
name = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_-]{0,15}", fullmatch=True)
ids = st.from_regex(r"toolu_[a-z0-9]{4,10}", fullmatch=True)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
image = st.builds(
    lambda b64, url: {"type": "image", "source": b64} if url is None else {"type": "image", "source": url},
    st.just({"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}),
    st.none() | st.just({"type": "url", "url": "https://example.com/a.png"}),
)
text_block = st.builds(lambda t: {"type": "text", "text": t}, text)
tool_result = st.builds(
    lambda i, c, e: {"type": "tool_result", "tool_use_id": i, "content": c, "is_error": e},
    ids,
    text | st.lists(text_block | image, min_size=1, max_size=2),
    st.booleans(),
)
user_blocks = st.lists(text_block | image | tool_result, min_size=1, max_size=4)
assistant_blocks = st.lists(
    text_block
    | st.builds(lambda t, s: {"type": "thinking", "thinking": t, "signature": s}, text, st.text(max_size=8))
    | st.builds(
        lambda i, n, inp: {"type": "tool_use", "id": i, "name": n, "input": inp},
        ids,
        name,
        st.dictionaries(st.text(max_size=5), json_value, max_size=3),
    ),
    min_size=1,
    max_size=3,
)
tool = st.builds(
    lambda n, d, props: {
        "name": n,
        "description": d,
        "input_schema": {"type": "object", "properties": {p: {"type": "string"} for p in props}},
    },
    name,
    st.text(max_size=20),
    st.lists(name, max_size=3),
)
models = st.sampled_from(
    [
        "claude-opus-4-1",
        "claude-sonnet-4-5[1m]",
        "claude-3-5-haiku-20241022",
        "glm-4.6",
        "glm-5.2",
        "glm-4.5-air",
        "glm-4.6v",
        "mystery-model",
    ]
)


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    turns = draw(st.integers(0, 2))
    messages: list[dict[str, Any]] = []
    for _ in range(turns):
        messages.append({"role": "user", "content": draw(text | user_blocks)})
        messages.append({"role": "assistant", "content": draw(text | assistant_blocks)})
    messages.append({"role": "user", "content": draw(text | user_blocks)})
    body: dict[str, Any] = {"model": draw(models), "max_tokens": draw(st.integers(1, 200_000)), "messages": messages}
    optional = {
        "system": st.none() | text | st.lists(text_block, min_size=1, max_size=2),
        "stream": st.none() | st.booleans(),
        "temperature": st.none() | st.floats(0, 1),
        "top_p": st.none() | st.floats(0, 1),
        "stop_sequences": st.none() | st.lists(text, max_size=3),
        "tools": st.none() | st.lists(tool, max_size=3),
        "tool_choice": st.none() | st.sampled_from([{"type": "auto"}, {"type": "any"}, {"type": "none"}]),
        "thinking": st.none()
        | st.sampled_from([{"type": "enabled", "budget_tokens": 2048}, {"type": "disabled"}, {"type": "adaptive"}]),
        "metadata": st.none() | st.builds(lambda u: {"user_id": u}, st.text(min_size=0, max_size=200)),
    }
    for key, strategy in optional.items():
        value = draw(strategy)
        if value is not None:
            body[key] = value
    return body


@SETTINGS
@given(requests())
def test_any_valid_anthropic_request_translates_to_a_valid_glm_request(body: dict[str, Any]) -> None:
    REQUEST.validate_python(body)  # the generator only makes valid requests
    glm, plan = to_chat(body, CONFIG)
    assert len(plan.labels) == len(glm["messages"])
    try:  # the gateway's pre-flight repairs what Z.AI refuses (tool results without their calls ...) or refuses
        preflight(glm, labels=plan.labels, vision_model=CONFIG.vision_model, surface="general")
    except PreflightError as exc:
        assert str(exc).startswith(("messages", "system")) and exc.code in ("1210", "1213", "1214")
        return
    plan.model = glm["model"]
    GLM_REQUEST.validate_python(glm)
    assert emulator_validate(glm, "general") is None, emulator_validate(glm, "general").body  # type: ignore[union-attr]
    assert "[1m]" not in glm["model"] and glm["model"] == plan.model
    assert plan.input_tokens > 0
    roles = [m["role"] for m in glm["messages"]]
    assert "user" in roles or "tool" in roles
    for m in glm["messages"]:
        for call in m.get("tool_calls") or []:
            json.loads(call["function"]["arguments"])  # arguments are JSON strings


finish = st.sampled_from(["stop", "length", "tool_calls", "sensitive", "model_context_window_exceeded"])
tool_call = st.builds(
    lambda i, n, a: {"id": i, "type": "function", "function": {"name": n, "arguments": json.dumps(a)}},
    st.from_regex(r"call_[0-9]{3,8}", fullmatch=True),
    name,
    st.dictionaries(st.text(max_size=5), json_value, max_size=3),
)


@st.composite
def completions(draw: st.DrawFn) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": draw(st.text(max_size=60))}
    if draw(st.booleans()):
        message["reasoning_content"] = draw(st.text(min_size=1, max_size=40))
    calls = draw(st.lists(tool_call, max_size=2, unique_by=lambda c: c["id"]))
    if calls:
        message["tool_calls"] = calls
    num = st.integers(0, 5000) | st.floats(0, 5000, allow_nan=False).map(lambda f: round(f, 1))
    usage = {"prompt_tokens": draw(num), "completion_tokens": draw(num), "total_tokens": 0}
    return {
        "id": draw(st.from_regex(r"[0-9]{6,12}", fullmatch=True)),
        "model": "glm-5.3",
        "choices": [{"index": 0, "finish_reason": draw(finish), "message": message}],
        "usage": usage,
    }


def _plan(stops: list[str]) -> Plan:
    return Plan(model_requested="claude-sonnet-4-5", model="glm-5.3", stop_sequences=stops, input_tokens=7)


@SETTINGS
@given(completions(), st.lists(st.text(min_size=1, max_size=3), max_size=2))
def test_glm_answer_translates_to_a_valid_anthropic_message(completion: dict[str, Any], stops: list[str]) -> None:
    import anthropic.types

    message = to_message(completion, _plan(stops))
    Message.model_validate(message)
    anthropic.types.Message.model_validate(message)  # the official package reads it
    assert all(b["text"] for b in message["content"] if b["type"] == "text")
    assert all(isinstance(v, int) for v in message["usage"].values())


def _chunks(completion: dict[str, Any], rng: random.Random) -> list[bytes]:
    """The same answer as a GLM stream, split at random points (tool-call arguments in fragments)."""
    msg = completion["choices"][0]["message"]

    def pieces(s: str) -> list[str]:
        cuts = sorted(rng.sample(range(1, len(s)), min(len(s) - 1, rng.randint(0, 4)))) if len(s) > 1 else []
        return [s[a:b] for a, b in zip([0, *cuts], [*cuts, len(s)], strict=True)] if s else []

    deltas: list[dict[str, Any]] = [{"reasoning_content": p} for p in pieces(msg.get("reasoning_content") or "")]
    deltas += [{"content": p} for p in pieces(msg.get("content") or "")]
    for index, call in enumerate(msg.get("tool_calls") or []):
        first = {
            "index": index,
            "id": call["id"],
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""},
        }
        deltas.append({"tool_calls": [first]})
        deltas += [
            {"tool_calls": [{"index": index, "function": {"arguments": p}}]}
            for p in pieces(call["function"]["arguments"])
        ]
    frames = [
        {"id": completion["id"], "choices": [{"index": 0, "delta": {"role": "assistant", **d}, "finish_reason": None}]}
        for d in deltas
    ]
    frames.append(
        {
            "id": completion["id"],
            "choices": [{"index": 0, "delta": {}, "finish_reason": completion["choices"][0]["finish_reason"]}],
            "usage": completion["usage"],
        }
    )
    return [json.dumps(f).encode() for f in frames]


def reassemble(stream: bytes) -> dict[str, Any]:
    """Fold Anthropic events into the message they describe (checking the event order on the way)."""
    events = [(e.event, json.loads(e.data)) for e in SSEDecoder().feed(stream)]
    names = [n for n, _ in events]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    message = events[0][1]["message"]
    partial: dict[int, str] = {}
    open_index = None
    for name, data in events[1:]:
        if name == "content_block_start":
            assert open_index is None and data["index"] == len(message["content"])
            open_index = data["index"]
            message["content"].append(dict(data["content_block"]))
        elif name == "content_block_delta":
            assert data["index"] == open_index
            block, delta = message["content"][data["index"]], data["delta"]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            elif delta["type"] == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif delta["type"] == "input_json_delta":
                partial[data["index"]] = partial.get(data["index"], "") + delta["partial_json"]
        elif name == "content_block_stop":
            assert data["index"] == open_index
            if data["index"] in partial:
                message["content"][data["index"]]["input"] = json.loads(partial[data["index"]])
            open_index = None
        elif name == "message_delta":
            assert open_index is None
            message.update(data["delta"])
            message["usage"].update(data["usage"])
    return message


@SETTINGS
@given(completions(), st.lists(st.text(min_size=1, max_size=3), max_size=2), st.randoms(use_true_random=False))
def test_streamed_answer_reassembles_to_the_whole_answer(
    completion: dict[str, Any], stops: list[str], rng: random.Random
) -> None:
    plan = _plan(stops)
    whole = to_message(completion, plan)
    translator = StreamTranslator(plan, msg_id=message_id(completion["id"]))
    out = [translator.start()]
    for data in _chunks(completion, rng):
        if not translator.feed(data, out):
            break
    translator.finish(out)
    streamed = reassemble(b"".join(out))
    if whole["stop_reason"] == "stop_sequence":
        # the stream is cut at the match, before the upstream's usage arrives: the gateway estimates it then
        streamed.pop("usage"), whole.pop("usage")
    assert streamed == whole


def test_cached_prompt_tokens_are_not_counted_twice() -> None:
    # GLM's prompt_tokens includes the cached ones; Anthropic clients add input + cache_read for the context in use
    completion = {
        "id": "1",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 800}},
    }
    plan = _plan([])
    whole = to_message(completion, plan)
    assert whole["usage"] == {"input_tokens": 200, "output_tokens": 5, "cache_read_input_tokens": 800}
    translator = StreamTranslator(plan, msg_id=message_id("1"))
    out = [translator.start()]
    for data in _chunks(completion, random.Random(1)):
        translator.feed(data, out)
    translator.finish(out)
    assert reassemble(b"".join(out))["usage"] == whole["usage"]


def test_always_thinking_model_gets_low_effort_instead_of_disabled() -> None:
    glm, _ = to_chat(
        {
            "model": "glm-5.3",
            "max_tokens": 10,
            "messages": [{"role": "user", "content": "x"}],
            "thinking": {"type": "disabled"},
        },
        CONFIG,
    )
    assert "thinking" not in glm and glm["reasoning_effort"] == "low"
    glm, _ = to_chat({"model": "glm-4.6", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}, CONFIG)
    assert glm["thinking"] == {"type": "disabled"}
    glm, _ = to_chat(
        {
            "model": "glm-5.3",
            "max_tokens": 10,
            "messages": [{"role": "user", "content": "x"}],
            "output_config": {"effort": "medium"},
            "thinking": {"type": "adaptive"},
        },
        CONFIG,
    )
    assert glm["thinking"] == {"type": "enabled"} and glm["reasoning_effort"] == "high"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("claude-opus-4-1-20250805", "opus"),
        ("claude-sonnet-4-5[1m]", "sonnet"),
        ("claude-3-5-haiku-latest", "haiku"),
        ("GLM-4.7", None),
    ],
)
def test_model_mapping(name: str, expected: str | None, caplog: pytest.LogCaptureFixture) -> None:
    config = GatewayConfig(ledger=False)
    assert config.map_model(name) == (config.models[expected] if expected else "glm-4.7")
    assert config.map_model("gpt-9") == "glm-5.3"
    assert "unknown model 'gpt-9'" in caplog.text


def test_a_lean_reply_that_comes_compressed_is_refused_not_relayed() -> None:
    """The lean upstream asks for ``Accept-Encoding: identity``; a body compressed anyway is an upstream failure
    (the relays' mid-stream error), while an uncompressed one is relayed as it arrives."""
    import asyncio

    import httpx

    from glmkit._wire import Headers, Reply
    from glmkit.gateway.relay import body_of

    compressed: Any = Reply(200, Headers([(b"Content-Encoding", b"gzip")]))
    with pytest.raises(httpx.DecodingError, match="gzip"):
        body_of(compressed)

    async def relayed(response: httpx.Response) -> bytes:
        return b"".join([piece async for piece in body_of(response)])

    async def upstream() -> AsyncIterator[bytes]:
        yield b"data: {}\n\n"

    assert asyncio.run(relayed(httpx.Response(200, content=upstream()))) == b"data: {}\n\n"


def test_a_whole_message_is_mended_only_where_it_needs_it() -> None:
    """Passthrough: an upstream message with nothing to mend is the same object (its bytes are relayed as they
    came); float counts, a missing or zero input count and empty text blocks are mended (a new message)."""
    from glmkit.gateway.passthrough import fix_message

    plan = _plan([])
    clean = {
        "id": "msg_1",
        "type": "message",
        "content": [{"type": "thinking", "thinking": "t", "signature": ""}, {"type": "text", "text": "hi"}],
        "usage": {"input_tokens": 3, "output_tokens": 2, "server_tool_use": {"web_search_requests": 0}},
    }
    assert fix_message(clean, plan) is clean
    for broken, usage in [
        ({**clean, "usage": {"input_tokens": 3.0, "output_tokens": 2}}, {"input_tokens": 3, "output_tokens": 2}),
        ({**clean, "usage": {"input_tokens": 0, "output_tokens": 2}}, {"input_tokens": 7, "output_tokens": 2}),
        ({**clean, "usage": {"input_tokens": 3}}, {"input_tokens": 3, "output_tokens": 0}),
    ]:
        fixed = fix_message(broken, plan)
        assert fixed is not broken and fixed["usage"] == usage
        assert all(type(v) is int for v in fixed["usage"].values())
    empty = {**clean, "content": [{"type": "text", "text": ""}, {"type": "text", "text": "hi"}]}
    assert fix_message(empty, plan)["content"] == [{"type": "text", "text": "hi"}]
