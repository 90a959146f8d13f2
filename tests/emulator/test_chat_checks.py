"""Which business code and HTTP status each bad chat request gets (reference §2.1-§2.3, §13.3, §17)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from emulator_http import USER, chat, error_of, http_client
from starlette.applications import Starlette

from glmkit.emulator import EmulatorConfig, create_app

IMAGE = {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
VIDEO = {"type": "video_url", "video_url": {"url": "https://example.com/a.mp4"}}
FILE = {"type": "file_url", "file_url": {"url": "https://example.com/a.pdf"}}
TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}


def parts(*items: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"type": "text", "text": "look"}, *items]}]


BAD = [
    # (body, code, words in the message): every one is HTTP 400
    ({"messages": USER}, "1213", "model"),
    ({"model": "", "messages": USER}, "1213", "model"),
    ({"model": 47, "messages": USER}, "1214", "model"),
    (chat("glm-9"), "1211", "glm-9"),
    (chat("glm-5.3[1m]"), "1211", "glm-5.3[1m]"),  # §17: a leaked [1m] suffix is an unknown model
    (chat("glm-ocr"), "1211", "glm-ocr"),
    ({"model": "glm-4.7"}, "1213", "messages"),
    (chat(messages=[]), "1214", "Input cannot be empty"),
    (chat(messages=[{"role": "robot", "content": "x"}]), "1214", "role"),
    (chat(messages=[{"role": "system", "content": "x"}]), "1214", "messages parameter is illegal"),
    (chat(messages=[{"role": "user", "content": ""}]), "1213", "prompt"),  # §17
    (chat(messages=[{"role": "user", "content": 5}]), "1214", "content"),
    (chat(messages=[{"role": "user", "content": [{"type": "audio_url"}]}]), "1214", "content[0].type"),
    (chat(messages=[*USER, {"role": "tool", "content": "42"}]), "1213", "tool_call_id"),
    (
        chat(
            messages=[
                *USER,
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}],
                },
                {"role": "tool", "tool_call_id": "c", "content": "1"},
            ]
        ),
        "1214",
        "JSON string",
    ),
    (chat("glm-4.7", parts(IMAGE)), "1210", "messages.content.type"),  # §2.2 / §17: text models refuse images
    (chat("autoglm-phone-multilingual", parts(VIDEO)), "1210", "messages.content.type"),  # text and image only
    (chat("glm-4.6v", parts(FILE, IMAGE)), "1214", "mixed"),  # §2.2: file_url never with image/video parts
    (chat("glm-4.5v", parts(VIDEO, VIDEO)), "1214", "at most 1 video_url"),  # §2.2: one video for GLM-4.5V
    (chat("glm-4.5v", parts(*[IMAGE] * 51)), "1214", "at most 50 image_url"),
    (chat(max_tokens=0), "1214", "max_tokens"),
    (chat("glm-4.6v", max_tokens=32769), "1214", "[1, 32768]"),  # §3.2
    (chat("glm-5.3", max_tokens=131073), "1214", "[1, 131072]"),
    (chat(max_tokens=True), "1214", "max_tokens"),
    (chat(temperature=1.5), "1214", "temperature"),
    (chat(temperature=True), "1214", "temperature"),
    (chat(top_p=0.0), "1214", "top_p"),
    (chat(stop=["a", "b"]), "1214", "stop"),  # §2.1: maxItems 1
    (chat(stop=[1]), "1214", "stop"),
    (chat(stream="yes"), "1214", "stream"),
    (chat(thinking={"type": "auto"}), "1214", "thinking"),
    (chat(thinking="enabled"), "1214", "thinking"),
    (chat(thinking={"type": "enabled", "clear_thinking": "no"}), "1214", "clear_thinking"),
    (chat("glm-5.3", thinking={"type": "disabled"}), "1210", "low, high or max"),  # §17 (general endpoint)
    (chat("glm-5.3", reasoning_effort="minimal"), "1214", "low, high, max"),  # §2.1: GLM-5.3 takes low/high/max
    (chat("glm-5.2", reasoning_effort="extreme"), "1214", "reasoning_effort"),
    (chat(tools=[TOOL] * 129), "1214", "128"),
    (chat(tools=[{"type": "code_interpreter"}]), "1214", "tools[0].type"),
    (chat(tools=[{"type": "function"}]), "1213", "tools[0].function"),
    (chat(tools=[{"type": "function", "function": {"name": "get weather"}}]), "1214", "name"),  # §2.3 pattern
    (chat(tools=[{"type": "function", "function": {"name": "x" * 65}}]), "1214", "name"),
    (chat(tools=[{"type": "function", "function": {"name": "f", "parameters": "{}"}}]), "1214", "parameters"),
    (chat(tools=[{"type": "retrieval", "retrieval": {}}]), "1213", "knowledge_id"),
    (chat(user_id="abc"), "1214", "user_id"),  # §2.1: 6-128 characters
    (chat(user_id="u" * 129), "1214", "user_id"),
    (chat(request_id=12), "1214", "request_id"),
    (chat("glm-4.5v", [{"role": "user", "content": "word " * 70000}]), "1261", "exceeds"),  # 64K context
]


@pytest.mark.parametrize(("body", "code", "words"), BAD)
def test_a_bad_chat_request_gets_the_references_code(
    http: httpx.Client, body: dict[str, Any], code: str, words: str
) -> None:
    status, got, message = error_of(http.post("/chat/completions", json=body))
    assert (status, got) == (400, code), message
    assert words in message


@pytest.mark.parametrize(("body", "code", "words"), BAD[:12])
def test_async_chat_checks_the_same_way(http: httpx.Client, body: dict[str, Any], code: str, words: str) -> None:
    status, got, message = error_of(http.post("/async/chat/completions", json=body))
    assert (status, got) == (400, code) and words in message


@pytest.mark.parametrize(("raw", "code"), [(b"", "1213"), (b"{not json", "1210"), (b"[1, 2]", "1210")])
def test_an_unreadable_body_is_1213_or_1210(http: httpx.Client, raw: bytes, code: str) -> None:
    response = http.post("/chat/completions", content=raw, headers={"Content-Type": "application/json"})
    assert error_of(response)[:2] == (400, code)


@pytest.mark.parametrize(
    "body",
    [
        chat("GLM-4.7"),  # §14.6: Cursor must send the upper-case id, and it works
        chat("glm-4.6v", parts(*[IMAGE] * 150)),  # §2.2: 150 images for GLM-4.6V
        chat("glm-4.6v", parts(VIDEO, VIDEO)),
        chat("glm-5.3-flash", parts(FILE)),
        chat("glm-5.3", reasoning_effort="low"),
        chat("glm-4.7", reasoning_effort="none"),  # reference silent before GLM-5.2: ignored, not refused
        chat(stop=["\n\n"], temperature=0.0, top_p=1.0, user_id="user-0001", tool_choice="auto"),
        chat(response_format={"type": "json_schema", "json_schema": {}}),  # §2.1: reported ignored
        chat(tools=[{"type": "web_search", "web_search": {"enable": True}}]),
        chat(
            messages=[
                *USER,
                {"role": "assistant", "content": None, "tool_calls": [{"id": "w", "type": "web_search"}]},
                {"role": "tool", "tool_call_id": "w", "content": "[]"},
            ]
        ),
    ],
)
def test_a_good_chat_request_is_answered(http: httpx.Client, body: dict[str, Any]) -> None:
    response = http.post("/chat/completions", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["model"] == body["model"].lower()


def test_glm_5_3_thinking_disabled_is_accepted_on_the_coding_endpoint_and_still_thinks(coding: httpx.Client) -> None:
    body = chat("glm-5.3", thinking={"type": "disabled"})
    message = coding.post("/chat/completions", json=body).json()["choices"][0]["message"]
    assert message["reasoning_content"]  # §17: the coding endpoint accepts it and still thinks


@pytest.mark.parametrize(
    ("model", "fields", "thinks"),
    [
        ("glm-5.3", {"reasoning_effort": "low"}, True),  # always thinks
        ("glm-5.2", {"reasoning_effort": "none"}, False),  # §2.5: none/minimal skip thinking on GLM-5.2
        ("glm-4.7", {"reasoning_effort": "none"}, True),  # no efforts before 5.2: the field changes nothing
        ("glm-4.7", {"thinking": {"type": "disabled"}}, False),
        ("glm-4-32b-0414-128k", {}, False),
    ],
)
def test_who_thinks(http: httpx.Client, model: str, fields: dict[str, Any], thinks: bool) -> None:
    message = http.post("/chat/completions", json=chat(model, **fields)).json()["choices"][0]["message"]
    assert bool(message.get("reasoning_content")) is thinks


def test_a_reused_request_id_is_1231(http: httpx.Client) -> None:
    first = http.post("/chat/completions", json=chat(request_id="req-000001"))
    assert first.status_code == 200 and first.json()["request_id"] == "req-000001"
    assert error_of(http.post("/chat/completions", json=chat(request_id="req-000001")))[:2] == (400, "1231")
    assert http.post("/chat/completions", json=chat(request_id="req-000002")).status_code == 200


def test_a_plan_only_key_gets_1113_on_general_chat_and_is_served_on_coding() -> None:
    app: Starlette = create_app(EmulatorConfig())
    key = "0123456789abcdef0123456789abcdef.planonly00000001"
    with http_client(app, key) as general:
        status, code, _ = error_of(general.post("/chat/completions", json=chat()))
        assert (status, code) == (429, "1113")  # §1.1: a plan key on the general base with no balance
        assert error_of(general.post("/async/chat/completions", json=chat()))[:2] == (429, "1113")
    with http_client(app, key, base="http://emulator.invalid/api/coding/paas/v4") as coding:
        assert coding.post("/chat/completions", json=chat()).status_code == 200
    assert [r.get("status") for r in app.state.emulator.requests] == [429, 429, None]
