"""``POST /tokenizer`` (reference §9): the documented models, the vision message schema, the id lengths."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from emulator_http import USER, error_of

TOOL = {"type": "function", "function": {"name": "lookup", "description": "Look a word up in the dictionary"}}
IMAGE = {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
VIDEO = {"type": "video_url", "video_url": {"url": "https://example.com/a.mp4"}}


def count(http: httpx.Client, **body: Any) -> httpx.Response:
    return http.post("/tokenizer", json={"model": "glm-4.6", "messages": USER, **body})


def test_the_answer_has_the_documented_shape(http: httpx.Client) -> None:
    body = count(http, request_id="tok-000001").json()
    assert set(body) == {"id", "created", "request_id", "usage"} and body["request_id"] == "tok-000001"
    usage = body["usage"]
    assert set(usage) == {"prompt_tokens", "image_tokens", "video_tokens", "total_tokens"}
    assert usage["total_tokens"] == usage["prompt_tokens"] > 0


def test_it_agrees_with_the_chat_usage(http: httpx.Client) -> None:
    messages = [{"role": "user", "content": [{"type": "text", "text": "What is in these?"}, IMAGE, VIDEO]}]
    usage = count(http, model="glm-4.6v", messages=messages).json()["usage"]
    chat = http.post("/chat/completions", json={"model": "glm-4.6v", "messages": messages}).json()["usage"]
    assert usage["total_tokens"] == chat["prompt_tokens"]
    assert usage["image_tokens"] > 0 and usage["video_tokens"] > 0
    assert 0 < usage["prompt_tokens"] == usage["total_tokens"] - usage["image_tokens"] - usage["video_tokens"]


def test_tools_count(http: httpx.Client) -> None:
    plain = count(http).json()["usage"]["total_tokens"]
    assert count(http, tools=[TOOL]).json()["usage"]["total_tokens"] > plain


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"model": None}, "1213"),
        ({"model": "glm-5.3"}, "1211"),  # reference silent on newer ids: only the documented enum
        ({"messages": None}, "1213"),
        ({"messages": []}, "1214"),
        ({"messages": [{"role": "user", "content": [{"type": "audio"}]}]}, "1214"),
        ({"tools": [TOOL] * 129}, "1214"),
        ({"request_id": "abc"}, "1214"),  # 6-64 characters
        ({"request_id": "r" * 65}, "1214"),
        ({"user_id": "u" * 129}, "1214"),  # 6-128 characters
    ],
)
def test_bad_input_is_a_400_with_the_references_code(http: httpx.Client, body: dict[str, Any], code: str) -> None:
    assert error_of(count(http, **body))[:2] == (400, code)


@pytest.mark.parametrize("model", ["glm-4.6", "glm-4.6v", "glm-4.5"])
def test_each_documented_model_counts(http: httpx.Client, model: str) -> None:
    assert count(http, model=model).status_code == 200
