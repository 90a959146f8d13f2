"""The official ``openai`` package's Responses client against ``glm serve`` (both modes) backed by ``glm emulate``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from responses_tools import TOOLS, first_round

from tests.gateway.conftest import Serve, emulator_process, serve_process

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]


def oai(serve: Serve, **headers: str):  # type: ignore[no-untyped-def]
    import openai

    return openai.OpenAI(api_key="any", base_url=f"{serve.url}/v1", max_retries=0, default_headers=headers)


def test_plain_and_streamed_answers_agree(serve: Serve) -> None:
    c = oai(serve)
    plain = c.responses.create(model="glm-5.3", input="describe a lighthouse", reasoning={"effort": "low"})
    assert plain.status == "completed" and "describe a lighthouse" in plain.output_text
    assert plain.output[0].type == "reasoning" and plain.usage is not None
    assert plain.usage.output_tokens_details.reasoning_tokens > 0
    with c.responses.stream(model="glm-5.3", input="describe a lighthouse", reasoning={"effort": "low"}) as s:
        text = "".join(e.delta for e in s if e.type == "response.output_text.delta")
        final = s.get_final_response()
    assert text == final.output_text == plain.output_text
    numbers = [e.sequence_number for e in c.responses.create(model="glm-5.3", input="count", stream=True)]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)


@pytest.mark.parametrize("stream", [False, True])
def test_function_call_round_trip_with_custom_tool(serve: Serve, stream: bool) -> None:
    c = oai(serve)
    prompt = "weather then patch [emulator:tools=get_weather,apply_patch]"
    first = first_round(c, prompt, stream=stream)
    calls = [i for i in first.output if i.type in ("function_call", "custom_tool_call")]
    assert [(i.type, i.name) for i in calls] == [  # type: ignore[union-attr]
        ("function_call", "get_weather"),
        ("custom_tool_call", "apply_patch"),
    ]
    assert "city" in json.loads(calls[0].arguments)  # type: ignore[union-attr]
    history: list[Any] = [{"role": "user", "content": prompt}, *(i.model_dump(exclude_none=True) for i in first.output)]
    history.append({"type": "function_call_output", "call_id": calls[0].call_id, "output": "fog, 4C"})  # type: ignore[union-attr]
    history.append({"type": "custom_tool_call_output", "call_id": calls[1].call_id, "output": "patched"})  # type: ignore[union-attr]
    second = c.responses.create(model="glm-5.3", input=history, tools=TOOLS)
    assert "fog, 4C" in second.output_text and "patched" in second.output_text


def test_upstream_500_retried_then_reported(serve: Serve) -> None:
    import openai

    c = oai(serve)
    serve.arm(kind="status", status=500, retry_after=0, times=1)
    assert c.responses.create(model="glm-5.3", input="once").output_text
    serve.arm(kind="status", status=500, retry_after=0, times=3)
    with pytest.raises(openai.InternalServerError):
        c.responses.create(model="glm-5.3", input="twice")
    serve.disarm()


def test_cut_stream_is_an_error_never_a_clean_end(serve: Serve) -> None:
    import openai

    serve.arm(kind="cut", after=6, times=1)
    seen: list[str] = []
    with pytest.raises(openai.APIError, match="ended before the answer was complete"):
        for event in oai(serve).responses.create(model="glm-4.6", input="long answer please", stream=True):
            seen.append(event.type)
    assert "response.completed" not in seen
    serve.arm(kind="stream_error", after=6, code="1234", times=1)
    with pytest.raises(openai.APIError):
        list(oai(serve).responses.create(model="glm-4.6", input="long answer please", stream=True))
    serve.disarm()


def test_unknown_fields_tolerated_and_bad_bodies_refused(serve: Serve) -> None:
    c = oai(serve)
    r = c.responses.create(
        model="glm-5.3",
        input=[{"type": "message", "role": "developer", "content": "Be terse."}, {"role": "user", "content": "hi"}],
        extra_body={"prompt_cache_key": "abc", "client_metadata": {"x": "y"}},
        store=False,
        max_output_tokens=2000,
    )
    assert r.status == "completed"
    bad = httpx.post(f"{serve.url}/v1/responses", json={"input": "no model"}, timeout=10)
    assert bad.status_code == 400 and "model" in bad.json()["error"]["message"]


def test_ledger_row_per_request(serve: Serve) -> None:
    from glmkit.ledger import Ledger

    tag = f"resp-ledger-{serve.mode}"
    c = oai(serve, **{"x-glmkit-client": tag})
    c.responses.create(model="gpt-5-codex", input="x")
    list(c.responses.create(model="glm-5.3", input="y", stream=True))
    rows: list[dict[str, Any]] = []
    for _ in range(100):
        rows = [r for r in Ledger(serve.home / "glmkit.db").requests(source="gateway") if r["client"] == tag]
        if len(rows) >= 2:
            break
        time.sleep(0.05)
    assert len(rows) == 2 and all(r["route"] == "/v1/responses" and r["status"] == 200 for r in rows)
    assert all(r["output_tokens"] > 0 for r in rows)
    assert rows[0]["model_requested"] == "gpt-5-codex" and rows[0]["model_used"].startswith("glm-")


@pytest.fixture(scope="module", params=["translate-http", "translate-https", "passthrough-http", "passthrough-https"])
def storm(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    """`glm serve` (each mode) in front of `glm emulate --max-concurrency 1` over plain http and over TLS."""
    mode, scheme = request.param.split("-")
    home = tmp_path_factory.mktemp("emu-one")
    with (
        emulator_process(home, scheme, "--max-concurrency", "1", "--chunk-delay", "0.002") as emulator,
        serve_process(emulator, tmp_path_factory.mktemp("storm"), mode) as s,
    ):
        yield s


def test_1302_storm_never_reaches_the_client(storm: Serve, tmp_path: Path) -> None:
    def one(i: int) -> str:
        c = oai(storm)
        if i % 2:
            with c.responses.stream(model="glm-5.3", input=f"agent {i}") as s:
                return s.get_final_response().output_text
        return c.responses.create(model="glm-5.3", input=f"agent {i}").output_text

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(one, range(12)))
    assert all(f"agent {i}" in a for i, a in enumerate(answers))
    health = httpx.get(f"{storm.url}/health", timeout=5).json()
    assert health["models"]["glm-5.3"]["limit"] == 1  # learned from the upstream's 1302s, none reached a client
