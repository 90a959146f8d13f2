"""The drivers of the tool-calling loop and the entry points of ``client.chat.run`` / ``run_stream``.

The loop itself is the generator flow in ``_run_flow.py``; it turns stream chunks into events, so the
drivers here (``drive_sync``, ``drive_async``) only perform I/O, a line or two per effect. Both are
generators of events, so ``run`` is ``run_stream`` read to the end. Structured output
(``_structured.py``) is driven by the same drivers.
"""

from __future__ import annotations

import collections
import contextlib
import inspect
from collections.abc import AsyncIterator, Generator, Iterator
from typing import Any

from glmkit.resources._run_flow import (
    Approve,
    CallModel,
    Effect,
    Emit,
    OpenStream,
    ReadStream,
    RunOptions,
    RunTools,
    prepare_run,
    run_flow,
)
from glmkit.resources._run_types import Done, RunEvent, RunResult, ToolCallRecord
from glmkit.resources._tool_calls import resolve, run_tools_async, run_tools_sync

__all__ = [
    "RunEvent",  # with RunResult and ToolCallRecord: the types resources/chat.py names from here
    "RunResult",
    "ToolCallRecord",
    "drive_async",
    "drive_sync",
    "run_async",
    "run_stream_async",
    "run_stream_sync",
    "run_sync",
]


# ---- the drivers: I/O only -------------------------------------------------------------------------


def _advance(flow: Generator[Effect, Any, Any], value: Any) -> Effect | None:
    """The flow's next effect (``None`` when it is over)."""
    try:
        return flow.send(value)
    except StopIteration:
        return None


def drive_sync(client: Any, flow: Generator[Effect, Any, Any], opts: RunOptions) -> Iterator[RunEvent]:
    """Perform a flow's effects with the sync client; yields its events (``Done`` last).

    ``approve`` and ``on_event`` may be async functions: each call then runs on an event loop of its own.
    """
    with contextlib.ExitStack() as streams:
        value: Any = None
        while (effect := _advance(flow, value)) is not None:
            if type(effect) is Emit:
                if opts.on_event is not None:
                    resolve(opts.on_event(effect.event))
                yield effect.event
                value = None
            else:
                value = _perform_sync(client, effect, opts, streams)


def _perform_sync(client: Any, effect: Effect, opts: RunOptions, streams: contextlib.ExitStack) -> Any:
    if isinstance(effect, ReadStream):
        chunk = next(effect.opened.chunks, None)
        return effect.opened.stream.current_completion if chunk is None else chunk
    if isinstance(effect, CallModel):
        if not effect.stream:
            return client.chat.completions.create(**effect.params)
        s = streams.enter_context(client.chat.completions.create(**effect.params, stream=True))
        return OpenStream(s, iter(s))
    if isinstance(effect, Approve):
        assert opts.approve is not None
        return bool(resolve(opts.approve(effect.call)))
    assert isinstance(effect, RunTools)
    return run_tools_sync(effect.calls, opts.parallel, opts.max_workers)


async def drive_async(client: Any, flow: Generator[Effect, Any, Any], opts: RunOptions) -> AsyncIterator[RunEvent]:
    """The async twin of ``drive_sync``: ``approve`` and ``on_event`` may be sync or async."""
    async with contextlib.AsyncExitStack() as streams:
        value: Any = None
        while (effect := _advance(flow, value)) is not None:
            if type(effect) is Emit:
                if opts.on_event is not None:
                    await _awaited(opts.on_event(effect.event))
                yield effect.event
                value = None
            else:
                value = await _perform_async(client, effect, opts, streams)


async def _perform_async(client: Any, effect: Effect, opts: RunOptions, streams: contextlib.AsyncExitStack) -> Any:
    if isinstance(effect, ReadStream):
        chunk = await anext(effect.opened.chunks, None)
        return effect.opened.stream.current_completion if chunk is None else chunk
    if isinstance(effect, CallModel):
        if not effect.stream:
            return await client.chat.completions.create(**effect.params)
        s = await streams.enter_async_context(await client.chat.completions.create(**effect.params, stream=True))
        return OpenStream(s, aiter(s))
    if isinstance(effect, Approve):
        assert opts.approve is not None
        return bool(await _awaited(opts.approve(effect.call)))
    assert isinstance(effect, RunTools)
    return await run_tools_async(effect.calls, opts.parallel, opts.max_workers)


async def _awaited(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


# ---- the entry points (called by resources/chat.py) ------------------------------------------------

_RUN_OPTIONS = ("max_steps", "parallel", "approve", "on_event", "tool_errors", "max_workers")


def _start(params: dict[str, Any], streaming: bool) -> tuple[Generator[Effect, Any, RunResult], RunOptions]:
    """The run's flow and options, every argument checked now (not at the first event)."""
    params = dict(params)
    options = {k: params.pop(k) for k in _RUN_OPTIONS if k in params}
    p, local, external, opts = prepare_run(params, streaming=streaming, **options)
    return run_flow(p, local, external, opts), opts


def run_stream_sync(client: Any, params: dict[str, Any], *, streaming: bool = True) -> Iterator[RunEvent]:
    """Events of a run with the sync client."""
    return drive_sync(client, *_start(params, streaming))


def run_sync(client: Any, params: dict[str, Any]) -> RunResult:
    """A whole run with the sync client: the answer of its last event (``Done``)."""
    (done,) = collections.deque(run_stream_sync(client, params, streaming=False), maxlen=1)
    assert isinstance(done, Done)
    return done.answer


def run_stream_async(client: Any, params: dict[str, Any], *, streaming: bool = True) -> AsyncIterator[RunEvent]:
    """Events of a run with the async client."""
    return drive_async(client, *_start(params, streaming))


async def run_async(client: Any, params: dict[str, Any]) -> RunResult:
    """A whole run with the async client: the answer of its last event (``Done``)."""
    answer = None
    async for event in run_stream_async(client, params, streaming=False):
        if isinstance(event, Done):
            answer = event.answer
    assert answer is not None
    return answer
