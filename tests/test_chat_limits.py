"""One table of chat limits (``data/limits.toml`` ``[chat]``), three readers: a changed limit is checked by the SDK,
enforced by the emulator (over HTTP) and clamped to, or refused, by the gateway."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from glmkit import data
from glmkit._errors import InputError
from glmkit.emulator import EmulatorConfig, create_app
from glmkit.gateway.anthropic import to_chat
from glmkit.gateway.config import GatewayConfig
from glmkit.gateway.preflight import PreflightError, preflight
from glmkit.testing import TEST_KEY, offline_client

MSG = [{"role": "user", "content": "hi"}]
TOOL = {"type": "function", "function": {"name": "look", "parameters": {"type": "object"}}}


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A copy of ``limits.toml`` that every reader sees: change it in the test."""
    table = copy.deepcopy(data.load("limits"))
    real = data.load
    monkeypatch.setattr(data, "load", lambda name: table if name == "limits" else real(name))
    return table


@pytest.fixture
def app() -> Any:
    return create_app(EmulatorConfig(job_seconds=0.0))


def _sdk_refuses(app: Any, **params: Any) -> str:
    client = offline_client(app, sleep=lambda s: None)
    try:
        with pytest.raises(InputError) as info:
            client.chat.completions.create(model="glm-4.7", messages=MSG, **params)
    finally:
        client.close()
    return str(info.value)


def _emulator_answer(app: Any, **params: Any) -> tuple[int, str]:
    with TestClient(app, base_url="http://127.0.0.1:8741") as http:
        response = http.post(
            "/api/paas/v4/chat/completions",
            json={"model": "glm-4.7", "messages": MSG, **params},
            headers={"Authorization": f"Bearer {TEST_KEY}"},
        )
    return response.status_code, response.text


def _gateway(**fields: Any) -> dict[str, Any]:
    body = {"model": "glm-4.7", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}], **fields}
    return to_chat(body, GatewayConfig(ledger=False))[0]


def test_a_narrower_temperature_is_checked_enforced_and_clamped_to(limits: dict[str, Any], app: Any) -> None:
    limits["chat"]["temperature"] = [0.0, 0.5]
    assert "temperature must be a number from 0.0 to 0.5" in _sdk_refuses(app, temperature=0.7)
    status, text = _emulator_answer(app, temperature=0.7)
    assert status == 400 and "1214" in text and "[0.0, 0.5]" in text
    assert _emulator_answer(app, temperature=0.5)[0] == 200
    assert _gateway(temperature=0.7)["temperature"] == 0.5
    body = {"model": "glm-4.7", "messages": MSG, "temperature": 0.9}
    assert any("clamped to 0.5" in note for note in preflight(body)) and body["temperature"] == 0.5


def test_fewer_tools_and_shorter_names_are_refused_by_all_three(limits: dict[str, Any], app: Any) -> None:
    limits["chat"]["max_tools"] = 1
    limits["chat"]["tool_name_chars"] = 4
    assert "at most 1 tools" in _sdk_refuses(app, tools=[TOOL, TOOL])
    status, text = _emulator_answer(app, tools=[TOOL, TOOL])
    assert status == 400 and "at most 1 tools" in text
    with pytest.raises(PreflightError, match="at most 1 tools"):
        preflight({"model": "glm-4.7", "messages": MSG, "tools": [TOOL, TOOL]})

    named = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
    assert "1-4 characters" in _sdk_refuses(app, tools=[named])
    status, text = _emulator_answer(app, tools=[named])
    assert status == 400 and "1-4 characters" in text
    with pytest.raises(PreflightError, match="not 1-4 letters"):
        preflight({"model": "glm-4.7", "messages": MSG, "tools": [named]})
    assert _emulator_answer(app, tools=[TOOL])[0] == 200


def test_a_longer_minimum_user_id_is_refused_and_dropped(limits: dict[str, Any], app: Any) -> None:
    limits["ids"]["user_id_chars"] = [8, 128]
    assert "user_id must be 8 to 128 characters" in _sdk_refuses(app, user_id="user-01")
    status, text = _emulator_answer(app, user_id="user-01")
    assert status == 400 and "must be 8 to 128 characters" in text
    assert "user_id" not in _gateway(metadata={"user_id": "user-01"})
    assert _gateway(metadata={"user_id": "user-001"})["user_id"] == "user-001"


def test_the_fallback_max_tokens_is_the_tables(limits: dict[str, Any], app: Any) -> None:
    limits["chat"]["max_tokens"] = 1000
    client = offline_client(app, sleep=lambda s: None)
    with pytest.raises(InputError, match="from 1 to 1000 for glm-9"):
        client.chat.completions.create(model="glm-9", messages=MSG, max_tokens=1001)  # a model the catalog lacks
    client.close()


def test_more_stop_words_pass_everywhere_when_the_table_allows_them(limits: dict[str, Any], app: Any) -> None:
    stops = ["END", "STOP", "DONE"]
    assert "at most one stop word" in _sdk_refuses(app, stop=stops[:2])
    limits["chat"]["max_stop_words"] = 2
    assert "at most 2 stop words" in _sdk_refuses(app, stop=stops)
    status, text = _emulator_answer(app, stop=stops)
    assert status == 400 and "at most 2 stop words" in text
    assert _emulator_answer(app, stop=stops[:2])[0] == 200
    body = {"model": "glm-4.7", "messages": MSG, "stop": stops}
    assert any("takes 2 stop words" in note for note in preflight(body)) and body["stop"] == stops[:2]


def test_a_tool_name_ending_in_a_newline_is_refused_by_all_three(app: Any) -> None:
    named = {"type": "function", "function": {"name": "look\n", "parameters": {"type": "object"}}}
    assert "'look\\n'" in _sdk_refuses(app, tools=[named])
    status, text = _emulator_answer(app, tools=[named])
    assert status == 400 and "1214" in text
    with pytest.raises(PreflightError, match="not 1-64 letters"):
        preflight({"model": "glm-4.7", "messages": MSG, "tools": [named]})


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from("aZ09_-.é \n\tٳ"), max_size=70) | st.text(max_size=8))
def test_a_tool_name_is_taken_exactly_when_the_api_pattern_matches_it_whole(name: str) -> None:
    """The name rule, ``[a-zA-Z0-9_-]{1,64}``, matched against the whole name: a trailing newline, a letter outside
    ASCII or a digit of another script is refused; ``_`` or ``-`` alone is a name."""
    from glmkit.catalog import chat_limits

    limits = chat_limits()
    expected = re.fullmatch(rf"[a-zA-Z0-9_-]{{1,{limits.tool_name_chars}}}", name) is not None
    assert limits.tool_name_ok(name) is expected


@pytest.mark.parametrize("name", ["a" * 64, "_", "-", "get_weather-2", "A9"])
def test_names_the_api_takes(name: str) -> None:
    from glmkit.catalog import chat_limits

    assert chat_limits().tool_name_ok(name)


@pytest.mark.parametrize("name", ["", "a" * 65, "look\n", "naïve", "x٣", "a b", "a.b"])
def test_names_the_api_refuses(name: str) -> None:
    from glmkit.catalog import chat_limits

    assert not chat_limits().tool_name_ok(name)
