"""Chat completions through the public client against the emulator."""

from __future__ import annotations

import json

import httpx
import pytest

import glmkit
from glmkit import Client
from glmkit.testing import TEST_KEY, offline_client

MSG = [{"role": "user", "content": "hello emulator"}]


def attempts(app, path: str = "/chat/completions") -> int:  # type: ignore[no-untyped-def]
    return sum(1 for r in app.state.emulator.requests if r["path"].endswith(path))


def test_plain_completion_has_text_reasoning_and_usage(client: Client) -> None:
    reply = client.chat.completions.create(model="glm-4.7", messages=MSG)
    assert "hello emulator" in reply.choices[0].message.content
    assert reply.choices[0].message.reasoning_content
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens > 0
    assert reply.raw_response.status_code == 200 and reply.raw_response.request_id


def test_stream_text_matches_the_plain_answer_and_assembles(client: Client) -> None:
    plain = client.chat.completions.create(model="glm-4.7", messages=MSG)
    with client.chat.completions.create(model="glm-4.7", messages=MSG, stream=True) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_completion()
    assert text == plain.content == final.content
    assert final.reasoning == plain.reasoning
    assert final.usage.total_tokens == plain.usage.total_tokens
    assert final.choices[0].finish_reason == "stop"


def test_unknown_fields_are_kept(client: Client) -> None:
    reply = client.chat.completions.create(model="glm-4.7", messages=MSG, extra_body={"seed": 1})
    assert reply.request_id  # documented field beyond openai's shape
    data = reply.to_dict()
    assert data["choices"][0]["message"]["content"] == reply.content


def test_stream_assembles_tool_call_argument_deltas(client: Client) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1, "maximum": 7}},
                    "required": ["city"],
                },
            },
        }
    ]
    plain = client.chat.completions.create(model="glm-4.7", messages=MSG, tools=tools)
    with client.chat.completions.stream(model="glm-4.7", messages=MSG, tools=tools, tool_stream=True) as stream:
        chunks = list(stream)
        final = stream.get_final_completion()
    fragments = [tc for ch in chunks for c in ch.choices for tc in (c.delta.tool_calls or [])]
    assert len(fragments) > 2  # the arguments really arrived in pieces
    call = final.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == json.loads(plain.choices[0].message.tool_calls[0].function.arguments)
    assert final.choices[0].finish_reason == "tool_calls"


def test_transient_429_is_retried_until_success(emulator_app) -> None:  # type: ignore[no-untyped-def]
    from glmkit.emulator.faults import Fault

    emulator_app.state.emulator.faults.add(Fault(code="1302", times=2, retry_after=0))
    slept: list[float] = []
    client = offline_client(emulator_app, sleep=slept.append)
    reply = client.chat.completions.create(model="glm-4.7", messages=MSG)
    assert reply.content
    assert attempts(emulator_app) == 3 and slept == [0.0, 0.0]


def test_retries_stop_at_max_retries_and_raise_the_typed_error(emulator_app) -> None:  # type: ignore[no-untyped-def]
    client = offline_client(emulator_app, sleep=lambda s: None, max_retries=2)
    with pytest.raises(glmkit.InternalServerError) as info:
        client.chat.completions.create(model="glm-4.7", messages=MSG, extra_headers={"X-Emulator-Fault": "status=500"})
    assert attempts(emulator_app) == 3
    assert info.value.status_code == 500


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("1113", glmkit.InsufficientBalanceError),
        ("1308", glmkit.QuotaExceededError),
        ("1301", glmkit.ContentFilterError),
        ("1211", glmkit.NotFoundError),
    ],
)
def test_non_retryable_errors_are_raised_at_once(emulator_app, code: str, cls: type) -> None:  # type: ignore[no-untyped-def]
    client = offline_client(emulator_app, sleep=lambda s: None)
    with pytest.raises(cls) as info:
        client.chat.completions.create(
            model="glm-4.7", messages=MSG, extra_headers={"X-Emulator-Fault": f"code={code}"}
        )
    assert attempts(emulator_app) == 1
    assert info.value.code == code


def test_retry_after_header_sets_the_delay(emulator_app) -> None:  # type: ignore[no-untyped-def]
    slept: list[float] = []
    client = offline_client(emulator_app, sleep=slept.append, max_retries=1)
    with pytest.raises(glmkit.RateLimitError):
        client.chat.completions.create(
            model="glm-4.7", messages=MSG, extra_headers={"X-Emulator-Fault": "code=1303,retry_after=7"}
        )
    assert slept == [7.0]


def test_wrong_key_is_an_authentication_error_with_hint(emulator_app) -> None:  # type: ignore[no-untyped-def]
    from glmkit.emulator import EmulatorConfig, create_app

    app = create_app(EmulatorConfig(keys=frozenset({TEST_KEY})))
    client = offline_client(app, api_key="ffffffffffffffffffffffffffffffff.wrongwrongwrong1")
    with pytest.raises(glmkit.AuthenticationError) as info:
        client.chat.completions.create(model="glm-4.7", messages=MSG)
    assert info.value.code == "1002" and info.value.hint
    assert "wrongwrong" not in str(info.value) and "wrongwrong" not in repr(client)


def test_cut_stream_raises_with_the_partial_answer(client: Client) -> None:
    with (
        client.chat.completions.create(
            model="glm-4.7", messages=MSG, stream=True, extra_headers={"X-Emulator-Fault": "kind=cut,after=20"}
        ) as stream,
        pytest.raises(glmkit.APIConnectionError) as info,
    ):
        for _ in stream:
            pass
    partial = info.value.partial
    assert partial is not None and partial.reasoning  # what arrived is kept, not discarded


def test_error_frame_mid_stream_is_raised_with_partial(client: Client) -> None:
    with (
        pytest.raises(glmkit.StreamError) as info,
        client.chat.completions.create(
            model="glm-4.7",
            messages=MSG,
            stream=True,
            extra_headers={"X-Emulator-Fault": "kind=stream_error,after=3,code=1234"},
        ) as s,
    ):
        s.get_final_completion()
    assert info.value.partial is not None
    assert isinstance(info.value.__cause__, glmkit.InternalServerError)


def test_sensitive_finish_reason_is_surfaced(client: Client) -> None:
    with (
        client.chat.completions.create(
            model="glm-4.7",
            messages=MSG,
            stream=True,
            extra_headers={"X-Emulator-Fault": "kind=finish,reason=sensitive"},
        ) as s,
        pytest.raises(glmkit.ContentFilterError),
    ):
        s.get_final_completion()


def test_malformed_json_is_a_validation_error(client: Client) -> None:
    with pytest.raises(glmkit.APIResponseValidationError):
        client.chat.completions.create(
            model="glm-4.7", messages=MSG, extra_headers={"X-Emulator-Fault": "kind=malformed"}
        )


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"model": "glm-4.7", "messages": []}, "messages"),
        ({"model": "glm-4.7", "messages": [{"role": "bot", "content": "x"}]}, "role"),
        ({"model": "glm-4.7", "messages": [{"role": "system", "content": "x"}]}, "user"),
        ({"model": "glm 4.7!", "messages": MSG}, "model id"),
        ({"model": "glm-4.7", "messages": MSG, "max_tokens": -5}, "max_tokens"),
        ({"model": "glm-4.7", "messages": MSG, "max_tokens": 200000}, "131072"),
        ({"model": "glm-4.7", "messages": MSG, "stop": ["a", "b"]}, "stop"),
        ({"model": "glm-4.7", "messages": MSG, "temperature": 1.5}, "temperature"),
        (
            {
                "model": "glm-4.7",
                "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}],
            },
            "vision",
        ),
    ],
)
def test_bad_input_fails_before_any_request(emulator_app, params: dict, needle: str) -> None:  # type: ignore[no-untyped-def]
    client = offline_client(emulator_app)
    with pytest.raises(glmkit.InputError) as info:
        client.chat.completions.create(**params)
    assert needle in (str(info.value) + (info.value.hint or ""))
    assert attempts(emulator_app) == 0


def test_no_key_is_a_clear_error_before_any_request() -> None:
    client = Client(environ={}, base_url="http://127.0.0.1:9/api/paas/v4")
    with pytest.raises(glmkit.InputError, match="ZAI_API_KEY"):
        client.chat.completions.create(model="glm-4.7", messages=MSG)


def test_always_thinking_model_gets_low_effort_instead_of_disabled(emulator_app) -> None:  # type: ignore[no-untyped-def]
    seen = []
    client = offline_client(emulator_app)
    with pytest.warns(UserWarning, match="always thinks"):
        reply = client.chat.completions.create(
            model="glm-5.3", messages=MSG, thinking={"type": "disabled"}, extra_headers={"X-Test": "1"}
        )
    seen.append(reply)
    assert reply.content  # the general endpoint would have answered 1210 to "disabled"


def test_uppercase_model_ids_are_lowercased(client: Client) -> None:
    assert client.chat.completions.create(model="GLM-4.7", messages=MSG).model == "glm-4.7"


def test_user_agent_is_honest(emulator_app) -> None:  # type: ignore[no-untyped-def]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}]})

    client = Client(api_key=TEST_KEY, environ={}, transport=httpx.MockTransport(handler))
    client.chat.completions.create(model="glm-4.7", messages=MSG)
    assert seen[0].headers["user-agent"].startswith("glmkit/")
    assert seen[0].headers["authorization"] == f"Bearer {TEST_KEY}"


def test_async_job_chat(client: Client) -> None:
    task = client.chat.async_completions.create(model="glm-4.7", messages=MSG)
    result = client.chat.async_completions.retrieve(task.id)
    assert result.task_status == "SUCCESS" and "hello emulator" in result.choices[0].message.content


def test_reasoning_stream_then_text_stream_loses_nothing(client: Client) -> None:
    plain = client.chat.completions.create(model="glm-4.7", messages=MSG)
    with client.chat.completions.stream(model="glm-4.7", messages=MSG) as stream:
        reasoning = "".join(stream.reasoning_stream)
        text = "".join(stream.text_stream)
        assert list(stream) == []  # read to the end: iterating again is simply empty
        final = stream.get_final_completion()
    assert (reasoning, text) == (plain.reasoning, plain.content) == (final.reasoning, final.content)


def test_sensitive_finish_raises_from_text_stream_with_the_partial_answer(client: Client) -> None:
    seen = []
    with (
        client.chat.completions.stream(
            model="glm-4.7", messages=MSG, extra_headers={"X-Emulator-Fault": "kind=finish,reason=sensitive"}
        ) as stream,
        pytest.raises(glmkit.ContentFilterError) as info,
    ):
        seen.extend(stream.text_stream)
    assert info.value.partial is not None and info.value.partial.content == "".join(seen)
    assert ".partial" in (info.value.hint or "")


def test_final_completion_after_a_partial_read(client: Client) -> None:
    plain = client.chat.completions.create(model="glm-4.7", messages=MSG)
    with client.chat.completions.stream(model="glm-4.7", messages=MSG) as stream:
        first = next(iter(stream.reasoning_stream))
        final = stream.get_final_completion()
    assert plain.reasoning.startswith(first) and final.content == plain.content
