"""The tool-calling loop behind ``client.chat.run`` and ``run_stream`` (structured output: ``_structured.py``).

The loop is written once, as a generator flow (``run_flow``) that yields effects: ``CallModel``
(one chat completion, plain or streamed), ``Approve`` (ask the ``approve`` callback), ``RunTools``
(execute a batch of validated calls) and ``Emit`` (an event for the caller). ``drive_sync`` and
``drive_async`` only perform those effects: the sync one with a thread pool, the async one with async
tools on the event loop and sync tools in worker threads behind a ``CapacityLimiter``. Both are
generators of events, so ``run`` is ``run_stream`` read to the end.

Reasoning (reference §2.5): every assistant turn goes back with its ``reasoning_content``
unmodified and in order, which is what interleaved thinking needs and what preserved thinking
(``clear_thinking: false``) asks for.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Literal

from glmkit._errors import APIResponseValidationError, InputError
from glmkit.tools import Tool, ToolArgumentsError, tool_params
from glmkit.types.chat import ChatCompletion, ChatCompletionChunk, CompletionTokensDetails, Usage

__all__ = [
    "Done",
    "ReasoningDelta",
    "RunResult",
    "RunStep",
    "StepFinished",
    "TextDelta",
    "ToolCallFinished",
    "ToolCallRecord",
    "ToolCallStarted",
]

ToolStatus = Literal["ok", "error", "invalid", "denied", "unknown", "pending"]


# ---- what a run records ----------------------------------------------------------------------------


@dataclass
class ToolCallRecord:
    """One tool call: what the model asked, what ran, what went back.

    ``status``: ok, error (the tool raised), invalid (bad arguments), denied (``approve`` said no),
    unknown (no such tool), pending (a tool without a local implementation: the caller runs it).
    """

    id: str
    name: str
    raw_arguments: str
    arguments: dict[str, Any] | None = None
    status: ToolStatus = "ok"
    result: Any = None
    output: str = ""
    """The string sent back to the model as the tool message."""
    error: str | None = None
    duration: float = 0.0
    """Seconds the tool ran."""
    exception: BaseException | None = field(default=None, repr=False)
    _tool: Tool | None = field(default=None, repr=False, compare=False)
    _bound: tuple[list[Any], dict[str, Any]] = field(default_factory=lambda: ([], {}), repr=False, compare=False)


@dataclass
class RunStep:
    """One model turn and the tool calls it made."""

    index: int
    content: str
    reasoning: str
    finish_reason: str | None
    tool_calls: list[ToolCallRecord]
    usage: Usage | None
    completion: ChatCompletion = field(repr=False)
    duration: float = 0.0
    """Seconds for the model call and the tools."""


@dataclass
class RunResult:
    """The outcome of ``client.chat.run``.

    ``stop_reason``: the last turn's ``finish_reason`` (``stop``, ``length``, ``sensitive``, ...),
    ``max_steps`` when the model still wanted tools after ``max_steps`` turns, or ``tool_calls`` when it
    called a tool given as a plain dict (see ``pending_tool_calls``; append their results to
    ``messages`` and run again).
    """

    content: str
    reasoning: str
    stop_reason: str
    steps: list[RunStep]
    messages: list[dict[str, Any]]
    usage: Usage
    pending_tool_calls: list[ToolCallRecord] = field(default_factory=list)

    @property
    def completion(self) -> ChatCompletion | None:
        """The last model answer."""
        return self.steps[-1].completion if self.steps else None

    @property
    def tool_calls(self) -> list[ToolCallRecord]:
        """Every tool call of the run, in order."""
        return [c for s in self.steps for c in s.tool_calls]


@dataclass
class TextDelta:
    step: int
    text: str
    type: Literal["text_delta"] = "text_delta"


@dataclass
class ReasoningDelta:
    step: int
    text: str
    type: Literal["reasoning_delta"] = "reasoning_delta"


@dataclass
class ToolCallStarted:
    step: int
    call: ToolCallRecord
    type: Literal["tool_call_started"] = "tool_call_started"


@dataclass
class ToolCallFinished:
    step: int
    call: ToolCallRecord
    type: Literal["tool_call_finished"] = "tool_call_finished"


@dataclass
class StepFinished:
    step: int
    turn: RunStep
    type: Literal["step_finished"] = "step_finished"


@dataclass
class Done:
    step: int
    answer: RunResult
    type: Literal["done"] = "done"


RunEvent = TextDelta | ReasoningDelta | ToolCallStarted | ToolCallFinished | StepFinished | Done


# ---- effects the flow yields -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallModel:
    params: dict[str, Any]
    step: int
    stream: bool


@dataclass(frozen=True, slots=True)
class Approve:
    call: ToolCallRecord


@dataclass(frozen=True, slots=True)
class RunTools:
    calls: list[ToolCallRecord]


@dataclass(frozen=True, slots=True)
class Emit:
    event: RunEvent


Effect = CallModel | Approve | RunTools | Emit


@dataclass(frozen=True)
class RunOptions:
    max_steps: int = 8
    parallel: bool = True
    approve: Callable[[ToolCallRecord], Any] | None = None
    on_event: Callable[[RunEvent], Any] | None = None
    tool_errors: Literal["return", "raise"] = "return"
    max_workers: int = 8
    stream: bool = False


# ---- the flow ------------------------------------------------------------------------------------


def prepare_run(
    params: dict[str, Any], *, streaming: bool, **options: Any
) -> tuple[dict[str, Any], dict[str, Tool], set[str], RunOptions]:
    """Check the arguments before any request; (params, local tools, external names, options)."""
    params = dict(params)
    opts = RunOptions(**options)
    if isinstance(opts.max_steps, bool) or not isinstance(opts.max_steps, int) or opts.max_steps < 1:
        raise InputError(f"max_steps must be an integer >= 1 (got {opts.max_steps!r}).")
    if opts.tool_errors not in ("return", "raise"):
        raise InputError(f"tool_errors must be 'return' or 'raise' (got {opts.tool_errors!r}).")
    if isinstance(opts.max_workers, bool) or not isinstance(opts.max_workers, int) or opts.max_workers < 1:
        raise InputError(f"max_workers must be an integer >= 1 (got {opts.max_workers!r}).")
    if not isinstance(params.get("messages"), list) or not params["messages"]:
        raise InputError("messages must be a non-empty list, e.g. [{'role': 'user', 'content': '...'}].")
    api_tools, local = tool_params(params.pop("tools", None))
    if api_tools:
        params["tools"] = api_tools
    external = {t["function"]["name"] for t in api_tools if t.get("type") == "function"} - set(local)
    # Stream when events are wanted (run_stream, or run with on_event: a UI wants the deltas) or when
    # tool_stream asks for it (it needs stream=True, §2.1). The result is the same either way.
    stream = bool(params.pop("stream", False) or params.get("tool_stream") or streaming or opts.on_event)
    opts = RunOptions(**{**options, "stream": stream})
    return params, local, external, opts


def _assistant_message(completion: ChatCompletion) -> dict[str, Any]:
    msg = completion.choices[0].message
    out: dict[str, Any] = {"role": "assistant", "content": msg.content or ""}
    if msg.reasoning_content:
        out["reasoning_content"] = msg.reasoning_content  # sent back unmodified (reference §2.5)
    if msg.tool_calls:
        out["tool_calls"] = [
            {
                "id": tc.id,
                "type": tc.type or "function",
                "function": {
                    "name": tc.function.name if tc.function else None,
                    "arguments": (tc.function.arguments if tc.function else None) or "{}",
                },
            }
            for tc in msg.tool_calls
        ]
    return out


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


def _prepare_call(rec: ToolCallRecord, local: Mapping[str, Tool], external: set[str], raise_: bool) -> None:
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


def run_flow(
    params: dict[str, Any], local: dict[str, Tool], external: set[str], opts: RunOptions
) -> Generator[Effect, Any, RunResult]:
    """The loop: ask the model, run the tools it calls, send the results back, until it answers."""
    base = {k: v for k, v in params.items() if k != "messages"}
    messages: list[dict[str, Any]] = list(params["messages"])
    steps: list[RunStep] = []
    stop_reason = "max_steps"
    pending: list[ToolCallRecord] = []
    for index in range(opts.max_steps):
        started = time.perf_counter()
        completion: ChatCompletion = yield CallModel({**base, "messages": list(messages)}, index, opts.stream)
        if not completion.choices:
            raise APIResponseValidationError("The model's answer had no choices.")
        choice = completion.choices[0]
        messages.append(_assistant_message(completion))
        records = [
            ToolCallRecord(
                id=tc.id or f"call_{index}_{i}", name=tc.function.name or "", raw_arguments=tc.function.arguments or ""
            )
            for i, tc in enumerate(choice.message.tool_calls or [])
            if tc.function is not None and (tc.type or "function") == "function"
        ]
        # Non-function tool calls (web_search, retrieval) run on Z.AI's side; the reference (§2.3) does not
        # ask the client to answer them, so they are sent back as they came and not answered.
        turn = RunStep(
            index=index,
            content=choice.message.content or "",
            reasoning=choice.message.reasoning_content or "",
            finish_reason=choice.finish_reason,
            tool_calls=records,
            usage=completion.usage,
            completion=completion,
        )
        steps.append(turn)
        if records:
            yield from _tool_round(index, records, local, external, opts)
            messages.extend(
                {"role": "tool", "tool_call_id": r.id, "content": r.output} for r in records if r.status != "pending"
            )
        turn.duration = time.perf_counter() - started
        yield Emit(StepFinished(index, turn))
        pending = [r for r in records if r.status == "pending"]
        if pending:
            stop_reason = "tool_calls"
            break
        if not records:
            stop_reason = choice.finish_reason or "stop"
            break
    answer = RunResult(
        content=steps[-1].content,
        reasoning=steps[-1].reasoning,
        stop_reason=stop_reason,
        steps=steps,
        messages=messages,
        usage=_total_usage(steps),
        pending_tool_calls=pending,
    )
    yield Emit(Done(len(steps) - 1, answer))
    return answer


def _tool_round(
    index: int, records: list[ToolCallRecord], local: dict[str, Tool], external: set[str], opts: RunOptions
) -> Generator[Effect, Any, None]:
    runnable = []
    for rec in records:
        _prepare_call(rec, local, external, opts.tool_errors == "raise")
        if rec._tool is None:
            if rec.status != "pending":
                yield Emit(ToolCallFinished(index, rec))
            continue
        if opts.approve is not None and not (yield Approve(rec)):
            rec.status, rec.error = "denied", "The user declined this call."
            rec.output = f"The user declined to run {rec.name}; do not call it again with the same arguments."
            yield Emit(ToolCallFinished(index, rec))
            continue
        runnable.append(rec)
    for rec in runnable:
        yield Emit(ToolCallStarted(index, rec))
    finished: list[ToolCallRecord] = (yield RunTools(runnable)) if runnable else []
    for rec in finished:  # in the order they finished
        yield Emit(ToolCallFinished(index, rec))
    if opts.tool_errors == "raise":
        for rec in runnable:
            if rec.exception is not None:
                raise rec.exception


def _total_usage(steps: list[RunStep]) -> Usage:
    prompt = completion = total = reasoning = 0
    for s in steps:
        u = s.usage
        if u is None:
            continue
        prompt += u.prompt_tokens
        completion += u.completion_tokens
        total += u.total_tokens
        if u.completion_tokens_details and u.completion_tokens_details.reasoning_tokens:
            reasoning += u.completion_tokens_details.reasoning_tokens
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=total,
        completion_tokens_details=CompletionTokensDetails(reasoning_tokens=reasoning),
    )


def chunk_events(step: int, chunk: ChatCompletionChunk) -> Iterator[RunEvent]:
    """The text and reasoning deltas in one stream chunk."""
    for c in chunk.choices:
        if c.index != 0:
            continue
        if c.delta.reasoning_content:
            yield ReasoningDelta(step, c.delta.reasoning_content)
        if c.delta.content:
            yield TextDelta(step, c.delta.content)


# ---- running a tool --------------------------------------------------------------------------------


def _finish(rec: ToolCallRecord, started: float, result: Any = None, exc: BaseException | None = None) -> None:
    rec.duration = time.perf_counter() - started
    if exc is not None:
        rec.status, rec.exception = "error", exc
        rec.error = f"{type(exc).__name__}: {exc}"
        rec.output = f"Error: {rec.error}"
    else:
        rec.status, rec.result, rec.output = "ok", result, render_output(result)


def _invoke_sync(rec: ToolCallRecord) -> ToolCallRecord:
    assert rec._tool is not None
    args, kwargs = rec._bound
    started = time.perf_counter()
    try:
        result = rec._tool.fn(*args, **kwargs)
        if inspect.isawaitable(result):  # an async tool under the sync client: its own loop, in this thread
            result = asyncio.run(_await(result))
    except Exception as exc:
        _finish(rec, started, exc=exc)
    else:
        _finish(rec, started, result)
    return rec


async def _await(awaitable: Any) -> Any:
    return await awaitable


def _run_tools_sync(calls: list[ToolCallRecord], opts: RunOptions) -> list[ToolCallRecord]:
    if not opts.parallel or len(calls) == 1:
        return [_invoke_sync(c) for c in calls]
    with ThreadPoolExecutor(max_workers=min(opts.max_workers, len(calls)), thread_name_prefix="glmkit-tool") as pool:
        futures = [pool.submit(_invoke_sync, c) for c in calls]
        return [f.result() for f in as_completed(futures)]


async def _invoke_async(rec: ToolCallRecord, limiter: Any) -> ToolCallRecord:
    import functools

    import anyio.to_thread

    assert rec._tool is not None
    args, kwargs = rec._bound
    started = time.perf_counter()
    try:
        if rec._tool.is_async:
            result = await rec._tool.fn(*args, **kwargs)
        else:
            call = functools.partial(rec._tool.fn, *args, **kwargs)
            result = await anyio.to_thread.run_sync(call, limiter=limiter)
        if inspect.isawaitable(result):
            result = await result
    except Exception as exc:
        _finish(rec, started, exc=exc)
    else:
        _finish(rec, started, result)
    return rec


async def _run_tools_async(calls: list[ToolCallRecord], opts: RunOptions) -> list[ToolCallRecord]:
    import anyio

    limiter = anyio.CapacityLimiter(opts.max_workers)
    if not opts.parallel or len(calls) == 1:
        return [await _invoke_async(c, limiter) for c in calls]
    done: list[ToolCallRecord] = []

    async def one(rec: ToolCallRecord) -> None:
        done.append(await _invoke_async(rec, limiter))

    async with anyio.create_task_group() as tg:
        for c in calls:
            tg.start_soon(one, c)
    return done


# ---- the drivers -----------------------------------------------------------------------------------


def drive_sync(client: Any, flow: Generator[Effect, Any, Any], opts: RunOptions) -> Iterator[RunEvent]:
    """Perform a flow's effects with the sync client; yields its events (``Done`` last)."""
    value: Any = None
    while True:
        try:
            effect = flow.send(value)
        except StopIteration:
            return
        value = None
        if isinstance(effect, Emit):
            if opts.on_event is not None:
                opts.on_event(effect.event)
            yield effect.event
        elif isinstance(effect, CallModel):
            if effect.stream:
                with client.chat.completions.create(**effect.params, stream=True) as s:
                    for chunk in s:
                        for ev in chunk_events(effect.step, chunk):
                            if opts.on_event is not None:
                                opts.on_event(ev)
                            yield ev
                    value = s.get_final_completion()
            else:
                value = client.chat.completions.create(**effect.params)
        elif isinstance(effect, Approve):
            assert opts.approve is not None
            value = bool(opts.approve(effect.call))
        elif isinstance(effect, RunTools):
            value = _run_tools_sync(effect.calls, opts)


async def drive_async(client: Any, flow: Generator[Effect, Any, Any], opts: RunOptions) -> AsyncIterator[RunEvent]:
    """The async twin of ``drive_sync``: ``approve`` and ``on_event`` may be sync or async."""
    value: Any = None
    while True:
        try:
            effect = flow.send(value)
        except StopIteration:
            return
        value = None
        if isinstance(effect, Emit):
            await _notify(opts, effect.event)
            yield effect.event
        elif isinstance(effect, CallModel):
            if effect.stream:
                s = await client.chat.completions.create(**effect.params, stream=True)
                async with s:
                    async for chunk in s:
                        for ev in chunk_events(effect.step, chunk):
                            await _notify(opts, ev)
                            yield ev
                    value = await s.get_final_completion()
            else:
                value = await client.chat.completions.create(**effect.params)
        elif isinstance(effect, Approve):
            assert opts.approve is not None
            ok = opts.approve(effect.call)
            value = bool(await ok if inspect.isawaitable(ok) else ok)
        elif isinstance(effect, RunTools):
            value = await _run_tools_async(effect.calls, opts)


async def _notify(opts: RunOptions, event: RunEvent) -> None:
    if opts.on_event is not None:
        out = opts.on_event(event)
        if inspect.isawaitable(out):
            await out


# ---- the public entry points (called by resources/chat.py) ------------------------------------------

_RUN_OPTIONS = ("max_steps", "parallel", "approve", "on_event", "tool_errors", "max_workers")


def _split(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    options = {k: params.pop(k) for k in _RUN_OPTIONS if k in params}
    return params, options


def run_stream_sync(client: Any, params: dict[str, Any], *, streaming: bool = True) -> Iterator[RunEvent]:
    """Events of a run with the sync client (arguments checked now, not at the first ``next``)."""
    params, options = _split(dict(params))
    p, local, external, opts = prepare_run(params, streaming=streaming, **options)
    return drive_sync(client, run_flow(p, local, external, opts), opts)


def run_sync(client: Any, params: dict[str, Any]) -> RunResult:
    """A whole run with the sync client."""
    answer = None
    for ev in run_stream_sync(client, params, streaming=False):
        if isinstance(ev, Done):
            answer = ev.answer
    assert answer is not None
    return answer


def run_stream_async(client: Any, params: dict[str, Any], *, streaming: bool = True) -> AsyncIterator[RunEvent]:
    """Events of a run with the async client (arguments checked now)."""
    params, options = _split(dict(params))
    p, local, external, opts = prepare_run(params, streaming=streaming, **options)
    return drive_async(client, run_flow(p, local, external, opts), opts)


async def run_async(client: Any, params: dict[str, Any]) -> RunResult:
    """A whole run with the async client."""
    answer = None
    async for ev in run_stream_async(client, params, streaming=False):
        if isinstance(ev, Done):
            answer = ev.answer
    assert answer is not None
    return answer
