"""Running the tool calls of one model turn: parse and validate each call, run a batch, render the outputs.

Sync tools run in a thread pool under the sync client (in call order on this thread with
``parallel=False``); under the async client async tools run on the event loop and sync ones in worker
threads behind a ``CapacityLimiter``. An async tool under the sync client gets its own event loop in the
worker thread. A tool's exception becomes its record's error (``status="error"``); only
``BaseException``s that are not ``Exception``s (KeyboardInterrupt, cancellation) go through.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from types import TracebackType
from typing import Any

from glmkit.resources._run_types import ToolCallRecord
from glmkit.tools import Tool, ToolArgumentsError


def render_output(value: Any) -> str:
    """A tool's return value as the tool message's string content (the API takes strings only, §17)."""
    if isinstance(value, str):
        return value
    dump = getattr(value, "model_dump_json", None)
    if callable(dump):
        return str(dump())
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


def prepare_call(rec: ToolCallRecord, local: Mapping[str, Tool], external: set[str], raise_: bool) -> None:
    """Parse and validate one call in place; sets status invalid/unknown/pending when it cannot run."""
    if rec.name in external:
        rec.status = "pending"
        return
    t = local.get(rec.name)
    if t is None:
        rec.status, rec.error = "unknown", f"There is no tool named {rec.name!r}; use one of: {', '.join(local)}."
        rec.output = f"Error: {rec.error}"
        return
    try:
        args = json.loads(rec.raw_arguments or "{}")
        rec.arguments = args if isinstance(args, dict) else None
        rec._bound = t.bind(args)
    except (ValueError, ToolArgumentsError) as exc:
        if not isinstance(exc, ToolArgumentsError):
            exc = ToolArgumentsError(f"Arguments for {rec.name} are not valid JSON: {exc}.", tool=rec.name, errors=[])
        if raise_:
            raise exc from None
        rec.status, rec.error, rec.exception = "invalid", str(exc), exc
        rec.output = f"Error: {exc} Call the tool again with corrected arguments."
        return
    rec._tool = t


def resolve(value: object) -> object:
    """``value``, or what it awaits to when it is awaitable (run on an event loop of its own: sync callers)."""
    return asyncio.run(_await(value)) if inspect.isawaitable(value) else value


async def _await(awaitable: Any) -> Any:
    return await awaitable


class _Recording:
    """Times one call and writes its outcome on the record: ``value`` on success, the exception otherwise."""

    def __init__(self, rec: ToolCallRecord) -> None:
        assert rec._tool is not None
        self.rec, self.tool = rec, rec._tool
        self.args, self.kwargs = rec._bound
        self.value: Any = None

    def __enter__(self) -> _Recording:
        self.started = time.perf_counter()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> bool:
        rec = self.rec
        rec.duration = time.perf_counter() - self.started
        if exc is None:
            rec.status, rec.result, rec.output = "ok", self.value, render_output(self.value)
            return False
        if not isinstance(exc, Exception):
            return False  # KeyboardInterrupt, cancellation: not the tool's error to report
        rec.status, rec.exception = "error", exc
        rec.error = f"{type(exc).__name__}: {exc}"
        rec.output = f"Error: {rec.error}"
        return True


def invoke_sync(rec: ToolCallRecord) -> ToolCallRecord:
    """Run one prepared call on this thread."""
    with _Recording(rec) as run:
        run.value = resolve(run.tool.fn(*run.args, **run.kwargs))
    return rec


async def invoke_async(rec: ToolCallRecord, limiter: Any) -> ToolCallRecord:
    """Run one prepared call: an async tool on the loop, a sync one in a worker thread."""
    import anyio.to_thread

    with _Recording(rec) as run:
        if run.tool.is_async:
            value = await run.tool.fn(*run.args, **run.kwargs)
        else:
            call = functools.partial(run.tool.fn, *run.args, **run.kwargs)
            value = await anyio.to_thread.run_sync(call, limiter=limiter)
        run.value = await value if inspect.isawaitable(value) else value
    return rec


def run_tools_sync(calls: list[ToolCallRecord], parallel: bool, max_workers: int) -> list[ToolCallRecord]:
    """Run prepared calls; the records in the order they finished."""
    if not parallel or len(calls) == 1:
        return [invoke_sync(c) for c in calls]
    with ThreadPoolExecutor(max_workers=min(max_workers, len(calls)), thread_name_prefix="glmkit-tool") as pool:
        return [f.result() for f in as_completed([pool.submit(invoke_sync, c) for c in calls])]


async def run_tools_async(calls: list[ToolCallRecord], parallel: bool, max_workers: int) -> list[ToolCallRecord]:
    """The async twin of ``run_tools_sync``."""
    import anyio

    limiter = anyio.CapacityLimiter(max_workers)
    if not parallel or len(calls) == 1:
        return [await invoke_async(c, limiter) for c in calls]
    done: list[ToolCallRecord] = []

    async def one(rec: ToolCallRecord) -> None:
        done.append(await invoke_async(rec, limiter))

    async with anyio.create_task_group() as tg:
        for c in calls:
            tg.start_soon(one, c)
    return done
