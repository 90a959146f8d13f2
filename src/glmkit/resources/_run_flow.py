"""The tool-calling loop as a generator flow: what ``client.chat.run`` does, without any I/O.

``run_flow`` yields effects and receives their results: ``CallModel`` (one chat completion; streamed,
it gives an ``OpenStream`` read chunk by chunk with ``ReadStream``, which gives the assembled answer
at the end), ``Approve`` (ask the ``approve`` callback: a ``bool``), ``RunTools`` (execute a batch of
validated calls, ``_tool_calls.py``: the finished records) and ``Emit`` (an event for the caller:
``None``). The result differs by effect, so a flow receives ``object`` and each line that receives one
says which type its effect gives. The drivers that perform them, sync and async, are in ``_runner.py``;
the records and events in ``_run_types.py``.

Reasoning (reference §2.5): every assistant turn goes back with its ``reasoning_content``
unmodified and in order, which is what interleaved thinking needs and what preserved thinking
(``clear_thinking: false``) asks for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Literal, cast

from glmkit._errors import APIResponseValidationError, InputError
from glmkit.resources._run_types import (
    Done,
    ReasoningDelta,
    RunEvent,
    RunResult,
    RunStep,
    StepFinished,
    TextDelta,
    ToolCallFinished,
    ToolCallRecord,
    ToolCallStarted,
)
from glmkit.resources._tool_calls import prepare_call
from glmkit.tools import Tool, tool_params
from glmkit.types import JSONObject, JSONValue
from glmkit.types.chat import ChatCompletion, ChatCompletionChunk, ChatMessage, CompletionTokensDetails, Usage

# ---- effects the flow yields -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallModel:
    """One chat completion: the whole answer, or (``stream``) an ``OpenStream`` to read with ``ReadStream``."""

    params: dict[str, Any]
    stream: bool = False


@dataclass(frozen=True, slots=True)
class OpenStream:
    """A streamed answer being read: the stream object and its chunk iterator (closed by the driver)."""

    stream: Any
    chunks: Any


@dataclass(frozen=True, slots=True)
class ReadStream:
    """The stream's next chunk; at its end, the whole answer.

    A ``sensitive`` or ``network_error`` end is the answer's ``finish_reason``, as it is without streaming
    (reference §2.6), so the run's ``stop_reason`` says it either way (``get_final_completion`` would raise).
    """

    opened: OpenStream


@dataclass(frozen=True, slots=True)
class Approve:
    """Ask ``approve`` about a call: True to run it."""

    call: ToolCallRecord


@dataclass(frozen=True, slots=True)
class RunTools:
    """Run prepared calls; the records in the order they finished."""

    calls: list[ToolCallRecord]


@dataclass(frozen=True, slots=True)
class Emit:
    """Hand an event to ``on_event`` and to the caller of ``run_stream``."""

    event: RunEvent


Effect = CallModel | ReadStream | Approve | RunTools | Emit


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
) -> tuple[JSONObject, dict[str, Tool[..., object]], set[str], RunOptions]:
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
    external = {t["function"]["name"] for t in api_tools if t["type"] == "function"} - set(local)
    # Stream when events are wanted (run_stream, or run with on_event: a UI wants the deltas) or when
    # tool_stream asks for it (it needs stream=True, §2.1). The result is the same either way.
    stream = bool(params.pop("stream", False) or params.get("tool_stream") or streaming or opts.on_event)
    opts = RunOptions(**{**options, "stream": stream})
    return params, local, external, opts


def model_turn(params: dict[str, Any], step: int, stream: bool) -> Generator[Effect, object, ChatCompletion]:
    """One chat completion; streamed, its reasoning and text deltas are emitted as they arrive."""
    if not stream:
        return cast(ChatCompletion, (yield CallModel(params)))
    read = ReadStream(cast(OpenStream, (yield CallModel(params, stream=True))))
    while isinstance(item := (yield read), ChatCompletionChunk):
        for c in item.choices:  # the reasoning and text deltas of the first choice
            if c.index == 0:
                if c.delta.reasoning_content:
                    yield Emit(ReasoningDelta(step, c.delta.reasoning_content))
                if c.delta.content:
                    yield Emit(TextDelta(step, c.delta.content))
    return cast(ChatCompletion, item)


def assistant_turn(step: int, message: ChatMessage) -> tuple[JSONObject, list[ToolCallRecord]]:
    """The assistant message to send back, and a record per function call (with the same id in both)."""
    out: JSONObject = {"role": "assistant", "content": message.content or ""}
    if message.reasoning_content:
        out["reasoning_content"] = message.reasoning_content  # sent back unmodified (reference §2.5)
    calls: list[JSONValue] = []
    records: list[ToolCallRecord] = []
    for i, tc in enumerate(message.tool_calls or []):
        if (tc.type or "function") != "function" or tc.function is None:
            # web_search / retrieval calls run on Z.AI's side; the reference (§2.3) does not ask the client
            # to answer them, so they go back as they came and get no tool message.
            calls.append({k: v for k, v in tc.to_dict().items() if k != "index"})
            continue
        call_id, arguments = tc.id or f"call_{step}_{i}", tc.function.arguments or ""
        function: JSONObject = {"name": tc.function.name, "arguments": arguments or "{}"}
        calls.append({"id": call_id, "type": "function", "function": function})
        records.append(ToolCallRecord(id=call_id, name=tc.function.name or "", raw_arguments=arguments))
    if calls:
        out["tool_calls"] = calls
    return out, records


def run_flow(
    params: dict[str, Any], local: dict[str, Tool[..., object]], external: set[str], opts: RunOptions
) -> Generator[Effect, object, RunResult]:
    """The loop: ask the model, run the tools it calls, send the results back, until it answers."""
    base = {k: v for k, v in params.items() if k != "messages"}
    messages: list[dict[str, Any]] = list(params["messages"])
    steps: list[RunStep] = []
    stop_reason = "max_steps"
    pending: list[ToolCallRecord] = []
    for index in range(opts.max_steps):
        started = time.perf_counter()
        completion = yield from model_turn({**base, "messages": list(messages)}, index, opts.stream)
        if not completion.choices:
            raise APIResponseValidationError("The model's answer had no choices.")
        choice = completion.choices[0]
        message, records = assistant_turn(index, choice.message)
        messages.append(message)
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
            yield from tool_round(index, records, local, external, opts)
            messages.extend(
                {"role": "tool", "tool_call_id": r.id, "content": r.output} for r in records if r.status != "pending"
            )
        turn.duration = time.perf_counter() - started
        yield Emit(StepFinished(index, turn))
        pending = [r for r in records if r.status == "pending"]
        if pending or not records:
            stop_reason = "tool_calls" if pending else choice.finish_reason or "stop"
            break
    answer = RunResult(
        content=steps[-1].content,
        reasoning=steps[-1].reasoning,
        stop_reason=stop_reason,
        steps=steps,
        messages=messages,
        usage=total_usage(steps),
        pending_tool_calls=pending,
    )
    yield Emit(Done(len(steps) - 1, answer))
    return answer


def tool_round(
    index: int, records: list[ToolCallRecord], local: dict[str, Tool[..., object]], external: set[str], opts: RunOptions
) -> Generator[Effect, object, None]:
    """Validate, approve and run one turn's calls (``tool_errors="raise"``: re-raise the first failure)."""
    runnable = []
    for rec in records:
        prepare_call(rec, local, external, opts.tool_errors == "raise")
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
    finished = cast("list[ToolCallRecord]", (yield RunTools(runnable))) if runnable else []
    for rec in finished:  # in the order they finished
        yield Emit(ToolCallFinished(index, rec))
    if opts.tool_errors == "raise":
        for rec in runnable:
            if rec.exception is not None:
                raise rec.exception


def total_usage(steps: list[RunStep]) -> Usage:
    """The tokens of every turn added up."""
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
