"""``ChatChunks``: a stream's plain text deltas read from their tail must mean exactly what ``json.loads`` says."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glmkit._chat_chunks import ChatChunks

HEAD = (
    '{"id":"2026120312","created":1764082800,"object":"chat.completion.chunk","model":"glm-4.7","choices":[{"index":0,'
)


def chunk(delta: dict[str, Any], head: str = HEAD, tail: str = "") -> bytes:
    return (
        head + '"delta":' + json.dumps(delta, ensure_ascii=False, separators=(",", ":")) + "}]" + tail + "}"
    ).encode()


def meaning(value: Any) -> Any:
    """What the translators read of a chunk: error, usage, each choice's non-empty delta fields, finish reasons."""
    if type(value) is tuple:
        return (None, None, [{value[0]: value[1]} if value[1] else {}], None)
    choices = value.get("choices") or []
    return (
        value.get("error"),
        value.get("usage") or None,
        [{k: v for k, v in (c.get("delta") or {}).items() if k != "role" and v} for c in choices],
        [c.get("finish_reason") for c in choices if c.get("finish_reason")] or None,
    )


def test_plain_deltas_after_the_first_are_read_from_their_tail() -> None:
    reader = ChatChunks()
    first = reader.read(chunk({"role": "assistant", "content": "Hel"}))
    assert first == json.loads(chunk({"role": "assistant", "content": "Hel"}))
    assert reader.read(chunk({"role": "assistant", "content": 'lo, "wörld"\n\\ \u2028'})) == (
        "content",
        'lo, "wörld"\n\\ \u2028',
    )
    assert reader.read(chunk({"reasoning_content": "think"})) == ("reasoning_content", "think")


@pytest.mark.parametrize(
    "data",
    [
        chunk({"content": "x"}, tail=',"usage":{"prompt_tokens":1}'),  # usage after the choices
        chunk({"content": ""}, head=HEAD.replace('"index":0,', '"index":0,"finish_reason":"stop",')),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}),
        chunk({"content": "x", "reasoning_content": "y"}),
        chunk({"content": "x"}, head=HEAD.replace("2026120312", "other")),  # another prefix
        chunk({"content": "x"}, head=HEAD.replace('"choices":[{', '"choices":[{"index":1,"delta":{}},{')),
        b'{"error":{"code":"1234","message":"boom"}}',
    ],
)
def test_anything_else_is_parsed_whole(data: bytes) -> None:
    reader = ChatChunks()
    reader.read(chunk({"content": "learn the prefix"}))
    assert reader.read(data) == json.loads(data)


@pytest.mark.parametrize(
    "tail",
    [
        b'{"content":"a\x01b"}}]}',  # a raw control character: not JSON
        b'{"content":"\\q"}}]}',  # an escape JSON does not have
        b'{"content":"\xff"}}]}',  # not UTF-8
        b'{"content":"a"}}]}}',  # trailing data
        b'{"content":"a"',  # cut short
    ],
)
def test_broken_chunks_fail_as_json_loads_does(tail: bytes) -> None:
    reader = ChatChunks()
    good = chunk({"content": "x"})
    reader.read(good)
    data = good[: good.rindex(b'"delta":') + 8] + tail
    with pytest.raises(ValueError) as ours:
        reader.read(data)
    with pytest.raises(ValueError) as theirs:
        json.loads(data)
    assert type(ours.value) is type(theirs.value)


deltas = st.one_of(
    st.builds(lambda t: {"content": t}, st.text()),
    st.builds(lambda t: {"role": "assistant", "content": t}, st.text()),
    st.builds(lambda t: {"reasoning_content": t}, st.text()),
    st.builds(lambda t: {"content": t, "reasoning_content": t}, st.text(max_size=3)),
    st.just({"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "f", "arguments": '{"a":1}'}}]}),
    st.just({}),
)
variants = st.tuples(
    deltas,
    st.sampled_from(
        [
            (HEAD, ""),
            (HEAD.replace("2026120312", "2026120313"), ""),
            (HEAD, ',"usage":{"prompt_tokens":3,"completion_tokens":1}'),
            (HEAD.replace('"index":0,', '"index":0,"finish_reason":"length",'), ""),
            (HEAD.replace('"index":0,', '"index":0,"finish_reason":null,'), ""),
            (HEAD.replace('"choices"', '"usage":{"prompt_tokens":3},"choices"'), ""),  # usage before the delta
        ]
    ),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(variants, min_size=1, max_size=12))
def test_every_chunk_of_any_stream_means_what_json_loads_says(stream: list[Any]) -> None:
    reader = ChatChunks()
    for delta, (head, tail), ascii_only in stream:
        data = (
            head + '"delta":' + json.dumps(delta, ensure_ascii=ascii_only, separators=(",", ":")) + "}]" + tail + "}"
        ).encode()
        assert meaning(reader.read(data)) == meaning(json.loads(data))
