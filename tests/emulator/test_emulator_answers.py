"""What the emulator answers, point by point against the live API (live evidence §1): tool_choice, max_tokens with
reasoning, prompt caching, GET /models/{id}, search links, the monitor's hourly usage."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest
from emulator_http import CODING, chat, http_client
from starlette.applications import Starlette

from glmkit.emulator import EmulatorConfig, create_app
from glmkit.testing import TEST_KEY, EmulatorTransport


def tool(name: str) -> dict[str, Any]:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    return {"type": "function", "function": {"name": name, "description": name, "parameters": schema}}


TOOLS = [tool("add"), tool("multiply"), tool("divide")]
ASK = [{"role": "user", "content": "Add and multiply 2 and 3 [emulator:tools=add,multiply]"}]


def test_a_forced_tool_choice_calls_exactly_that_tool(http: httpx.Client) -> None:
    forced = {"type": "function", "function": {"name": "divide"}}
    for stream in (False, True):
        body = chat(messages=ASK, tools=TOOLS, tool_choice=forced, stream=stream)
        with http.stream("POST", "/chat/completions", json=body) as r:
            raw = r.read().decode()
        if stream:
            chunks = [json.loads(line[6:]) for line in raw.split("\n") if line.startswith("data: {")]
            calls = [c for ch in chunks for c in ch["choices"][0]["delta"].get("tool_calls") or []]
            finish = chunks[-1]["choices"][0]["finish_reason"]
        else:
            choice = json.loads(raw)["choices"][0]
            calls, finish = choice["message"]["tool_calls"], choice["finish_reason"]
        assert [c["function"]["name"] for c in calls] == ["divide"] and finish == "tool_calls"


def test_tool_choice_none_answers_in_text(http: httpx.Client) -> None:
    choice = http.post("/chat/completions", json=chat(messages=ASK, tools=TOOLS, tool_choice="none")).json()["choices"][
        0
    ]
    assert choice["finish_reason"] == "stop" and "tool_calls" not in choice["message"]
    assert choice["message"]["content"]


def test_anthropic_forced_tool_is_the_only_tool_used() -> None:
    with http_client(create_app(EmulatorConfig()), base="http://emulator.invalid/api/anthropic") as http:
        tools = [{"name": t["function"]["name"], "input_schema": t["function"]["parameters"]} for t in TOOLS]
        body = {"model": "glm-4.7", "max_tokens": 500, "messages": ASK, "tools": tools}
        forced = http.post("/v1/messages", json={**body, "tool_choice": {"type": "tool", "name": "divide"}}).json()
        none = http.post("/v1/messages", json={**body, "tool_choice": {"type": "none"}}).json()
    assert [b["name"] for b in forced["content"] if b["type"] == "tool_use"] == ["divide"]
    assert none["stop_reason"] == "end_turn" and all(b["type"] != "tool_use" for b in none["content"])


@pytest.mark.parametrize("max_tokens", [3, 12, 30])
def test_max_tokens_counts_reasoning_and_a_cut_answer_has_no_tool_calls(http: httpx.Client, max_tokens: int) -> None:
    """Thinking tokens count against max_tokens (reference §14.2): a truncated answer ends with "length", its
    counts add up, and a tool call cut short is no call."""
    for tools in (None, TOOLS):
        fields: dict[str, Any] = {"max_tokens": max_tokens}
        if tools:
            fields["tools"] = tools
        for stream in (False, True):
            with http.stream("POST", "/chat/completions", json=chat(messages=ASK, stream=stream, **fields)) as r:
                raw = r.read().decode()
            if stream:
                chunks = [json.loads(line[6:]) for line in raw.split("\n") if line.startswith("data: {")]
                finish, usage = chunks[-1]["choices"][0]["finish_reason"], chunks[-1]["usage"]
                deltas = [ch["choices"][0]["delta"] for ch in chunks[:-1]]
                calls = [c for d in deltas for c in d.get("tool_calls") or []]
            else:
                body = json.loads(raw)
                finish, usage = body["choices"][0]["finish_reason"], body["usage"]
                calls = body["choices"][0]["message"].get("tool_calls") or []
            reasoning = usage["completion_tokens_details"]["reasoning_tokens"]
            assert finish == "length" and calls == []
            assert usage["completion_tokens"] == max_tokens and reasoning <= max_tokens
            assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_an_answer_that_fits_is_not_cut(http: httpx.Client) -> None:
    body = http.post("/chat/completions", json=chat(messages=ASK, tools=TOOLS, max_tokens=4000)).json()
    assert body["choices"][0]["finish_reason"] == "tool_calls"
    assert [c["index"] for c in body["choices"][0]["message"]["tool_calls"]] == [0, 1]


def test_a_repeated_prefix_reports_cached_tokens(http: httpx.Client) -> None:
    """Live (fantasy cassettes 2026-03-13): the same prompt again reports all but one token cached; the next turn
    reports the whole previous prompt cached. Another model or other leading messages share nothing."""
    system = {"role": "system", "content": "You are a careful reviewer of Python code."}
    first = [system, {"role": "user", "content": "Review this function"}]

    def usage(model: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
        return http.post("/chat/completions", json=chat(model, messages=messages)).json()["usage"]

    u1 = usage("glm-4.7", first)
    assert u1["prompt_tokens_details"]["cached_tokens"] == 0
    u2 = usage("glm-4.7", first)
    assert u2["prompt_tokens_details"]["cached_tokens"] == u2["prompt_tokens"] - 1
    turn = [*first, {"role": "assistant", "content": "It looks fine."}, {"role": "user", "content": "And the tests?"}]
    u3 = usage("glm-4.7", turn)
    assert u3["prompt_tokens_details"]["cached_tokens"] == u1["prompt_tokens"]
    assert usage("glm-4.6", first)["prompt_tokens_details"]["cached_tokens"] == 0
    other = [{"role": "system", "content": "Be terse."}, first[1]]
    assert usage("glm-4.7", other)["prompt_tokens_details"]["cached_tokens"] == 0


def test_models_retrieve_with_the_openai_client(app: Starlette) -> None:
    client = openai.OpenAI(
        api_key=TEST_KEY, base_url=CODING, http_client=httpx.Client(transport=EmulatorTransport(app))
    )
    model = client.models.retrieve("glm-5.3")
    assert (model.id, model.object) == ("glm-5.3", "model")
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")


@pytest.mark.parametrize("query", ["weather in paris?", "C++ vs Rust: which & why", "50% off / today", "天气"])
def test_search_links_are_built_from_a_slug(http: httpx.Client, query: str) -> None:
    hits = http.post("/web_search", json={"search_engine": "search-prime", "search_query": query}).json()
    for hit in hits["search_result"]:
        rest = hit["link"].split("://", 1)[1]  # host and path: no query string, no spaces, no raw query text
        assert all(ch.isascii() and (ch.isalnum() or ch in "-/.") for ch in rest), hit["link"]


def test_model_usage_hours_add_up_to_the_totals(app: Starlette, coding: httpx.Client) -> None:
    for model in ("glm-4.7", "glm-5.3", "glm-4.7"):
        coding.post("/chat/completions", json=chat(model)).raise_for_status()
    with httpx.Client(transport=EmulatorTransport(app), base_url="http://emulator.invalid/api") as http:
        data = http.get("/monitor/usage/model-usage", headers={"Authorization": TEST_KEY}).json()["data"]
    total = data["totalUsage"]
    assert len(data["x_time"]) == len(data["modelCallCount"]) == len(data["tokensUsage"]) > 0
    assert total["totalModelCallCount"] == sum(n or 0 for n in data["modelCallCount"]) == 3
    assert total["totalTokensUsage"] == sum(n or 0 for n in data["tokensUsage"]) > 0
    assert {m["modelName"] for m in total["modelSummaryList"]} == {"glm-4.7", "glm-5.3"}
    assert sum(m["totalTokens"] for m in total["modelSummaryList"]) == total["totalTokensUsage"]
