"""Streams assembled from the bytes a server sends: chunks, the final message, errors and cut streams.

The peer is ``httpx.MockTransport`` answering with an event stream given as byte pieces (split anywhere, as a
network delivers them), optionally failing after the last piece. Every test runs with both clients.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

import glmkit
from glmkit._errors import APIConnectionError, ContentFilterError, StreamError

KEY = "a1b2c3d4e5f6a1b2.a1b2c3d4e5f6g7h8"
DONE = b"data: [DONE]\n\n"
USAGE = {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}


def chunk(finish: str | None = None, usage: dict[str, int] | None = None, index: int = 0, **delta: Any) -> bytes:
    body: dict[str, Any] = {
        "id": "chat-1",
        "created": 1,
        "model": "glm-5.3",
        "choices": [{"index": index, "delta": delta, "finish_reason": finish}],
    }
    if usage is not None:
        body["usage"] = usage
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def tool_delta(index: int, arguments: str, name: str | None = None, id: str | None = None) -> dict[str, Any]:
    delta: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if name is not None:
        delta.update(id=id, type="function")
        delta["function"]["name"] = name
    return delta


class Body(httpx.SyncByteStream, httpx.AsyncByteStream):
    """The response body: these byte pieces, then (optionally) a network failure; remembers being closed."""

    def __init__(self, pieces: list[bytes], fail: Exception | None = None) -> None:
        self.pieces = pieces
        self.fail = fail
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces
        if self.fail is not None:
            raise self.fail

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            yield piece
        if self.fail is not None:
            raise self.fail

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


def read(kind: str, body: Body, how: str = "chunks") -> tuple[list[Any], Any]:
    """Open a chat stream on ``body`` and read it ``how``: chunks then the final message, or text pieces."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=body, headers={"content-type": "text/event-stream"})

    options: dict[str, Any] = {"api_key": KEY, "base_url": "http://api.test/v4", "max_retries": 0}
    options["transport"] = httpx.MockTransport(handler)
    params: dict[str, Any] = {"model": "glm-5.3", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    if kind == "sync":
        with glmkit.Client(**options) as client:
            stream = client.chat.completions.create(**params)
            if how == "text":
                return list(stream.text_stream), None
            items = list(stream)
            return items, stream.get_final_completion()

    async def main() -> tuple[list[Any], Any]:
        async with glmkit.AsyncClient(**options) as client:
            stream = await client.chat.completions.create(**params)
            if how == "text":
                return [t async for t in stream.text_stream], None
            items = [c async for c in stream]
            return items, await stream.get_final_completion()

    return asyncio.run(main())


def split_every(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


TEXT = (
    chunk(role="assistant", content="Hel") + chunk(content="lo") + chunk(content=" there", finish="stop", usage=USAGE)
)


@pytest.mark.parametrize("size", [1, 7, 4096], ids=lambda n: f"pieces-of-{n}")
def test_the_final_message_is_assembled_from_the_chunks(kind: str, size: int) -> None:
    chunks, final = read(kind, Body(split_every(TEXT + DONE, size)))
    assert [c.choices[0].delta.content for c in chunks] == ["Hel", "lo", " there"]
    assert final.id == "chat-1"
    assert final.model == "glm-5.3"
    assert final.choices[0].message.role == "assistant"
    assert final.choices[0].message.content == "Hello there"
    assert final.choices[0].finish_reason == "stop"
    assert final.usage.total_tokens == 12


def test_text_stream_gives_the_text_pieces(kind: str) -> None:
    texts, _ = read(kind, Body([TEXT + DONE]), how="text")
    assert texts == ["Hel", "lo", " there"]


def test_reasoning_is_kept_apart_from_the_answer(kind: str) -> None:
    body = chunk(reasoning_content="think ") + chunk(reasoning_content="hard") + chunk(content="42", finish="stop")
    _, final = read(kind, Body([body, DONE]))
    assert final.choices[0].message.reasoning_content == "think hard"
    assert final.choices[0].message.content == "42"


def test_tool_call_deltas_are_joined_per_call(kind: str) -> None:
    body = (
        chunk(role="assistant", tool_calls=[tool_delta(0, '{"ci', name="weather", id="call-a")])
        + chunk(tool_calls=[tool_delta(0, 'ty": "Paris"}'), tool_delta(1, '{"q"', name="search", id="call-b")])
        + chunk(tool_calls=[tool_delta(1, ': "news"}')], finish="tool_calls", usage=USAGE)
    )
    _, final = read(kind, Body([body, DONE]))
    message = final.choices[0].message
    assert [(t.id, t.type, t.function.name, json.loads(t.function.arguments)) for t in message.tool_calls] == [
        ("call-a", "function", "weather", {"city": "Paris"}),
        ("call-b", "function", "search", {"q": "news"}),
    ]
    assert message.content is None
    assert final.choices[0].finish_reason == "tool_calls"


def test_choices_are_assembled_by_their_index(kind: str) -> None:
    body = chunk(content="a", index=1) + chunk(content="b", index=0) + chunk(content="c", index=1, finish="stop")
    _, final = read(kind, Body([body + chunk(content="d", finish="stop"), DONE]))
    assert [(c.index, c.message.content) for c in final.choices] == [(0, "bd"), (1, "ac")]


def test_nothing_after_done_is_read(kind: str) -> None:
    chunks, final = read(kind, Body([TEXT, DONE, chunk(content="late")]))
    assert len(chunks) == 3
    assert final.choices[0].message.content == "Hello there"


def test_the_connection_is_closed_once_the_stream_is_read(kind: str) -> None:
    body = Body([TEXT, DONE])
    read(kind, body)
    assert body.closed


@pytest.mark.parametrize(
    "frame",
    [
        b'data: {"error": {"code": "1234", "message": "network trouble"}}\n\n',
        b'event: error\ndata: {"code": "1234", "message": "network trouble"}\n\n',
    ],
    ids=["error-object", "error-event"],
)
def test_an_error_mid_stream_raises_with_what_arrived(kind: str, frame: bytes) -> None:
    body = Body([chunk(role="assistant", content="Hel") + chunk(content="lo"), frame, DONE])
    with pytest.raises(StreamError, match="network trouble") as caught:
        read(kind, body)
    assert caught.value.partial.choices[0].message.content == "Hello"
    assert body.closed


def test_a_stream_cut_before_its_end_is_not_taken_for_a_whole_answer(kind: str) -> None:
    body = Body([chunk(role="assistant", content="Hel") + chunk(content="lo")])  # no finish_reason, no [DONE]
    with pytest.raises(APIConnectionError, match="cut") as caught:
        read(kind, body)
    assert caught.value.partial.choices[0].message.content == "Hello"


def test_a_stream_cut_before_its_end_fails_text_stream_too(kind: str) -> None:
    with pytest.raises(APIConnectionError):
        read(kind, Body([chunk(role="assistant", content="Hel")]), how="text")


def test_a_finished_answer_without_done_is_accepted(kind: str) -> None:
    _, final = read(kind, Body([TEXT]))
    assert final.choices[0].message.content == "Hello there"


def test_a_network_failure_mid_stream_keeps_the_partial_answer(kind: str) -> None:
    body = Body([chunk(role="assistant", content="Hel"), chunk(content="lo")], fail=httpx.ReadError("reset"))
    with pytest.raises(APIConnectionError, match="broke") as caught:
        read(kind, body)
    assert caught.value.partial.choices[0].message.content == "Hello"
    assert body.closed


def test_a_content_filter_stop_raises_with_the_partial_answer(kind: str) -> None:
    body = chunk(role="assistant", content="Once upon") + chunk(finish="sensitive")
    with pytest.raises(ContentFilterError) as caught:
        read(kind, Body([body, DONE]))
    assert caught.value.code == "1301"
    assert caught.value.partial.choices[0].message.content == "Once upon"


def test_a_content_filter_stop_ends_text_stream_with_an_error(kind: str) -> None:
    with pytest.raises(ContentFilterError):
        read(kind, Body([chunk(content="Once upon") + chunk(finish="sensitive"), DONE]), how="text")


def test_a_network_error_finish_is_a_stream_error(kind: str) -> None:
    with pytest.raises(StreamError) as caught:
        read(kind, Body([chunk(content="Hel") + chunk(finish="network_error"), DONE]))
    assert caught.value.finish_reason == "network_error"
    assert caught.value.partial.choices[0].message.content == "Hel"
