"""The emulator's Responses endpoint (``/api/v1/responses``), judged by the official ``openai`` package."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from responses_tools import TOOLS, WEATHER, first_round

from glmkit.testing import TEST_KEY, EmulatorServer

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(job_seconds=0.0) as server:
        yield server


def oai(server: EmulatorServer, key: str = TEST_KEY, **headers: str):  # type: ignore[no-untyped-def]
    import openai

    return openai.OpenAI(api_key=key, base_url=f"{server.url}/api/v1", max_retries=0, default_headers=headers)


def test_plain_answer_with_reasoning_and_usage(emu: EmulatorServer) -> None:
    r = oai(emu).responses.create(model="glm-5.3", input="hello there", instructions="Be brief.")
    assert r.object == "response" and r.status == "completed" and r.model == "glm-5.3"
    assert [i.type for i in r.output] == ["reasoning", "message"]
    assert "hello there" in r.output_text
    assert r.output[0].content and "hello there" in r.output[0].content[0].text  # type: ignore[union-attr]
    assert r.usage is not None and r.usage.output_tokens_details.reasoning_tokens > 0
    assert r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens


def test_stream_is_the_full_event_sequence_and_adds_up_to_the_plain_answer(emu: EmulatorServer) -> None:
    c = oai(emu)
    plain = c.responses.create(model="glm-5.3", input="tell me about rivers")
    events = list(c.responses.create(model="glm-5.3", input="tell me about rivers", stream=True))
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"] and kinds[-1] == "response.completed"
    for needed in (
        "response.output_item.added",
        "response.content_part.added",
        "response.reasoning_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
    ):
        assert needed in kinds
    assert [e.sequence_number for e in events] == list(range(len(events)))
    with c.responses.stream(model="glm-5.3", input="tell me about rivers") as stream:
        text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        final = stream.get_final_response()
    assert text == final.output_text == plain.output_text
    assert [i.type for i in final.output] == [i.type for i in plain.output]


@pytest.mark.parametrize("stream", [False, True])
def test_function_and_custom_tool_round_trip(emu: EmulatorServer, stream: bool) -> None:
    c = oai(emu)
    prompt = "weather in Oslo, then patch [emulator:tools=get_weather,apply_patch]"
    first = first_round(c, prompt, stream=stream)
    call, patch = [i for i in first.output if i.type in ("function_call", "custom_tool_call")]
    assert call.type == "function_call" and call.name == "get_weather"  # type: ignore[union-attr]
    assert "city" in json.loads(call.arguments)  # type: ignore[union-attr]
    assert patch.type == "custom_tool_call" and patch.name == "apply_patch" and patch.input  # type: ignore[union-attr]
    history: list[Any] = [{"role": "user", "content": prompt}]
    history += [i.model_dump(exclude_none=True) for i in first.output]
    history.append({"type": "function_call_output", "call_id": call.call_id, "output": "snow, -3C"})  # type: ignore[union-attr]
    history.append({"type": "custom_tool_call_output", "call_id": patch.call_id, "output": "Done!"})  # type: ignore[union-attr]
    second = c.responses.create(model="glm-5.3", input=history, tools=TOOLS)
    assert "snow, -3C" in second.output_text and "Done!" in second.output_text
    assert not [i for i in second.output if i.type == "function_call"]


def test_markers_give_arguments_or_keep_tools_unused(emu: EmulatorServer) -> None:
    c = oai(emu)
    shell = {"type": "function", "name": "exec_command", "parameters": {"type": "object", "properties": {}}}
    r = c.responses.create(
        model="glm-5.3", input='run it [emulator:round=exec_command {"cmd": "echo hi"}]', tools=[shell]
    )
    assert json.loads(r.output[-1].arguments) == {"cmd": "echo hi"}  # type: ignore[union-attr]
    r = c.responses.create(model="glm-5.3", input="just talk [emulator:no-tools]", tools=[shell])
    assert [i.type for i in r.output] == ["reasoning", "message"]


def test_encrypted_reasoning_goes_back_with_tool_results(emu: EmulatorServer) -> None:
    c = oai(emu)
    first = c.responses.create(
        model="glm-5.3",
        input="weather? [emulator:tools=get_weather]",
        tools=[WEATHER],  # type: ignore[list-item]
        include=["reasoning.encrypted_content"],
        store=False,
    )
    reasoning = first.output[0]
    assert reasoning.type == "reasoning" and reasoning.encrypted_content  # type: ignore[union-attr]
    only_opaque = {
        "type": "reasoning",
        "id": reasoning.id,
        "summary": [],
        "encrypted_content": reasoning.encrypted_content,
    }  # type: ignore[union-attr]
    call = first.output[1]
    history: Any = [
        {"role": "user", "content": "weather? [emulator:tools=get_weather]"},
        only_opaque,
        call.model_dump(exclude_none=True),
        {"type": "function_call_output", "call_id": call.call_id, "output": "rain"},  # type: ignore[union-attr]
    ]
    c.responses.create(model="glm-5.3", input=history, tools=[WEATHER])  # type: ignore[list-item]
    received = emu.state.extra["chat"]["received"][-1]
    assistant = next(m for m in received["messages"] if m["role"] == "assistant")
    assert assistant["reasoning_content"] == first.output[0].content[0].text  # type: ignore[union-attr, index]


def test_errors_auth_model_and_unsupported_fields(emu: EmulatorServer) -> None:
    import openai

    with pytest.raises(openai.AuthenticationError):
        oai(emu, key="nope").responses.create(model="glm-5.3", input="x")
    with pytest.raises(openai.BadRequestError) as info:
        oai(emu).responses.create(model="glm-0", input="x")
    assert info.value.body["code"] == "1211"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as info:
        oai(emu).responses.create(model="glm-5.3", input="x", previous_response_id="resp_1")
    assert "previous_response_id" in str(info.value)


def test_status_fault_cut_and_stream_error(emu: EmulatorServer) -> None:
    import openai

    c = oai(emu, **{"X-Emulator-Fault": "kind=status,status=500"})
    with pytest.raises(openai.InternalServerError):
        c.responses.create(model="glm-5.3", input="x")
    cut = oai(emu, **{"X-Emulator-Fault": "kind=cut,after=6"})
    with (
        pytest.raises(RuntimeError, match=r"response\.completed"),
        cut.responses.stream(model="glm-5.3", input="x") as s,
    ):
        s.get_final_response()
    failing = oai(emu, **{"X-Emulator-Fault": "kind=stream_error,after=6,code=1234"})
    with pytest.raises(openai.APIError, match="Network error"):
        list(failing.responses.create(model="glm-5.3", input="x", stream=True))


def test_one_request_in_flight_gives_1302() -> None:
    with EmulatorServer(max_concurrency=1, chunk_delay=0.02) as server:
        url = f"{server.url}/api/v1/responses"
        headers = {"Authorization": f"Bearer {TEST_KEY}"}
        body = {"model": "glm-5.3", "input": "slow", "stream": True}
        with httpx.stream("POST", url, json=body, headers=headers, timeout=10) as first:
            second = httpx.post(url, json={**body, "stream": False}, headers=headers, timeout=10)
            assert first.status_code == 200
            first.read()
        assert second.status_code == 429 and second.json()["error"]["code"] == "1302"


def test_quota_is_metered_and_a_spent_window_refuses() -> None:
    import openai

    with EmulatorServer(options={"quota": {"5h": {"used": 0}}}) as server:
        limits = f"{server.url}/api/monitor/usage/quota/limit"
        auth = {"Authorization": TEST_KEY}
        before = httpx.get(limits, headers=auth, timeout=5).json()
        oai(server).responses.create(model="glm-5.3", input="use some tokens")
        after = httpx.get(limits, headers=auth, timeout=5).json()
        assert after != before  # the Responses surface draws on the plan's windows
        httpx.post(f"{server.url}/api/_emulator/quota", json={"5h": {"percentage": 100}}, timeout=5)
        with pytest.raises(openai.RateLimitError) as info:
            oai(server).responses.create(model="glm-5.3", input="one more")
        assert info.value.body["code"] == "1308"  # type: ignore[index]
