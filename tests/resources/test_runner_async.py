"""Async twins of the runner tests: ``await aclient.chat.run``, ``async for ... in run_stream``, ``parse``."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import anyio
import pytest
from pydantic import BaseModel

import glmkit
from glmkit import AsyncClient, tool
from glmkit.emulator import EmulatorConfig, create_app
from glmkit.testing import async_offline_client, offline_client

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]
MODEL = "glm-5"


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


async def test_async_tools_run_concurrently_on_the_loop(aclient: AsyncClient) -> None:
    ready = {"a": anyio.Event(), "b": anyio.Event()}

    @tool
    async def wait_a(x: int) -> str:
        """A waits for B."""
        ready["a"].set()
        await ready["b"].wait()  # deadlocks (then times out) if the calls ran one after the other
        return f"a{x}"

    @tool
    async def wait_b(x: int) -> str:
        """B waits for A."""
        ready["b"].set()
        await ready["a"].wait()
        return f"b{x}"

    with anyio.fail_after(10):
        answer = await aclient.chat.run(
            model=MODEL, messages=user("[emulator:tools=wait_a,wait_b]"), tools=[wait_a, wait_b]
        )
    assert [c.status for c in answer.tool_calls] == ["ok", "ok"]
    assert answer.stop_reason == "stop" and answer.tool_calls[0].output in answer.content


async def test_sync_tools_run_in_threads_within_max_workers(aclient: AsyncClient) -> None:
    lock = threading.Lock()
    running = peak = 0
    loop_thread = threading.current_thread().name
    threads: list[str] = []

    def busy(x: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
            threads.append(threading.current_thread().name)
        time.sleep(0.05)
        with lock:
            running -= 1
        return x

    tools = [tool(name=f"busy{i}")(busy) for i in range(3)]
    names = ",".join(t.name for t in tools)
    answer = await aclient.chat.run(model=MODEL, messages=user(f"[emulator:tools={names}]"), tools=tools, max_workers=1)
    assert [c.status for c in answer.tool_calls] == ["ok"] * 3
    assert peak == 1 and loop_thread not in threads
    peak = 0
    await aclient.chat.run(model=MODEL, messages=user(f"[emulator:tools={names}]"), tools=tools, max_workers=3)
    assert peak >= 2


async def test_async_failing_tool_and_async_approval(aclient: AsyncClient) -> None:
    @tool
    async def fragile() -> str:
        """Breaks."""
        raise RuntimeError("boom")

    async def approve(call: Any) -> bool:
        await anyio.sleep(0)
        return call.name == "fragile"

    answer = await aclient.chat.run(
        model=MODEL, messages=user("[emulator:tools=fragile,add]"), tools=[fragile, add], approve=approve
    )
    broken, denied = answer.tool_calls
    assert broken.status == "error" and broken.error == "RuntimeError: boom"
    assert denied.status == "denied"
    assert "boom" in answer.content


async def test_async_max_steps(aclient: AsyncClient) -> None:
    answer = await aclient.chat.run(
        model=MODEL, messages=user("[emulator:tool-rounds=9][emulator:tools=add]"), tools=[add], max_steps=2
    )
    assert answer.stop_reason == "max_steps" and len(answer.steps) == 2


async def test_async_stream_events_match_the_sync_ones() -> None:
    prompt = user("[emulator:tools=add][emulator:tool-rounds=2]")
    app = create_app(EmulatorConfig(job_seconds=0.0))
    with offline_client(app) as c:
        sync_events = list(c.chat.run_stream(model=MODEL, messages=prompt, tools=[add]))
    app = create_app(EmulatorConfig(job_seconds=0.0))
    seen: list[Any] = []

    async def on_event(ev: Any) -> None:
        seen.append(ev)

    async with async_offline_client(app) as ac:
        events = [ev async for ev in ac.chat.run_stream(model=MODEL, messages=prompt, tools=[add], on_event=on_event)]
    assert seen == events
    strip = [(e.type, e.step, getattr(e, "text", None)) for e in events]
    assert strip == [(e.type, e.step, getattr(e, "text", None)) for e in sync_events]
    assert [t for t, _ in itertools.groupby(e.type for e in events)][-3:] == ["text_delta", "step_finished", "done"]
    a, b = events[-1].answer, sync_events[-1].answer
    assert (a.content, a.messages, a.stop_reason) == (b.content, b.messages, b.stop_reason)


async def test_async_tool_stream_gives_the_same_result_as_without() -> None:
    prompt = user("[emulator:tools=add][emulator:tool-rounds=2]")
    out = []
    for flags in ({}, {"tool_stream": True}):
        app = create_app(EmulatorConfig(job_seconds=0.0))
        async with async_offline_client(app) as ac:
            answer = await ac.chat.run(model=MODEL, messages=prompt, tools=[add], **flags)
        out.append((answer.content, answer.messages, [(c.raw_arguments, c.output) for c in answer.tool_calls]))
    assert out[0] == out[1]


class Pet(BaseModel):
    name: str
    age: int


async def test_async_parse_with_a_first_invalid_answer(aclient: AsyncClient) -> None:
    result = await aclient.chat.parse(model=MODEL, messages=user("A pet [emulator:invalid-json]"), response_format=Pet)
    assert isinstance(result.parsed, Pet) and result.attempts == 2


async def test_async_bad_arguments_fail_before_any_request(aclient: AsyncClient, emulator_app: Any) -> None:
    with pytest.raises(glmkit.InputError, match="max_steps"):
        aclient.chat.run_stream(model=MODEL, messages=user("x"), max_steps=-1)
    with pytest.raises(glmkit.InputError, match="tool_errors"):
        await aclient.chat.run(model=MODEL, messages=user("x"), tool_errors="bogus")  # type: ignore[arg-type]
    assert emulator_app.state.emulator.requests == []


async def test_async_filtered_answer_is_the_stop_reason_streamed_too(aclient: AsyncClient) -> None:
    fault = {"X-Emulator-Fault": "kind=finish,reason=sensitive"}
    events = [ev async for ev in aclient.chat.run_stream(model=MODEL, messages=user("hi"), extra_headers=fault)]
    assert events[-1].answer.stop_reason == "sensitive"  # type: ignore[union-attr]
