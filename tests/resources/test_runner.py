"""``client.chat.run`` / ``run_stream`` / ``parse`` against the emulator (sync client)."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from typing import Any, Literal

import httpx
import pytest
from pydantic import BaseModel

import glmkit
from glmkit import Client, tool
from glmkit.emulator import EmulatorConfig, create_app
from glmkit.resources._run_types import RunEvent
from glmkit.testing import OFFLINE_BASE, TEST_KEY, EmulatorTransport, offline_client
from glmkit.tools import check_schema

pytestmark = pytest.mark.timeout(60)
MODEL = "glm-5"  # a thinking model: every turn carries reasoning_content


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def received(app: Any) -> list[dict[str, Any]]:
    """The chat request bodies the emulator got, in order."""
    return list(app.state.emulator.extra["chat"]["received"])


@tool
def get_weather(city: str, unit: Literal["c", "f"] = "c") -> str:
    """Get the current weather for a city.

    Args:
        city: the city name.
        unit: c or f.
    """
    return f"{city}: 21{unit}"


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def squash(types: list[str]) -> list[str]:
    return [t for t, _ in itertools.groupby(types)]


def test_parallel_tool_calls_run_concurrently_and_results_go_back(client: Client, emulator_app: Any) -> None:
    barrier = threading.Barrier(2, timeout=5)  # breaks (and the tool fails) unless both run at once

    @tool
    def slow_a(x: int) -> str:
        """A."""
        barrier.wait()
        return f"a={x}"

    @tool
    def slow_b(y: str) -> str:
        """B."""
        barrier.wait()
        return f"b={y}"

    answer = client.chat.run(
        model=MODEL, messages=user("go [emulator:tools=slow_a,slow_b]"), tools=[slow_a, slow_b, add]
    )
    assert answer.stop_reason == "stop"
    assert len(answer.steps) == 2
    calls = answer.steps[0].tool_calls
    assert [c.name for c in calls] == ["slow_a", "slow_b"]
    assert [c.status for c in calls] == ["ok", "ok"], [c.error for c in calls]
    assert calls[0].output == f"a={calls[0].arguments['x']}"
    assert all(c.duration > 0 for c in calls)
    # the conversation: user, assistant(tool_calls), one tool message per call in call order, final assistant
    roles = [m["role"] for m in answer.messages]
    assert roles == ["user", "assistant", "tool", "tool", "assistant"]
    assert [m["tool_call_id"] for m in answer.messages[2:4]] == [c.id for c in calls]
    assert calls[0].output in answer.content and calls[1].output in answer.content
    # the arguments the emulator generated fit each tool's schema
    for c in calls:
        assert check_schema(c._tool.parameters, c.arguments) == []  # type: ignore[union-attr]


def test_parallel_false_runs_in_call_order_on_one_thread(client: Client) -> None:
    seen: list[tuple[str, str]] = []

    @tool
    def one(x: int) -> int:
        """One."""
        seen.append(("one", threading.current_thread().name))
        return x

    @tool
    def two(x: int) -> int:
        """Two."""
        seen.append(("two", threading.current_thread().name))
        return x

    answer = client.chat.run(model=MODEL, messages=user("[emulator:tools=two,one]"), tools=[one, two], parallel=False)
    assert [s[0] for s in seen] == ["two", "one"]
    assert {s[1] for s in seen} == {threading.current_thread().name}
    assert answer.stop_reason == "stop"


def test_a_failing_tool_is_reported_to_the_model(client: Client) -> None:
    @tool
    def fragile(path: str) -> str:
        """Breaks."""
        raise OSError(f"disk on fire at {path}")

    answer = client.chat.run(model=MODEL, messages=user("[emulator:tools=fragile]"), tools=[fragile])
    call = answer.steps[0].tool_calls[0]
    assert call.status == "error"
    assert call.error is not None and call.error.startswith("OSError: disk on fire at ")
    assert isinstance(call.exception, OSError)
    assert answer.messages[2] == {"role": "tool", "tool_call_id": call.id, "content": f"Error: {call.error}"}
    assert "disk on fire" in answer.content  # the model saw it
    assert answer.stop_reason == "stop"


def test_tool_errors_raise_raises_the_tools_own_exception(client: Client) -> None:
    @tool
    def fragile() -> str:
        """Breaks."""
        raise KeyError("missing")

    with pytest.raises(KeyError, match="missing"):
        client.chat.run(model=MODEL, messages=user("[emulator:tools=fragile]"), tools=[fragile], tool_errors="raise")


def test_invalid_arguments_are_not_run_and_the_model_retries(client: Client) -> None:
    calls: list[tuple[str, int]] = []

    @tool
    def lookup(name: str, limit: int = 5) -> str:
        """Look up."""
        calls.append((name, limit))
        return f"found {name}"

    answer = client.chat.run(
        model=MODEL, messages=user("[emulator:invalid-args][emulator:tool-rounds=2]"), tools=[lookup]
    )
    first, second = answer.steps[0].tool_calls[0], answer.steps[1].tool_calls[0]
    assert first.status == "invalid"
    assert "Invalid arguments for lookup" in first.error  # type: ignore[operator]
    assert "name: Input should be a valid string" in first.output
    assert second.status == "ok" and calls == [(second.arguments["name"], second.arguments["limit"])]  # type: ignore[index]
    assert len(calls) == 1  # the invalid call never reached the function
    assert answer.stop_reason == "stop" and len(answer.steps) == 3


def test_invalid_arguments_raise_with_tool_errors_raise(client: Client) -> None:
    with pytest.raises(glmkit.tools.ToolArgumentsError, match="Invalid arguments for add"):
        client.chat.run(
            model=MODEL, messages=user("[emulator:invalid-args][emulator:tools=add]"), tools=[add], tool_errors="raise"
        )


def test_approval_denied_skips_the_tool(client: Client) -> None:
    deleted: list[str] = []

    @tool
    def delete_file(path: str) -> str:
        """Delete a file."""
        deleted.append(path)
        return "deleted"

    asked: list[str] = []

    def approve(call: Any) -> bool:
        asked.append(call.name)
        return call.name != "delete_file"

    answer = client.chat.run(
        model=MODEL,
        messages=user("[emulator:tools=delete_file,get_weather]"),
        tools=[delete_file, get_weather],
        approve=approve,
    )
    assert asked == ["delete_file", "get_weather"]
    assert deleted == []
    denied, ran = answer.steps[0].tool_calls
    assert denied.status == "denied" and "declined" in denied.output
    assert ran.status == "ok" and ran.output.endswith(("21c", "21f"))
    assert answer.messages[2]["content"] == denied.output  # the model is told


def test_max_steps_stops_with_a_clear_outcome(client: Client) -> None:
    answer = client.chat.run(
        model=MODEL, messages=user("[emulator:tool-rounds=10][emulator:tools=add]"), tools=[add], max_steps=3
    )
    assert answer.stop_reason == "max_steps"
    assert len(answer.steps) == 3
    assert all(s.tool_calls and s.finish_reason == "tool_calls" for s in answer.steps)
    assert answer.content == ""
    assert answer.messages[-1]["role"] == "tool"  # every call got its result: the caller may continue
    assert sum(1 for m in answer.messages if m["role"] == "tool") == 3


def test_usage_is_the_sum_of_the_steps(client: Client) -> None:
    answer = client.chat.run(model=MODEL, messages=user("[emulator:tools=add]"), tools=[add])
    steps = [s.usage for s in answer.steps]
    assert answer.usage.total_tokens == sum(u.total_tokens for u in steps if u) > 0
    assert answer.usage.prompt_tokens == sum(u.prompt_tokens for u in steps if u)
    assert answer.usage.completion_tokens_details.reasoning_tokens == sum(  # type: ignore[union-attr]
        u.completion_tokens_details.reasoning_tokens for u in steps if u and u.completion_tokens_details
    )


def test_no_tool_call_is_one_step(client: Client) -> None:
    answer = client.chat.run(model=MODEL, messages=user("hello"))
    assert answer.stop_reason == "stop" and len(answer.steps) == 1 and answer.content.startswith("This is")


def test_streaming_events_arrive_in_order(client: Client) -> None:
    seen: list[RunEvent] = []
    events = list(
        client.chat.run_stream(
            model=MODEL,
            messages=user("[emulator:tools=get_weather,add]"),
            tools=[get_weather, add],
            on_event=seen.append,
        )
    )
    assert seen == events
    types = squash([e.type for e in events])
    assert types == [
        "reasoning_delta",
        "tool_call_started",
        "tool_call_finished",
        "step_finished",
        "reasoning_delta",
        "text_delta",
        "step_finished",
        "done",
    ]
    assert [e.type for e in events].count("tool_call_started") == 2
    answer = events[-1].answer  # type: ignore[union-attr]
    text = "".join(e.text for e in events if e.type == "text_delta" and e.step == 1)  # type: ignore[union-attr]
    reasoning = "".join(e.text for e in events if e.type == "reasoning_delta" and e.step == 0)  # type: ignore[union-attr]
    assert text == answer.content and reasoning == answer.steps[0].reasoning
    assert [e.step for e in events if e.type == "step_finished"] == [0, 1]


def test_run_with_on_event_streams_the_same_events(client: Client) -> None:
    prompt = user("[emulator:tools=add]")
    seen: list[RunEvent] = []
    answer = client.chat.run(model=MODEL, messages=prompt, tools=[add], on_event=seen.append)
    assert "text_delta" in {e.type for e in seen} and seen[-1].answer is answer  # type: ignore[union-attr]
    streamed = list(client.chat.run_stream(model=MODEL, messages=prompt, tools=[add]))
    assert [(e.type, e.step) for e in seen] == [(e.type, e.step) for e in streamed]


def test_run_stream_checks_arguments_before_the_first_event(client: Client, emulator_app: Any) -> None:
    with pytest.raises(glmkit.InputError, match="max_steps"):
        client.chat.run_stream(model=MODEL, messages=user("x"), tools=[add], max_steps=0)
    assert emulator_app.state.emulator.requests == []


def _fingerprint(answer: Any) -> Any:
    return (
        answer.stop_reason,
        answer.content,
        [(s.content, s.reasoning, s.finish_reason) for s in answer.steps],
        [(c.id, c.name, c.raw_arguments, c.output, c.status) for c in answer.tool_calls],
        answer.messages,
    )


def test_tool_stream_gives_the_same_result_as_without() -> None:
    prompt = user("weather and sums [emulator:tools=get_weather,add][emulator:tool-rounds=2]")
    results = []
    for flags in ({}, {"tool_stream": True}):
        app = create_app(EmulatorConfig(job_seconds=0.0))
        with offline_client(app) as c:
            answer = c.chat.run(model=MODEL, messages=prompt, tools=[get_weather, add], **flags)
        bodies = received(app)
        assert all(bool(b.get("tool_stream")) == bool(flags) for b in bodies)
        assert all(bool(b.get("stream")) == bool(flags) for b in bodies)
        results.append(_fingerprint(answer))
    assert results[0] == results[1]
    assert len(results[0][3]) == 4  # two rounds of two calls, assembled from argument fragments


def test_reasoning_content_is_sent_back_with_the_tool_results() -> None:
    app = create_app(EmulatorConfig(job_seconds=0.0, options={"require_reasoning": True}))
    with offline_client(app) as c:
        answer = c.chat.run(
            model=MODEL, messages=user("[emulator:tool-rounds=2][emulator:tools=add]"), tools=[add], max_steps=5
        )
        bodies = received(app)
        assert len(bodies) == 3
        sent = [m for m in bodies[2]["messages"] if m["role"] == "assistant"]
        assert [m["reasoning_content"] for m in sent] == [answer.steps[0].reasoning, answer.steps[1].reasoning]
        assert answer.steps[0].reasoning != answer.steps[1].reasoning
        assert app.state.emulator.extra["chat"]["reasoning_missing"] == 0
        # the emulator really checks: the same conversation without reasoning is refused
        stripped = [{k: v for k, v in m.items() if k != "reasoning_content"} for m in answer.messages[:3]]
        with pytest.raises(glmkit.BadRequestError, match="reasoning_content"):
            c.chat.completions.create(model=MODEL, messages=stripped, tools=[add.to_param()])


def test_dict_tools_without_implementation_are_left_to_the_caller(client: Client, emulator_app: Any) -> None:
    ext = {
        "type": "function",
        "function": {
            "name": "ext_lookup",
            "description": "Runs elsewhere.",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
        },
    }
    web = {"type": "web_search", "web_search": {"enable": True, "search_engine": "search_pro_jina"}}
    answer = client.chat.run(model=MODEL, messages=user("[emulator:tools=ext_lookup,add]"), tools=[ext, add, web])
    assert answer.stop_reason == "tool_calls"
    assert [c.name for c in answer.pending_tool_calls] == ["ext_lookup"]
    assert answer.steps[0].tool_calls[1].status == "ok"  # the local one ran
    assert [t["type"] for t in received(emulator_app)[0]["tools"]] == ["function", "function", "web_search"]
    # the caller answers the pending call and continues
    pending = answer.pending_tool_calls[0]
    messages = [*answer.messages, {"role": "tool", "tool_call_id": pending.id, "content": "ext says hi"}]
    final = client.chat.run(model=MODEL, messages=messages, tools=[ext, add])
    assert final.stop_reason == "stop" and "ext says hi" in final.content


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"max_steps": 0}, "max_steps"),
        ({"tool_errors": "ignore"}, "tool_errors"),
        ({"max_workers": 0}, "max_workers"),
        ({"tools": [{"type": "nope"}]}, "Unknown tool type"),
        ({"messages": []}, "messages"),
    ],
)
def test_bad_run_arguments_fail_before_any_request(
    client: Client, emulator_app: Any, kwargs: dict[str, Any], needle: str
) -> None:
    params: dict[str, Any] = {"model": MODEL, "messages": user("x"), "tools": [add], **kwargs}
    with pytest.raises(glmkit.InputError, match=needle):
        client.chat.run(**params)
    assert emulator_app.state.emulator.requests == []


# ---- structured output -----------------------------------------------------------------------------


class City(BaseModel):
    name: str
    population: int
    tags: list[str]


def test_parse_returns_a_validated_instance(client: Client, emulator_app: Any) -> None:
    result = client.chat.parse(model=MODEL, messages=user("Describe Oslo."), response_format=City)
    assert isinstance(result.parsed, City) and result.attempts == 1
    assert City.model_validate_json(result.content) == result.parsed
    assert result.raw_response is not None and result.raw_response.request_id  # as on a plain completion
    body = received(emulator_app)[0]
    assert body["response_format"] == {"type": "json_object"}
    assert '"population"' in body["messages"][0]["content"]  # the schema travels in the system prompt


def test_parse_retries_once_with_the_validation_error(client: Client, emulator_app: Any) -> None:
    result = client.chat.parse(
        model=MODEL,
        messages=[{"role": "system", "content": "Be terse."}, *user("Describe Oslo. [emulator:invalid-json]")],
        response_format=City,
    )
    assert isinstance(result.parsed, City) and result.attempts == 2
    first, second = received(emulator_app)
    assert first["messages"][0]["content"].startswith("Be terse.")  # the user's system prompt is kept
    retry = second["messages"][-2:]
    assert retry[0]["role"] == "assistant" and retry[0]["content"] == '{"answer": "unfinished'
    assert retry[1]["role"] == "user" and "not valid" in retry[1]["content"] and "JSON" in retry[1]["content"]


def test_parse_gives_up_after_the_retry(client: Client) -> None:
    with pytest.raises(
        glmkit.APIResponseValidationError, match="did not validate against City after 2 attempts"
    ) as info:
        client.chat.parse(model=MODEL, messages=user("Oslo [emulator:invalid-json=2]"), response_format=City)
    assert info.value.completion.content == '{"answer": "unfinished'  # type: ignore[attr-defined]


def test_parse_refuses_a_non_object_format(client: Client, emulator_app: Any) -> None:
    with pytest.raises(glmkit.InputError, match="JSON object"):
        client.chat.parse(model=MODEL, messages=user("x"), response_format=list[int])
    assert emulator_app.state.emulator.requests == []


def test_async_tools_work_under_the_sync_client(client: Client) -> None:
    @tool
    async def fetch(url: str) -> dict[str, str]:
        """Fetch."""
        return {"url": url, "body": "ok"}

    answer = client.chat.run(model=MODEL, messages=user("[emulator:tools=fetch,add]"), tools=[fetch, add])
    first = answer.tool_calls[0]
    assert first.status == "ok" and first.result == {"url": first.arguments["url"], "body": "ok"}  # type: ignore[index]
    assert json.loads(first.output) == first.result


class Window(BaseModel):
    start: int
    end: int | None = None


def test_emulator_arguments_fit_rich_schemas(client: Client) -> None:
    from typing import Annotated

    from pydantic import Field

    @tool
    def rich(
        mode: Literal["read", "write"],
        size: tuple[int, str],
        window: Window,
        ratio: Annotated[float, Field(ge=0.5, le=0.75)],
        count: Annotated[int, Field(gt=100, lt=105)],
        labels: dict[str, int],
        note: str | None = None,
    ) -> str:
        """Takes everything."""
        return f"{mode} {size} {window} {ratio} {count} {labels} {note}"

    for prompt in ("[emulator:tools=rich] one", "[emulator:tools=rich] two", "[emulator:tools=rich] three"):
        answer = client.chat.run(model=MODEL, messages=user(prompt), tools=[rich])
        call = answer.tool_calls[0]
        assert call.status == "ok", call.error
        assert check_schema(rich.parameters, call.arguments) == []


# ---- what goes back to the model -------------------------------------------------------------------


class Rewrite(httpx.BaseTransport):
    """The emulator, with each chat answer changed by ``edit`` on its way back (for answers it never gives)."""

    def __init__(self, app: Any, edit: Callable[[dict[str, Any]], None]) -> None:
        self.inner, self.edit = EmulatorTransport(app), edit

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        if not request.url.path.endswith("/chat/completions") or response.status_code != 200:
            return response
        body = response.json()
        self.edit(body)
        return httpx.Response(200, json=body)


def rewritten_client(app: Any, edit: Callable[[dict[str, Any]], None]) -> Client:
    return Client(api_key=TEST_KEY, base_url=OFFLINE_BASE, transport=Rewrite(app, edit), environ={})


def test_tool_calls_without_ids_get_one_id_in_both_messages(emulator_app: Any) -> None:
    def drop_ids(body: dict[str, Any]) -> None:
        for tc in body["choices"][0]["message"].get("tool_calls") or []:
            del tc["id"]

    with rewritten_client(emulator_app, drop_ids) as c:
        answer = c.chat.run(model=MODEL, messages=user("[emulator:tools=add,get_weather]"), tools=[add, get_weather])
    sent = received(emulator_app)[1]["messages"]
    ids = [tc["id"] for tc in sent[1]["tool_calls"]]
    assert all(ids) and len(set(ids)) == 2
    assert [m["tool_call_id"] for m in sent[2:4]] == ids == [c.id for c in answer.tool_calls]


def test_server_side_tool_calls_go_back_as_they_came(emulator_app: Any) -> None:
    searched = {"id": "ws_1", "type": "web_search", "web_search": {"search_query": "glm"}}

    def add_search(body: dict[str, Any]) -> None:
        message = body["choices"][0]["message"]
        if message.get("tool_calls"):
            message["tool_calls"].append(dict(searched))

    with rewritten_client(emulator_app, add_search) as c:
        answer = c.chat.run(model=MODEL, messages=user("[emulator:tools=add]"), tools=[add])
    assert [tc.name for tc in answer.tool_calls] == ["add"]  # not a local call: nothing to run
    sent = received(emulator_app)[1]["messages"][1]["tool_calls"]
    assert sent[1] == searched  # no made-up "function" object


def test_async_approve_and_on_event_under_the_sync_client_are_awaited(client: Client) -> None:
    deleted: list[str] = []
    seen: list[RunEvent] = []

    @tool
    def delete_file(path: str) -> str:
        """Delete a file."""
        deleted.append(path)
        return "deleted"

    async def approve(call: Any) -> bool:
        return False

    async def on_event(event: RunEvent) -> None:
        seen.append(event)

    answer = client.chat.run(
        model=MODEL,
        messages=user("[emulator:tools=delete_file]"),
        tools=[delete_file],
        approve=approve,
        on_event=on_event,
    )
    assert deleted == [] and answer.tool_calls[0].status == "denied"
    assert seen and seen[-1].answer is answer  # type: ignore[union-attr]


def test_a_filtered_answer_ends_the_run_the_same_streamed_or_not(client: Client) -> None:
    fault = {"X-Emulator-Fault": "kind=finish,reason=sensitive"}  # the turn ends with finish_reason 'sensitive'
    plain = client.chat.run(model=MODEL, messages=user("hello"), extra_headers=fault)
    events = list(client.chat.run_stream(model=MODEL, messages=user("hello"), extra_headers=fault))
    streamed = events[-1].answer  # type: ignore[union-attr]
    assert plain.stop_reason == streamed.stop_reason == "sensitive"
    assert streamed.content == "".join(e.text for e in events if e.type == "text_delta")  # type: ignore[union-attr]
    assert (plain.content, plain.messages) == (streamed.content, streamed.messages)
