"""The emulator held to recorded live traffic (live evidence §1-§3): for each recorded exchange, the field set, value
types and event order of the live answer (our own shape fixtures, each citing its source and date) against what the
emulator sends for the same request. The per-surface counts are printed at the end of the run (``conftest.py``).

Fixtures: ``live/chat_coding_2026-03-13.json`` (the charmbracelet/fantasy cassettes of api.z.ai's coding base), and
below, the error bodies (live evidence §2), the Anthropic endpoint's usage (§2) and the plan monitor (§3).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from emulator_http import CODING, GENERAL, http_client

from glmkit.emulator import EmulatorConfig, create_app
from glmkit.testing import TEST_KEY, EmulatorTransport

LIVE = Path(__file__).parent / "live"
CHAT = json.loads((LIVE / "chat_coding_2026-03-13.json").read_text(encoding="utf-8"))["exchanges"]
PLAN_ONLY_KEY = "0123456789abcdef0123456789abcdef.planonly00000001"
CHECKED: dict[str, set[str]] = {}
"""Surface -> names of the recorded exchanges checked in this run (printed by conftest's terminal summary)."""


def checked(surface: str, name: str) -> None:
    CHECKED.setdefault(surface, set()).add(name)


# ---- shapes ----------------------------------------------------------------------------------------------------


def shape(value: Any) -> Any:
    """The shape of a JSON value, as the fixtures write it."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string"}[type(value)]


def differences(expected: Any, value: Any, where: str = "$") -> list[str]:
    """How ``value`` departs from the shape ``expected``: missing or extra fields, other types, list items."""
    if isinstance(expected, dict):
        if not isinstance(value, dict):
            return [f"{where}: an object expected, got {shape(value)}"]
        out = [f"{where}.{k}: missing" for k in expected if k not in value]
        out += [f"{where}.{k}: not in the live answer" for k in value if k not in expected]
        for k in expected.keys() & value.keys():
            out += differences(expected[k], value[k], f"{where}.{k}")
        return out
    if isinstance(expected, list):
        if not isinstance(value, list):
            return [f"{where}: a list expected, got {shape(value)}"]
        return [
            d
            for i, item in enumerate(value)
            for d in (differences(expected[0], item, f"{where}[{i}]") if expected else [])
        ]
    return [] if shape(value) == expected else [f"{where}: {expected} expected, got {shape(value)}"]


def kind(chunk: dict[str, Any]) -> str:
    """What a chat chunk carries: reasoning, content, tool_call, or final (finish_reason and usage)."""
    choice = chunk["choices"][0]
    if "finish_reason" in choice:
        return "final"
    delta = choice["delta"]
    return "tool_call" if "tool_calls" in delta else "reasoning" if "reasoning_content" in delta else "content"


def order_of(kinds: list[str]) -> list[str]:
    """Runs of the same kind collapsed; a content run right before the tool calls dropped (the live model says a
    sentence before its calls when tool_choice is auto, and none when a tool is forced: both are live behaviour)."""
    runs = [k for i, k in enumerate(kinds) if i == 0 or kinds[i - 1] != k]
    return [k for i, k in enumerate(runs) if not (k == "content" and runs[i + 1 : i + 2] == ["tool_call"])]


def sse_payloads(response: httpx.Response) -> list[str]:
    return [line[6:] for line in response.read().decode().split("\n") if line.startswith("data: ")]


# ---- chat on the coding base (fantasy cassettes, 2026-03-13) ----------------------------------------------------


@pytest.fixture(scope="module")
def coding() -> Iterator[httpx.Client]:
    """One emulator for the whole file, its coding surface (conversations build on earlier turns, as recorded)."""
    with http_client(create_app(EmulatorConfig(job_seconds=0.0)), base=CODING) as client:
        yield client


def _earlier_turn(exchange: dict[str, Any]) -> dict[str, Any] | None:
    source = exchange["source"].rsplit(", interaction ", 1)[0]
    number = int(exchange["source"].rsplit(" ", 1)[1])
    return next((e for e in CHAT if e["source"] == f"{source}, interaction {number - 1}"), None)


@pytest.mark.parametrize("exchange", CHAT, ids=[e["name"] for e in CHAT])
def test_chat_answers_have_the_recorded_shape(coding: httpx.Client, exchange: dict[str, Any]) -> None:
    earlier = _earlier_turn(exchange)
    if earlier is not None:  # the conversation's first turn, as the recording sent it before this one
        coding.post("/chat/completions", json={**earlier["request"], "stream": False}).raise_for_status()
    with coding.stream("POST", "/chat/completions", json=exchange["request"]) as response:
        assert response.status_code == exchange["status"], response.read()
        if "stream" in exchange:
            payloads = sse_payloads(response)
        else:
            body = json.loads(response.read())
    if "stream" in exchange:
        assert payloads[-1] == "[DONE]"
        chunks = [json.loads(p) for p in payloads[:-1]]
        assert order_of([kind(c) for c in chunks]) + ["[DONE]"] == order_of(exchange["stream"]["order"])
        for chunk in chunks:
            assert differences(exchange["stream"]["chunks"][kind(chunk)], chunk) == [], kind(chunk)
            assert chunk["object"] == "chat.completion.chunk"
        usage = chunks[-1]["usage"]
    else:
        assert differences(exchange["shape"], body) == []
        assert body["object"] == "chat.completion"
        for i, call in enumerate(body["choices"][0]["message"].get("tool_calls") or []):
            assert call["index"] == i
        usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    if earlier is not None:  # live: the next turn reports the whole previous prompt as cached (267 -> 173)
        assert 0 < usage["prompt_tokens_details"]["cached_tokens"] < usage["prompt_tokens"]
    checked("chat (coding base)", exchange["name"])


# ---- error bodies quoted from live answers (live evidence §2) ---------------------------------------------------

ERRORS = [
    {
        "name": "1302 on chat",
        "source": "kaitranntt/ccs#402",
        "base": CODING,
        "fault": "code=1302",
        "status": 429,
        "body": {
            "error": {
                "code": "1302",
                "message": "High concurrency usage of this API, please reduce concurrency or contact customer service "
                "to increase limits",
            }
        },
    },
    {
        "name": "1305 on the general base",
        "source": "NousResearch/hermes-agent#98111",
        "base": GENERAL,
        "fault": "code=1305",
        "status": 429,
        "body": {
            "error": {"code": "1305", "message": "The service may be temporarily overloaded, please try again later"}
        },
    },
    {
        "name": "1305 on the coding base",
        "source": "NousResearch/hermes-agent#93507",
        "base": CODING,
        "fault": "code=1305",
        "status": 429,
        "body": {
            "error": {"code": "1305", "message": "The service may be temporarily overloaded, please try again later"}
        },
    },
    {
        "name": "1113 for a plan-only key on the general base",
        "source": "vercel/ai#9290",
        "base": GENERAL,
        "key": PLAN_ONLY_KEY,
        "status": 429,
        "body": {"error": {"code": "1113", "message": "Insufficient balance or no resource package. Please recharge."}},
    },
    {
        "name": "1113 by the fault header (one text per code)",
        "source": "vercel/ai#9290",
        "base": GENERAL,
        "fault": "code=1113",
        "status": 429,
        "body": {"error": {"code": "1113", "message": "Insufficient balance or no resource package. Please recharge."}},
    },
]


@pytest.mark.parametrize("case", ERRORS, ids=[c["name"] for c in ERRORS])
def test_error_bodies_are_the_live_ones(case: dict[str, Any]) -> None:
    headers = {"X-Emulator-Fault": case["fault"]} if "fault" in case else {}
    with http_client(create_app(EmulatorConfig()), key=case.get("key", TEST_KEY), base=case["base"]) as http:
        r = http.post("/chat/completions", json=CHAT[0]["request"] | {"model": "glm-4.7"}, headers=headers)
    assert (r.status_code, r.json()) == (case["status"], case["body"])
    checked("errors", case["source"])  # one recorded body, however many ways the emulator is asked for it


def test_the_real_concurrency_limit_and_a_fault_say_the_same() -> None:
    """One text per code: the emulator's own 1302 (a request beyond --max-concurrency) is the fault's text."""
    app = create_app(EmulatorConfig(max_concurrency=1, chunk_delay=0.001))
    with http_client(app, base=CODING) as http:
        body = {"model": "glm-4.7", "messages": [{"role": "user", "content": "hi"}], "stream": True}
        with http.stream("POST", "/chat/completions", json=body) as held:
            second = http.post("/chat/completions", json=body)
            held.read()
    assert second.json() == ERRORS[0]["body"]


def test_anthropic_1113_has_the_bracketed_message_and_a_top_level_request_id() -> None:
    """zai-org/feedback#789 (2026-09-22): ``{"type": "error", "error": {"type": "rate_limit_error", "code": "1113",
    "message": "[1113][Insufficient balance or no resource package. Please recharge.][<request id>]"},
    "request_id": "..."}`` with HTTP 429."""
    with http_client(create_app(EmulatorConfig()), base="http://emulator.invalid/api/anthropic") as http:
        r = http.post(
            "/v1/messages",
            json={"model": "glm-4.7", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]},
            headers={"X-Emulator-Fault": "code=1113"},
        )
    body = r.json()
    assert r.status_code == 429 and set(body) == {"type", "error", "request_id"}
    assert body["type"] == "error" and set(body["error"]) == {"type", "code", "message"}
    assert (body["error"]["type"], body["error"]["code"]) == ("rate_limit_error", "1113")
    found = re.fullmatch(
        r"\[1113\]\[Insufficient balance or no resource package\. Please recharge\.\]\[(.+)\]", body["error"]["message"]
    )
    assert found is not None and found.group(1) == body["request_id"]
    checked("anthropic", "1113 error body")


def test_anthropic_count_tokens_is_a_404_in_the_anthropic_body() -> None:
    with http_client(create_app(EmulatorConfig()), base="http://emulator.invalid/api/anthropic") as http:
        r = http.post("/v1/messages/count_tokens", json={"model": "glm-4.7", "messages": []})
    body = r.json()
    assert r.status_code == 404 and body["type"] == "error" and body["error"]["type"] == "not_found_error"
    assert body["request_id"] and body["error"]["message"].endswith(f"[{body['request_id']}]")


# ---- the Anthropic endpoint's usage (live evidence §2, zai-org/GLM-5#139, 2026-09-01) ------------------------------


def test_anthropic_usage_is_zero_at_start_and_real_with_cache_reads_in_message_delta() -> None:
    body = {
        "model": "glm-4.7",
        "max_tokens": 400,
        "stream": True,
        "messages": [{"role": "user", "content": "Describe the repository layout"}],
    }
    usages = []
    with http_client(create_app(EmulatorConfig()), base="http://emulator.invalid/api/anthropic") as http:
        for _ in range(2):
            with http.stream("POST", "/v1/messages", json=body) as r:
                events = [json.loads(p) for p in sse_payloads(r)]
            start = next(e for e in events if e["type"] == "message_start")
            assert start["message"]["usage"] == {"input_tokens": 0, "output_tokens": 0}
            delta = next(e for e in events if e["type"] == "message_delta")
            assert {"input_tokens", "output_tokens", "cache_read_input_tokens"} <= set(delta["usage"])
            usages.append(delta["usage"])
    assert usages[0]["cache_read_input_tokens"] == 0 and usages[0]["input_tokens"] > 0
    assert usages[1]["cache_read_input_tokens"] > 0  # the same prompt again: a cache read, no cache_control needed
    checked("anthropic", "message_start zero usage, message_delta real usage")


# ---- the plan monitor (live evidence §3: four captures 2026-08/09 and a Lite capture) ----------------------------

CREDIT_ROW = {"type", "unit", "number", "usage", "currentValue", "remaining", "percentage"}
MONITOR = [
    {"name": "Lite credit plan", "level": "lite", "schema": "credits", "capacity": {(3, 5): 2000, (6, 1): 10000}},
    {"name": "Pro credit plan", "level": "pro", "schema": "credits", "capacity": {(3, 5): 12000, (6, 1): 60000}},
    {"name": "Pro token plan (2026-09-01)", "level": "pro", "schema": "tokens", "capacity": {}},
]


@pytest.mark.parametrize("case", MONITOR, ids=[c["name"] for c in MONITOR])
def test_monitor_rows_have_the_captured_shape(case: dict[str, Any]) -> None:
    app = create_app(EmulatorConfig(plan=case["level"], options={"quota": {"schema": case["schema"]}}))
    transport = EmulatorTransport(app)
    with httpx.Client(transport=transport, base_url="http://emulator.invalid/api", timeout=10) as http:
        body = http.get("/monitor/usage/quota/limit", headers={"Authorization": TEST_KEY}).json()  # the raw key
    assert body["success"] is True and body["code"] == 200
    rows = body["data"]["limits"]
    if case["schema"] == "credits":
        assert {r["type"] for r in rows} == {"CREDIT_LIMIT"}  # no TIME_LIMIT row
        for row in rows:
            assert row["usage"] == case["capacity"][(row["unit"], row["number"])]
            five = (row["unit"], row["number"]) == (3, 5)
            assert set(row) == (CREDIT_ROW if five else CREDIT_ROW | {"nextResetTime"})  # untouched 5 h: no reset
    else:
        tokens = [r for r in rows if r["type"] == "TOKENS_LIMIT"]
        assert {(r["unit"], r["number"]) for r in tokens} == {(3, 5), (6, 1)}
        assert all(set(r) == {"type", "unit", "number", "percentage", "nextResetTime"} for r in tokens)
        (mcp,) = [r for r in rows if r["type"] == "TIME_LIMIT"]
        assert CREDIT_ROW | {"usageDetails"} <= set(mcp)
    checked("monitor", case["name"])
