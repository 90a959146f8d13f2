"""The gateway keeps a coding session going (issue 19), through the official `anthropic` and `openai` clients against
`glm serve` and `glm emulate` as real processes: request shapes Z.AI refuses are repaired (and noted in the ledger)
or refused with a 400 naming the message and the fix, before anything is sent."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from glmkit.testing import TEST_KEY
from tests.gateway.conftest import Serve, serve_process

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]


@pytest.fixture(scope="module")
def gw(emulate_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    """`glm serve` (translate mode) in front of `glm emulate`, for the OpenAI route."""
    with serve_process(emulate_url, tmp_path_factory.mktemp("session-home"), "translate") as s:
        yield s


def rows(home: Path) -> list[dict[str, Any]]:
    """The serve process's ledger rows on disk now."""
    from glmkit.ledger import Ledger

    if not (home / "glmkit.db").exists():
        return []
    ledger = Ledger(home / "glmkit.db")
    try:
        return ledger.requests()
    finally:
        ledger.close()


def notes_with(home: Path, start: str) -> list[str]:
    """The notes of the ledger row that has a note beginning with ``start`` (waiting for the row to be written)."""
    deadline = time.monotonic() + 10
    while True:
        for row in reversed(rows(home)):
            if any(n.startswith(start) for n in row["notes"] or []):
                return list(row["notes"])
        assert time.monotonic() < deadline, f"no ledger row noted {start!r}"
        time.sleep(0.05)


def upstream_count(serve: Serve) -> int:
    return int(httpx.get(f"{serve.emulator}/_emulator/requests", timeout=5).json()["count"])


def openai_client(base: str, **kw: Any):  # type: ignore[no-untyped-def]
    import openai

    return openai.OpenAI(base_url=base, api_key=TEST_KEY, max_retries=0, **kw)


CALL = {"type": "function", "function": {"name": "read_file", "arguments": '{"path": "a.py"}'}}
READ = {
    "type": "function",
    "function": {
        "name": "read_file",
        "description": "Read a file.",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
    },
}
# A session as agents leave it: a screenshot message injected between the tool calls and their results (with an
# empty text part), one call never answered, and a stale result whose call was trimmed away.
BROKEN = [
    {"role": "system", "content": "You are a coding agent."},
    {"role": "user", "content": "read a.py and b.py"},
    {"role": "assistant", "content": "", "tool_calls": [{"id": "call_a", **CALL}, {"id": "call_b", **CALL}]},
    {
        "role": "user",
        "content": [{"type": "text", "text": "(the user pasted this meanwhile)"}, {"type": "text", "text": ""}],
    },
    {"role": "tool", "tool_call_id": "call_a", "content": "print('a')"},
    {"role": "tool", "tool_call_id": "call_gone", "content": "a result from before the history was trimmed"},
    {"role": "user", "content": "go on"},
]


def test_a_session_z_ai_would_refuse_goes_on_through_the_openai_route(gw: Serve) -> None:
    import openai

    direct = openai_client(f"{gw.emulator}/api/coding/paas/v4")
    with pytest.raises(openai.BadRequestError) as refused:  # what the agent gets from Z.AI itself: the session dies
        direct.chat.completions.create(model="glm-5.3", messages=BROKEN, tools=[READ])  # type: ignore[arg-type]
    assert refused.value.status_code == 400 and refused.value.body["code"] in ("1213", "1214")  # type: ignore[index]

    reply = openai_client(f"{gw.url}/v1").chat.completions.create(
        model="glm-5.3",
        messages=BROKEN,  # type: ignore[arg-type]
        tools=[READ],  # type: ignore[list-item]
        max_tokens=500_000,
        temperature=1.5,
    )
    assert reply.choices[0].message.content or reply.choices[0].message.tool_calls
    notes = notes_with(gw.home, "messages[3].content[1]")
    assert "messages[3].content[1]: empty text part dropped" in notes
    assert "messages[3]: moved after the tool results of messages[2]" in notes
    assert any(n.startswith("messages[5]: tool result without its call") for n in notes)
    assert "messages[2]: call call_b had no result; sent as interrupted" in notes
    assert "max_tokens: 500000 lowered to glm-5.3's maximum 131072" in notes
    assert "temperature: 1.5 clamped to 1 (Z.AI takes [0, 1])" in notes


def test_streamed_request_is_repaired_too_and_media_for_a_text_model_go_to_the_vision_model(gw: Serve) -> None:
    image = {"type": "image_url", "image_url": {"url": "https://example.com/screenshot.png"}}
    client = openai_client(f"{gw.url}/v1")
    stream = client.chat.completions.create(
        model="glm-4.7",
        messages=[{"role": "user", "content": [{"type": "text", "text": "what is on screen?"}, image]}],  # type: ignore[list-item]
        stream=True,
    )
    chunks = list(stream)
    assert {c.model for c in chunks} == {"glm-4.6v"}  # GLM-4.7 reads text only: Z.AI answers 1210
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert notes_with(gw.home, "model: glm-4.7") == ["model: glm-4.7 reads text only; sent to glm-4.6v for the image"]


def test_a_shape_that_cannot_be_repaired_is_refused_before_anything_is_sent(gw: Serve) -> None:
    import openai

    client = openai_client(f"{gw.url}/v1")
    before = upstream_count(gw)
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="glm-5.3", messages=[{"role": "assistant", "content": "Hello."}])
    assert refused.value.status_code == 400
    assert refused.value.body["code"] == "1214"  # type: ignore[index]
    assert "no user message" in refused.value.message and "add a user message" in refused.value.message
    with pytest.raises(openai.BadRequestError) as bad_tool:
        bad = {"type": "function", "function": {"name": "read file", "parameters": {"type": "object"}}}
        client.chat.completions.create(model="glm-5.3", messages=[{"role": "user", "content": "hi"}], tools=[bad])  # type: ignore[list-item]
    assert "tools[0].function.name" in bad_tool.value.message and "rename the tool" in bad_tool.value.message
    assert upstream_count(gw) == before  # nothing reached Z.AI


def anthropic_client(base: str):  # type: ignore[no-untyped-def]
    import anthropic

    return anthropic.Anthropic(api_key=TEST_KEY, base_url=base, max_retries=0)


# An Anthropic session with an empty text block beside a tool result whose tool_use was compacted away.
ANTHROPIC_BROKEN = [
    {"role": "user", "content": "fix the bug"},
    {"role": "assistant", "content": [{"type": "text", "text": "Looking."}]},
    {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_gone", "content": "def f(): pass"},
            {"type": "text", "text": ""},
            {"type": "text", "text": "continue"},
        ],
    },
]


def test_an_anthropic_session_that_would_die_with_1213_goes_on(serve: Serve) -> None:
    import anthropic

    direct = anthropic_client(f"{serve.emulator}/api/anthropic")
    with pytest.raises(anthropic.BadRequestError):
        direct.messages.create(model="glm-5.3", max_tokens=200, messages=ANTHROPIC_BROKEN)  # type: ignore[arg-type]
    message = anthropic_client(serve.url).messages.create(
        model="claude-sonnet-4-5",
        max_tokens=200,
        messages=ANTHROPIC_BROKEN,  # type: ignore[arg-type]
    )
    assert message.stop_reason == "end_turn"
    notes = notes_with(serve.home, "messages[2]: tool result without its call")
    if serve.mode == "passthrough":
        assert "sent through translation (the repair is made on the chat form)" in notes


def test_an_empty_prompt_is_refused_with_its_index_and_fix(serve: Serve) -> None:
    import anthropic

    with pytest.raises(anthropic.BadRequestError) as refused:
        anthropic_client(serve.url).messages.create(
            model="claude-sonnet-4-5",
            max_tokens=200,
            messages=[{"role": "user", "content": [{"type": "text", "text": " "}]}],
        )
    assert refused.value.status_code == 400
    assert "messages[0]: the user message is empty" in refused.value.message
    assert "put the prompt in it" in refused.value.message
