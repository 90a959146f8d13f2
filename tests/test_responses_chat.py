"""Properties of the Responses <-> chat translation, with the official ``openai`` package as the judge.

- Any Responses request the openai package's request types can express (the item and tool types GLM has a
  form for) translates (``to_chat``, then the gateway's pre-flight) to a chat request the emulator's chat checks
  accept, or is refused with an error naming the problem; never a chat request the API would refuse.
- A streamed answer, folded by the openai package's own stream accumulator, adds up to the non-streamed
  answer of the same chat completion.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from openai.types.responses import (
    CustomToolParam,
    EasyInputMessageParam,
    FunctionToolParam,
    ResponseCustomToolCallParam,
    ResponseFunctionToolCallParam,
    ResponseReasoningItemParam,
)
from openai.types.responses.response_custom_tool_call_output_param import ResponseCustomToolCallOutputParam
from openai.types.responses.response_input_param import FunctionCallOutput

from glmkit.emulator.chat_checks import validate
from glmkit.gateway.preflight import PreflightError, preflight
from glmkit.responses_chat import Plan, ResponseWriter, TranslationError, to_chat

NAMES = st.from_regex(r"[a-zA-Z0-9_-]{1,64}", fullmatch=True)
ITEMS = st.one_of(
    st.from_type(EasyInputMessageParam),
    st.from_type(ResponseFunctionToolCallParam),
    st.from_type(FunctionCallOutput),
    st.from_type(ResponseCustomToolCallParam),
    st.from_type(ResponseCustomToolCallOutputParam),
    st.from_type(ResponseReasoningItemParam),
)
TOOLS = st.one_of(st.from_type(FunctionToolParam), st.from_type(CustomToolParam))
SCHEMAS = st.fixed_dictionaries(
    {"type": st.just("object"), "properties": st.dictionaries(NAMES, st.just({"type": "string"}), max_size=3)}
)
pytestmark = pytest.mark.timeout(600)


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    tools = [{**t, "name": draw(NAMES)} if draw(st.booleans()) else t for t in draw(st.lists(TOOLS, max_size=4))]
    for tool in tools:
        if "parameters" in tool:  # Dict[str, object] in the types: any JSON schema object here
            tool["parameters"] = draw(st.one_of(st.none(), SCHEMAS))
    body: dict[str, Any] = {
        "model": draw(st.sampled_from(["glm-5.3-flash", "glm-4.6v"])),
        "input": draw(st.one_of(st.text(), st.lists(ITEMS, max_size=6))),
        "tools": tools,
    }
    optional = {
        "instructions": st.text(max_size=40),
        "max_output_tokens": st.integers(-5, 300000),
        "temperature": st.floats(-1, 3, allow_nan=False),
        "top_p": st.floats(-1, 3, allow_nan=False),
        "reasoning": st.fixed_dictionaries(
            {}, optional={"effort": st.sampled_from(["none", "minimal", "low", "medium", "high", "xhigh"])}
        ),
        "tool_choice": st.one_of(
            st.sampled_from(["auto", "none", "required"]), st.fixed_dictionaries({"type": st.just("function")})
        ),
        "stream": st.booleans(),
        "text": st.just({"format": {"type": "json_object"}}),
        "user": st.text(max_size=20),
        "include": st.just(["reasoning.encrypted_content"]),
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            body[name] = draw(strategy)
    try:
        json.dumps(body)
    except TypeError:  # an object no JSON request can carry (the types allow ``object`` in places)
        assume(False)
    return body


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(requests())
def test_any_request_translates_to_an_accepted_chat_request_or_a_clear_refusal(body: dict[str, Any]) -> None:
    try:
        chat, _ = to_chat(body)
        preflight(chat, vision_model="glm-4.6v")  # what the gateway's translate mode sends next
    except (TranslationError, PreflightError) as exc:
        assert str(exc)  # a refusal names its reason
        return
    refused = validate(json.loads(json.dumps(chat)), "coding")
    assert refused is None, bytes(refused.body).decode()


def _chunks(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """GLM stream chunks of one answer and the whole completion they add up to."""
    reasoning = draw(st.lists(st.text(min_size=1, max_size=8), max_size=4))
    text = draw(st.lists(st.text(min_size=1, max_size=8), max_size=5))
    calls = draw(st.lists(st.tuples(st.sampled_from(["get_weather", "apply_patch"]), st.text(max_size=12)), max_size=2))
    chunks: list[dict[str, Any]] = [{"choices": [{"delta": {"reasoning_content": r}}]} for r in reasoning]
    chunks += [{"choices": [{"delta": {"content": t}}]} for t in text]
    message: dict[str, Any] = {"role": "assistant", "content": "".join(text)}
    if reasoning:
        message["reasoning_content"] = "".join(reasoning)
    tool_calls = []
    for i, (name, value) in enumerate(calls):
        args = json.dumps({"input": value})
        cut = draw(st.integers(0, len(args)))
        head = {"index": i, "id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": args[:cut]}}
        chunks.append({"choices": [{"delta": {"tool_calls": [head]}}]})
        chunks.append({"choices": [{"delta": {"tool_calls": [{"index": i, "function": {"arguments": args[cut:]}}]}}]})
        tool_calls.append({"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": args}})
    if tool_calls:
        message["tool_calls"] = tool_calls
    finish = "tool_calls" if tool_calls else draw(st.sampled_from(["stop", "length"]))
    usage = {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}
    chunks.append({"choices": [{"delta": {}, "finish_reason": finish}], "usage": usage})
    return chunks, {"choices": [{"message": message, "finish_reason": finish}], "usage": usage}


@pytest.mark.parametrize("call_id", ["", None])
def test_a_function_call_without_a_call_id_is_refused_with_what_it_needs(call_id: str | None) -> None:
    call: dict[str, Any] = {"type": "function_call", "name": "look", "arguments": "{}"}
    if call_id is not None:
        call["call_id"] = call_id
    body = {"model": "glm-4.7", "input": [{"role": "user", "content": "hi"}, call]}
    with pytest.raises(TranslationError, match="function_call item needs a call_id"):
        to_chat(body)
    call["call_id"] = "call_1"  # named: GLM gets the call, answered by the placeholder the translation adds
    chat, _ = to_chat(body)
    assert validate(json.loads(json.dumps(chat)), "coding") is None


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_a_streamed_answer_adds_up_to_the_plain_one(data: st.DataObject) -> None:
    from openai._models import construct_type
    from openai._types import omit
    from openai.lib.streaming.responses._responses import ResponseStreamState
    from openai.types.responses import ResponseStreamEvent

    chunks, completion = _chunks(data.draw)
    plan = Plan(model="glm-5.3", custom_tools={"apply_patch"}, encrypted_reasoning=True)
    writer = ResponseWriter(plan, "resp_1", 0)
    out: list[bytes] = []
    writer.start(out)
    for chunk in chunks:
        assert writer.feed_chunk(json.dumps(chunk).encode(), out)
    writer.finish(out)
    state: Any = ResponseStreamState(input_tools=omit, text_format=omit)
    final = None
    for frame in b"".join(out).split(b"\n\n")[:-1]:
        name, payload = frame.split(b"\n", 1)
        event = json.loads(payload.removeprefix(b"data: "))
        assert name == b"event: " + event["type"].encode()
        for parsed in state.handle_event(construct_type(type_=ResponseStreamEvent, value=event)):
            if parsed.type in ("response.completed", "response.incomplete"):
                final = parsed.response
    plain = ResponseWriter(plan, "resp_1", 0).from_completion(completion)
    assert final is not None
    streamed = final.to_dict()
    for item in (*streamed["output"], *plain["output"]):
        item.pop("id", None)
        item.pop("parsed_arguments", None)
        for part in item.get("content") or []:
            part.pop("parsed", None)
    assert streamed["output"] == json.loads(json.dumps(plain["output"]))
    assert streamed["status"] == plain["status"] and streamed["usage"] == plain["usage"]
