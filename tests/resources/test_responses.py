"""``client.responses``: create, stream, tool round trips and local checks, sync and async, against the emulator."""

from __future__ import annotations

import json
from typing import Any

import pytest

from glmkit import AsyncClient, Client
from glmkit._errors import APIConnectionError, ContentFilterError, InputError, StreamError

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def test_create_gives_text_reasoning_and_usage(client: Client) -> None:
    r = client.responses.create(model="glm-5.3", input="name a colour", instructions="One word.")
    assert r.status == "completed" and "name a colour" in r.output_text
    assert r.reasoning and r.usage is not None and r.usage.output_tokens_details is not None
    assert r.usage.output_tokens_details.reasoning_tokens > 0


def test_stream_text_and_final_response_match_create(client: Client) -> None:
    plain = client.responses.create(model="glm-5.3", input="count sheep")
    with client.responses.stream(model="glm-5.3", input="count sheep") as s:
        text = "".join(s.text_stream)
        final = s.get_final_response()
    assert text == final.output_text == plain.output_text
    events = list(client.responses.create(model="glm-5.3", input="count sheep", stream=True))
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    assert events[-1].response is not None and events[-1].response.output_text == plain.output_text


def test_function_call_round_trip(client: Client) -> None:
    prompt = "weather in Rome [emulator:tools=get_weather]"
    first = client.responses.create(model="glm-5.3", input=prompt, tools=[WEATHER])  # type: ignore[list-item]
    (call,) = first.tool_calls
    assert call.name == "get_weather" and "city" in json.loads(call.arguments or "")
    history: list[Any] = [{"role": "user", "content": prompt}, *(i.to_dict() for i in first.output)]
    history.append({"type": "function_call_output", "call_id": call.call_id, "output": "hot, 31C"})
    second = client.responses.create(model="glm-5.3", input=history, tools=[WEATHER])  # type: ignore[list-item]
    assert "hot, 31C" in second.output_text and not second.tool_calls


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"max_output_tokens": 10**7}, "max_output_tokens"),
        ({"reasoning": {"effort": "extreme"}}, "reasoning.effort"),
        ({"temperature": 3}, "temperature"),
        ({"tools": [{"type": "function", "name": "bad name!"}]}, "Tool name"),
        ({"input": ""}, "input is required"),
        ({"model": "glm-ocr"}, "not a chat model"),
        (
            {"model": "glm-4.7", "input": [{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}]},
            "reads text only",
        ),
    ],
)
def test_refused_before_sending(client: Client, params: dict[str, Any], words: str) -> None:
    with pytest.raises(InputError, match=words):
        client.responses.create(**{"model": "glm-5.3", "input": "x", **params})


def test_cut_and_failed_streams_raise(client: Client) -> None:
    cut = {"X-Emulator-Fault": "kind=cut,after=5"}
    with (
        pytest.raises(APIConnectionError) as info,
        client.responses.stream(model="glm-5.3", input="x", extra_headers=cut) as s,
    ):
        s.get_final_response()
    assert info.value.partial is not None  # type: ignore[attr-defined]
    filtered = {"X-Emulator-Fault": "kind=finish,reason=sensitive"}
    with (
        pytest.raises(ContentFilterError),
        client.responses.stream(model="glm-5.3", input="x", extra_headers=filtered) as s,
    ):
        list(s.text_stream)
    failing = {"X-Emulator-Fault": "kind=stream_error,after=5,code=1234"}
    with pytest.raises(StreamError), client.responses.stream(model="glm-5.3", input="x", extra_headers=failing) as s:
        list(s.text_stream)


@pytest.mark.anyio
async def test_async_twin(aclient: AsyncClient) -> None:
    plain = await aclient.responses.create(model="glm-5.3", input="async hello")
    async with aclient.responses.stream(model="glm-5.3", input="async hello") as s:
        text = "".join([t async for t in s.text_stream])
        final = await s.get_final_response()
    assert text == final.output_text == plain.output_text
    stream = await aclient.responses.create(model="glm-5.3", input="async hello", stream=True)
    kinds = [e.type async for e in stream]
    assert kinds[-1] == "response.completed"
