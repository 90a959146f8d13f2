"""Responses, SSE framing, async chat, concurrency and faults (reference §2.4, §2.6, §2.7, §13.4, §14.1)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest
from emulator_http import GENERAL, chat, error_of, http_client
from starlette.applications import Starlette

from glmkit.emulator import EmulatorConfig, create_app
from glmkit.testing import TEST_KEY, EmulatorTransport

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def sse(response: httpx.Response) -> list[str]:
    """The ``data:`` payloads of an SSE body, checking the framing: one data line per event, a blank line after."""
    text = response.read().decode()
    events = text.split("\n\n")
    assert events[-1] == ""  # the body ends with a blank line
    payloads = []
    for event in events[:-1]:
        assert event.startswith("data: ") and "\n" not in event, event  # no event: names, no multi-line data
        payloads.append(event[len("data: ") :])
    return payloads


def test_a_plain_answer_has_the_documented_shape(http: httpx.Client) -> None:
    body = http.post("/chat/completions", json=chat("glm-4.7", request_id="mine-0001")).json()
    # §2.4 documents no "object"; the live API sends it (live evidence §1, 2026-03 recordings)
    assert set(body) == {"id", "object", "request_id", "created", "model", "choices", "usage"}
    assert body["object"] == "chat.completion"
    assert body["request_id"] == "mine-0001" and body["model"] == "glm-4.7"
    (choice,) = body["choices"]
    assert choice["index"] == 0 and choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant" and choice["message"]["content"]
    assert choice["message"]["reasoning_content"]  # GLM-4.7 always thinks when enabled (§2.5)
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens_details"] == {"cached_tokens": 0}
    assert 0 < usage["completion_tokens_details"]["reasoning_tokens"] < usage["completion_tokens"]


def test_tool_calls_carry_arguments_as_a_json_string(http: httpx.Client) -> None:
    body = chat(messages=[{"role": "user", "content": "Weather in Paris? [emulator:tools=get_weather]"}])
    choice = http.post("/chat/completions", json={**body, "tools": [WEATHER]}).json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    (call,) = choice["message"]["tool_calls"]
    assert call["type"] == "function" and call["id"].startswith("call_")
    assert isinstance(call["function"]["arguments"], str)  # §2.3: a string in practice
    assert isinstance(json.loads(call["function"]["arguments"])["city"], str)


def test_a_stream_puts_finish_reason_and_usage_only_in_the_last_chunk(http: httpx.Client) -> None:
    with http.stream("POST", "/chat/completions", json=chat("glm-4.7", stream=True)) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        payloads = sse(response)
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    assert len(chunks) > 2
    for chunk in chunks[:-1]:
        assert "usage" not in chunk and "finish_reason" not in chunk["choices"][0]  # live: no key at all
    last = chunks[-1]
    assert last["choices"][0]["finish_reason"] == "stop"
    assert set(last["usage"]) >= {"prompt_tokens", "completion_tokens", "total_tokens", "completion_tokens_details"}
    kinds = ["reasoning" if c["choices"][0]["delta"].get("reasoning_content") else "text" for c in chunks[:-1]]
    assert kinds == sorted(kinds)  # "reasoning" < "text": all reasoning streams before the answer
    assert {c["id"] for c in chunks} == {chunks[0]["id"]} and all(c["model"] == "glm-4.7" for c in chunks)


def test_tool_stream_sends_argument_fragments_that_join_per_index(http: httpx.Client) -> None:
    body = chat(messages=[{"role": "user", "content": "Paris [emulator:tools=get_weather]"}], stream=True)
    body.update(tools=[WEATHER], tool_stream=True)
    with http.stream("POST", "/chat/completions", json=body) as response:
        chunks = [json.loads(p) for p in sse(response)[:-1]]
    calls = [tc for c in chunks for tc in c["choices"][0]["delta"].get("tool_calls") or []]
    assert len(calls) > 2  # the arguments arrive in fragments (§2.6)
    assert calls[0]["id"] and calls[0]["function"]["name"] == "get_weather"
    joined = "".join(tc["function"].get("arguments", "") for tc in calls if tc["index"] == 0)
    assert "city" in json.loads(joined)
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_the_web_search_tool_puts_its_results_at_the_top_level(http: httpx.Client) -> None:
    tool = {"type": "web_search", "web_search": {"enable": True, "search_result": True, "count": 3}}
    body = http.post("/chat/completions", json=chat(tools=[tool])).json()
    assert len(body["web_search"]) == 3  # §2.3: only when the tool ran
    fields = {"title", "content", "link", "media", "icon", "refer", "publish_date"}
    assert all(set(hit) == fields and all(isinstance(v, str) for v in hit.values()) for hit in body["web_search"])
    quiet = {"type": "web_search", "web_search": {"enable": True}}  # search_result defaults to false
    assert "web_search" not in http.post("/chat/completions", json=chat(tools=[quiet])).json()
    off = {"type": "web_search", "web_search": {"search_result": True}}  # enable defaults to false
    assert "web_search" not in http.post("/chat/completions", json=chat(tools=[off])).json()
    started = http.post("/async/chat/completions", json=chat(tools=[tool])).json()
    assert len(http.get(f"/async-result/{started['id']}").json()["web_search"]) == 3


@pytest.mark.parametrize(
    "options", [{"count": 51}, {"count": "3"}, {"search_recency_filter": "oneHour"}, {"content_size": "huge"}]
)
def test_bad_web_search_options_are_1214(http: httpx.Client, options: dict[str, Any]) -> None:
    tool = {"type": "web_search", "web_search": {"enable": True, **options}}
    assert error_of(http.post("/chat/completions", json=chat(tools=[tool])))[:2] == (400, "1214")


@pytest.mark.parametrize(
    ("fault", "tail", "done"),
    [
        ("kind=stream_error,after=2", {"error": {"code": "1234"}}, False),  # §2.6: data: {"error": ...}
        ("kind=cut,after=2", None, False),
        ("kind=finish,reason=network_error", "network_error", True),  # §2.6: reported via finish_reason
        ("kind=finish,reason=sensitive", "sensitive", True),
    ],
)
def test_stream_faults(http: httpx.Client, fault: str, tail: Any, done: bool) -> None:
    headers = {"X-Emulator-Fault": fault}
    with http.stream("POST", "/chat/completions", json=chat(stream=True), headers=headers) as response:
        payloads = sse(response)
    assert (payloads[-1] == "[DONE]") is done
    if isinstance(tail, dict):
        assert json.loads(payloads[-1])["error"]["code"] == "1234"
    elif tail is not None:
        assert json.loads(payloads[-2])["choices"][0]["finish_reason"] == tail
    else:
        assert len(payloads) == 2


@pytest.mark.parametrize(
    ("header", "status", "code"),
    [("code=1302,retry_after=1", 429, "1302"), ("code=1311", 429, "1311"), ("status=503", 503, "503")],
)
def test_status_faults_use_the_codes_status(http: httpx.Client, header: str, status: int, code: str) -> None:
    response = http.post("/chat/completions", json=chat(), headers={"X-Emulator-Fault": header})
    assert error_of(response)[:2] == (status, code)
    assert ("retry_after" in header) is ("retry-after" in response.headers)


@pytest.mark.parametrize("header", ["kind=explode", "code=9999", "status=abc", "{not json"])
def test_an_unreadable_fault_header_is_refused_not_ignored(http: httpx.Client, header: str) -> None:
    status, code, message = error_of(http.post("/chat/completions", json=chat(), headers={"X-Emulator-Fault": header}))
    assert (status, code) == (400, "1214") and "X-Emulator-Fault" in message


def test_an_unknown_code_with_a_status_is_sent_as_given(http: httpx.Client) -> None:
    response = http.post("/chat/completions", json=chat(), headers={"X-Emulator-Fault": "status=429,code=1315"})
    assert error_of(response)[:2] == (429, "1315")


@pytest.mark.anyio
async def test_concurrency_beyond_the_limit_is_429_1302_until_a_slot_frees() -> None:
    from glmkit.testing import AsyncEmulatorTransport

    app = create_app(EmulatorConfig(max_concurrency=1, chunk_delay=0.05))
    headers = {"Authorization": f"Bearer {TEST_KEY}"}
    async with httpx.AsyncClient(transport=AsyncEmulatorTransport(app), base_url=GENERAL, headers=headers) as c:
        slow = {"X-Emulator-Chunks": "200"}
        async with c.stream("POST", "/chat/completions", json=chat(stream=True), headers=slow) as first:
            assert first.status_code == 200
            busy = await c.post("/chat/completions", json=chat())
            assert error_of(busy)[:2] == (429, "1302")  # §14.1: over the tier's concurrency
            other_model = await c.post("/chat/completions", json=chat("glm-5.3"))
            assert other_model.status_code == 200  # the limit counts per model
        assert (await c.post("/chat/completions", json=chat())).status_code == 200  # closed: the slot is back


def test_async_chat_is_processing_then_success_on_the_emulators_clock() -> None:
    now = [1_000.0]
    app = create_app(EmulatorConfig(job_seconds=2.0), clock=lambda: now[0])
    with http_client(app) as c:
        started = c.post("/async/chat/completions", json=chat(stream=True, request_id="async-0001")).json()
        assert set(started) == {"id", "request_id", "model", "task_status"}  # §2.7
        assert started["task_status"] == "PROCESSING" and started["request_id"] == "async-0001"
        assert c.get(f"/async-result/{started['id']}").json()["task_status"] == "PROCESSING"
        now[0] += 2.5
        done = c.get(f"/async-result/{started['id']}").json()
        assert done["task_status"] == "SUCCESS" and done["model"] == "glm-4.7"
        assert done["choices"][0]["message"]["content"] and done["usage"]["total_tokens"] > 0
        assert error_of(c.get("/async-result/nope"))[:2] == (404, "1222")  # §13.2: task not found is 404


def test_the_openai_package_reads_plain_and_streamed_answers_and_the_1302(app: Starlette) -> None:
    http_client_ = httpx.Client(transport=EmulatorTransport(app))
    client = openai.OpenAI(api_key=TEST_KEY, base_url=GENERAL, http_client=http_client_, max_retries=0)
    plain = client.chat.completions.create(model="glm-5.3", messages=[{"role": "user", "content": "hi"}])
    assert plain.choices[0].message.content and plain.usage is not None and plain.usage.total_tokens > 0
    stream = client.chat.completions.create(model="glm-5.3", messages=[{"role": "user", "content": "hi"}], stream=True)
    chunks = list(stream)
    assert chunks[-1].usage is not None and chunks[-1].choices[0].finish_reason == "stop"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == plain.choices[0].message.content
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(
            model="glm-5.3",
            messages=[{"role": "user", "content": "hi"}],
            extra_headers={"X-Emulator-Fault": "code=1302"},
        )
    assert caught.value.status_code == 429 and caught.value.body["code"] == "1302"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model="glm-9", messages=[{"role": "user", "content": "hi"}])
    assert bad.value.body["code"] == "1211"  # type: ignore[index]
    http_client_.close()


def test_an_unknown_path_is_404_1222_in_the_error_shape(http: httpx.Client) -> None:
    assert error_of(http.get("/no/such/api"))[:2] == (404, "1222")  # §13.3 / §13.2
    assert error_of(http.post("/chat/completion", json=chat()))[:2] == (404, "1222")


@pytest.mark.anyio
async def test_a_stream_whose_client_left_before_the_first_byte_gives_its_slot_back() -> None:
    app = create_app(EmulatorConfig(max_concurrency=1))
    body = json.dumps(chat(stream=True)).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},  # spec 2.0: Starlette listens for the disconnect while streaming
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/paas/v4/chat/completions",
        "raw_path": b"/api/paas/v4/chat/completions",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"authorization", f"Bearer {TEST_KEY}".encode()), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("emulator.invalid", 80),
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        return None

    await app(scope, receive, send)
    assert app.state.emulator.in_flight.get("glm-4.7", 0) == 0
