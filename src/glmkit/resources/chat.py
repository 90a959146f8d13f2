"""``client.chat.completions``: plain and streaming chat, with the per-model rules applied before sending."""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, overload

import httpx
from typing_extensions import Unpack

from glmkit._errors import InputError
from glmkit._resource import AsyncResource, SyncResource
from glmkit._streaming import AsyncStream, Stream, StreamCore
from glmkit._transport import Call, request_id_of, split_options, with_options
from glmkit.catalog import default_model, get_model, normalize_model_id
from glmkit.types.chat import (
    ASYNC_CHAT_COMPLETIONS,
    ASYNC_RESULT,
    CHAT_COMPLETIONS,
    AsyncChatResult,
    AsyncTask,
    ChatCompletion,
    ChatCompletionBody,
    ChatCompletionChunk,
    ChatCompletionParams,
    ChunkAccumulator,
)

if TYPE_CHECKING:
    from glmkit.resources._runner import RunEvent, RunResult, ToolCallRecord
    from glmkit.resources._structured import ParsedCompletion

__all__ = ["AsyncChat", "AsyncChatCompletionStream", "AsyncCompletions", "Chat", "ChatCompletionStream", "Completions"]

_ROLES = {"system", "user", "assistant", "tool"}
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_MEDIA_PARTS = {"image_url", "video_url", "file_url", "file"}


def _check_messages(messages: Any, model: str) -> None:
    if not isinstance(messages, list) or not messages:
        raise InputError("messages must be a non-empty list of {'role': ..., 'content': ...} dicts.")
    roles = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or "role" not in m:
            raise InputError(f"messages[{i}] must be a dict with a 'role' (got {type(m).__name__}).")
        role = m["role"]
        if role not in _ROLES:
            raise InputError(f"messages[{i}] has role {role!r}; use one of system, user, assistant, tool.")
        if role == "tool" and not m.get("tool_call_id"):
            raise InputError(f"messages[{i}] is a tool message without 'tool_call_id'.")
        content = m.get("content")
        if role == "user" and content is None:
            raise InputError(f"messages[{i}] (user) has no 'content'.")
        if isinstance(content, list):
            for part in content:
                if not isinstance(part, dict) or "type" not in part:
                    raise InputError(f"messages[{i}] has a content part without 'type'.")
                if part["type"] in _MEDIA_PARTS:
                    info = get_model(model)
                    if info is not None and not info.vision:
                        raise InputError(
                            f"{model} reads text only, but messages[{i}] has a {part['type']} part.",
                            hint=f"Use a vision model such as {default_model('vision')} or {default_model('fast')}.",
                        )
        elif content is not None and not isinstance(content, str):
            raise InputError(f"messages[{i}].content must be a string or a list of parts.")
        roles.append(role)
    if all(r in ("system", "assistant") for r in roles):
        raise InputError("messages must include a user (or tool) message, not only system/assistant ones.")


def _range(params: dict[str, Any], name: str, lo: float, hi: float) -> None:
    value = params.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise InputError(f"{name} must be a number from {lo} to {hi} (got {value!r}).")


def prepare_chat_params(params: dict[str, Any]) -> dict[str, Any]:
    """Check a chat request and apply the per-model rules (reference §2.1, §2.5). Returns the body to send."""
    if "model" not in params:
        raise InputError("model is required, e.g. model='glm-5.3'.", hint="`glm models` lists them.")
    body = dict(params)
    model = body["model"] = normalize_model_id(body["model"])
    _check_messages(body.get("messages"), model)
    info = get_model(model)
    if info is not None and info.kind != "chat":
        raise InputError(
            f"{model} is not a chat model (it serves {info.kind}).", hint="`glm models` lists chat models."
        )
    max_tokens = body.get("max_tokens")
    if max_tokens is not None:
        limit = info.max_output if info and info.max_output else 131072
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or not 1 <= max_tokens <= limit:
            raise InputError(f"max_tokens must be an integer from 1 to {limit} for {model} (got {max_tokens!r}).")
    _range(body, "temperature", 0.0, 1.0)
    _range(body, "top_p", 0.01, 1.0)
    stop = body.get("stop")
    if isinstance(stop, str):
        body["stop"] = [stop]
    elif stop is not None and (not isinstance(stop, list) or len(stop) > 1):
        raise InputError("stop takes one stop word (the API accepts at most one).")
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list) or len(tools) > 128:
            raise InputError("tools must be a list of at most 128 tools.")
        for t in tools:
            fn = t.get("function") if isinstance(t, dict) and t.get("type") == "function" else None
            if fn is not None and not _TOOL_NAME.match(str(fn.get("name", ""))):
                raise InputError(
                    f"Tool name {fn.get('name')!r} must be 1-64 characters of letters, digits, '_' or '-'."
                )
    if body.get("tool_stream") and not body.get("stream"):
        raise InputError("tool_stream=True needs stream=True.")
    uid = body.get("user_id")
    if uid is not None and not 6 <= len(str(uid)) <= 128:
        raise InputError("user_id must be 6 to 128 characters.")
    _apply_thinking_rules(body, info)
    return body


def _apply_thinking_rules(body: dict[str, Any], info: Any) -> None:
    thinking = body.get("thinking")
    if isinstance(thinking, bool):
        thinking = body["thinking"] = {"type": "enabled" if thinking else "disabled"}
    if info is None:
        return
    if info.thinking == "none":
        body.pop("thinking", None)
    elif thinking and thinking.get("type") == "disabled" and not info.can_disable_thinking:
        # GLM-5.3 rejects "disabled"; the closest it offers is the lowest effort.
        rest = {k: v for k, v in thinking.items() if k != "type"}
        body["thinking"] = {"type": "enabled", **rest}
        body.setdefault("reasoning_effort", "low")
        warnings.warn(
            f"{info.id} always thinks; sent reasoning_effort='low' instead of thinking disabled.", stacklevel=5
        )
    effort = body.get("reasoning_effort")
    if effort is not None:
        if not info.efforts:
            body.pop("reasoning_effort")
        elif effort not in info.efforts:
            mapped = info.effort_map.get(effort)
            if mapped is None:
                raise InputError(f"reasoning_effort {effort!r} is not one of {', '.join(info.efforts)} for {info.id}.")
            body["reasoning_effort"] = mapped


def parse_completion(content: bytes) -> ChatCompletion:
    """Read a chat completion body."""
    return ChatCompletion.model_validate_json(content)


def parse_chunk(content: bytes) -> ChatCompletionChunk:
    """Read one stream chunk."""
    return ChatCompletionChunk.model_validate_json(content)


class _ChatStreamMixin:
    _core: StreamCore[ChatCompletionChunk]

    @functools.cached_property
    def _pending(self) -> list[str]:
        """Text that ``reasoning_stream`` read past (the first answer piece), for ``text_stream`` to yield first."""
        return []

    def _take_pending(self) -> list[str]:
        pending = list(self._pending)
        self._pending.clear()
        return pending

    @property
    def current_completion(self) -> ChatCompletion:
        """What has arrived so far, assembled."""
        return self._core.accumulator.result()  # type: ignore[no-any-return]


class ChatCompletionStream(Stream[ChatCompletionChunk], _ChatStreamMixin):
    """A streamed chat answer: iterate chunks, or ``text_stream``/``reasoning_stream``; then ``get_final_completion()``."""

    @functools.cached_property
    def _chunks(self) -> Iterator[ChatCompletionChunk]:
        """One reader shared by ``text_stream`` and ``reasoning_stream``, so leaving one does not close the stream."""
        return iter(self)

    @property
    def text_stream(self) -> Iterator[str]:
        """The answer's text pieces as they arrive (after any read by ``reasoning_stream``).

        Raises ``ContentFilterError`` / ``StreamError`` at the end if the answer was cut by the filter or failed.
        """
        yield from self._take_pending()
        for chunk in self._chunks:
            for c in chunk.choices:
                if c.index == 0 and c.delta.content:
                    yield c.delta.content
        self._core.check_finish()

    @property
    def reasoning_stream(self) -> Iterator[str]:
        """The reasoning pieces as they arrive; it ends where the answer's text starts: read ``text_stream`` next."""
        for chunk in self._chunks:
            for c in chunk.choices:
                if c.index == 0:
                    if c.delta.reasoning_content:
                        yield c.delta.reasoning_content
                    if c.delta.content:
                        self._pending.append(c.delta.content)
            if self._pending:
                return
        self._core.check_finish()

    def until_done(self) -> ChatCompletionStream:
        """Read the rest of the stream."""
        for _ in self._chunks:
            pass
        return self

    def get_final_completion(self) -> ChatCompletion:
        """Read the rest and return the whole message: text, reasoning, tool calls, usage.

        Raises:
            ContentFilterError: the answer ended with ``finish_reason='sensitive'``.
            StreamError: the answer ended with ``finish_reason='network_error'``.
        """
        if not self._core.done:
            self.until_done()
        self._core.check_finish()
        return self.current_completion


class AsyncChatCompletionStream(AsyncStream[ChatCompletionChunk], _ChatStreamMixin):
    """The async twin of ``ChatCompletionStream``."""

    @functools.cached_property
    def _chunks(self) -> AsyncIterator[ChatCompletionChunk]:
        """One reader shared by ``text_stream`` and ``reasoning_stream``."""
        return self.__aiter__()

    @property
    async def text_stream(self) -> AsyncIterator[str]:  # type: ignore[misc]
        """The answer's text pieces as they arrive (see ``ChatCompletionStream.text_stream``)."""
        for text in self._take_pending():
            yield text
        async for chunk in self._chunks:
            for c in chunk.choices:
                if c.index == 0 and c.delta.content:
                    yield c.delta.content
        self._core.check_finish()

    @property
    async def reasoning_stream(self) -> AsyncIterator[str]:  # type: ignore[misc]
        """The reasoning pieces as they arrive; it ends where the answer's text starts."""
        async for chunk in self._chunks:
            for c in chunk.choices:
                if c.index == 0:
                    if c.delta.reasoning_content:
                        yield c.delta.reasoning_content
                    if c.delta.content:
                        self._pending.append(c.delta.content)
            if self._pending:
                return
        self._core.check_finish()

    async def until_done(self) -> AsyncChatCompletionStream:
        """Read the rest of the stream."""
        async for _ in self._chunks:
            pass
        return self

    async def get_final_completion(self) -> ChatCompletion:
        """Read the rest and return the whole message (see ``ChatCompletionStream.get_final_completion``)."""
        if not self._core.done:
            await self.until_done()
        self._core.check_finish()
        return self.current_completion


def _open_stream(response: httpx.Response, kind: str) -> ChatCompletionStream | AsyncChatCompletionStream:
    # pydantic's validator itself, not parse_chunk: two Python frames less per chunk (same result, same errors)
    core = StreamCore(
        ChatCompletionChunk.__pydantic_validator__.validate_json, ChunkAccumulator(), request_id_of(response)
    )
    cls = ChatCompletionStream if kind == "sync" else AsyncChatCompletionStream
    return cls(response, core)


def chat_call(params: dict[str, Any], *, stream: bool | None = None) -> Call:
    """The ``Call`` for a chat completion (shared by the sync and async resources)."""
    params = dict(params)
    options = split_options(params)
    if stream is not None:
        params["stream"] = stream
    body = prepare_chat_params(params)
    if not body.get("stream"):
        body.pop("stream", None)
        call = Call(CHAT_COMPLETIONS, json=body, parse=parse_completion)
    else:
        call = Call(CHAT_COMPLETIONS, json=body, stream=_open_stream)
    return with_options(call, options)


class Completions(SyncResource):
    """``client.chat.completions``."""

    @overload
    def create(self, *, stream: Literal[True], **params: Unpack[ChatCompletionBody]) -> ChatCompletionStream: ...
    @overload
    def create(self, *, stream: Literal[False] = ..., **params: Unpack[ChatCompletionBody]) -> ChatCompletion: ...
    def create(self, **params: Any) -> ChatCompletion | ChatCompletionStream:
        """Create a chat completion; with ``stream=True`` a ``ChatCompletionStream`` (a context manager)."""
        return self._client._request(chat_call(params))  # type: ignore[no-any-return]

    def stream(self, **params: Unpack[ChatCompletionParams]) -> ChatCompletionStream:
        """Stream a chat completion: ``with client.chat.completions.stream(...) as s: ...``."""
        return self._client._request(chat_call(dict(params), stream=True))  # type: ignore[no-any-return]


class _AsyncStreamManager:
    """``async with client.chat.completions.stream(...) as s``: opens on enter, closes on exit."""

    def __init__(self, opener: Any) -> None:
        self._opener = opener
        self._stream: AsyncChatCompletionStream | None = None

    async def __aenter__(self) -> AsyncChatCompletionStream:
        self._stream = await self._opener
        return self._stream

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._stream is not None:
            await self._stream.close()


class AsyncCompletions(AsyncResource):
    """``client.chat.completions`` on ``AsyncClient``."""

    @overload
    async def create(
        self, *, stream: Literal[True], **params: Unpack[ChatCompletionBody]
    ) -> AsyncChatCompletionStream: ...
    @overload
    async def create(self, *, stream: Literal[False] = ..., **params: Unpack[ChatCompletionBody]) -> ChatCompletion: ...
    async def create(self, **params: Any) -> ChatCompletion | AsyncChatCompletionStream:
        """Create a chat completion; with ``stream=True`` an ``AsyncChatCompletionStream``."""
        return await self._client._request(chat_call(params))  # type: ignore[no-any-return]

    def stream(self, **params: Unpack[ChatCompletionParams]) -> _AsyncStreamManager:
        """Stream a chat completion: ``async with client.chat.completions.stream(...) as s: ...``."""
        call = chat_call(dict(params), stream=True)  # checked now, before any await
        return _AsyncStreamManager(self._client._request(call))


def async_submit_call(params: dict[str, Any]) -> Call:
    """The ``Call`` submitting an async chat job."""
    params = dict(params)
    options = split_options(params)
    params.pop("stream", None)
    body = prepare_chat_params(params)
    return with_options(Call(ASYNC_CHAT_COMPLETIONS, json=body, parse=AsyncTask.model_validate_json), options)


def async_result_call(task_id: str) -> Call:
    """The ``Call`` polling an async chat job."""
    if not task_id:
        raise InputError("task_id is required.")
    return Call(ASYNC_RESULT.format(id=task_id), parse=AsyncChatResult.model_validate_json)


class AsyncCompletionJobs(SyncResource):
    """``client.chat.async_completions``: submit a job, poll its result."""

    def create(self, **params: Unpack[ChatCompletionParams]) -> AsyncTask:
        """Submit a chat job; poll with ``retrieve(task.id)``."""
        return self._client._request(async_submit_call(dict(params)))  # type: ignore[no-any-return]

    def retrieve(self, task_id: str) -> AsyncChatResult:
        """The job's state and, once SUCCESS, its choices."""
        return self._client._request(async_result_call(task_id))  # type: ignore[no-any-return]


class AsyncAsyncCompletionJobs(AsyncResource):
    """The async twin of ``AsyncCompletionJobs``."""

    async def create(self, **params: Unpack[ChatCompletionParams]) -> AsyncTask:
        """Submit a chat job; poll with ``retrieve(task.id)``."""
        return await self._client._request(async_submit_call(dict(params)))  # type: ignore[no-any-return]

    async def retrieve(self, task_id: str) -> AsyncChatResult:
        """The job's state and, once SUCCESS, its choices."""
        return await self._client._request(async_result_call(task_id))  # type: ignore[no-any-return]


class Chat(SyncResource):
    """``client.chat``."""

    @property
    def completions(self) -> Completions:
        """Chat completions."""
        return Completions(self._client)

    @property
    def async_completions(self) -> AsyncCompletionJobs:
        """Async (job) chat completions."""
        return AsyncCompletionJobs(self._client)

    def run(
        self,
        *,
        max_steps: int = 8,
        parallel: bool = True,
        approve: Callable[[ToolCallRecord], bool] | None = None,
        on_event: Callable[[RunEvent], Any] | None = None,
        tool_errors: Literal["return", "raise"] = "return",
        max_workers: int = 8,
        **params: Any,
    ) -> RunResult:
        """Chat with tools until the model answers: ``run(model=, messages=, tools=[fn, ...], max_steps=8)``.

        Runs the tool calls (in parallel threads), validates their arguments, sends results and reasoning
        back; see ``glmkit.resources._runner``. ``approve(call) -> bool`` is asked before each call;
        ``tool_errors="raise"`` raises a tool's exception instead of showing it to the model; with
        ``on_event`` the turns are streamed and each event (as ``run_stream`` yields them) is passed to it.
        """
        from glmkit.resources._runner import run_sync

        options = {"max_steps": max_steps, "parallel": parallel, "approve": approve, "on_event": on_event}
        return run_sync(self._client, {**params, **options, "tool_errors": tool_errors, "max_workers": max_workers})

    def run_stream(
        self,
        *,
        max_steps: int = 8,
        parallel: bool = True,
        approve: Callable[[ToolCallRecord], bool] | None = None,
        on_event: Callable[[RunEvent], Any] | None = None,
        tool_errors: Literal["return", "raise"] = "return",
        max_workers: int = 8,
        **params: Any,
    ) -> Iterator[RunEvent]:
        """``run`` as an iterator of events: text/reasoning deltas, tool call started/finished, step finished, done."""
        from glmkit.resources._runner import run_stream_sync

        options = {"max_steps": max_steps, "parallel": parallel, "approve": approve, "on_event": on_event}
        return run_stream_sync(
            self._client, {**params, **options, "tool_errors": tool_errors, "max_workers": max_workers}
        )

    def parse(self, *, response_format: Any, **params: Any) -> ParsedCompletion:
        """Answer as an instance of ``response_format`` (a pydantic model): ``.parsed`` on the completion.

        The model sees the JSON schema; an answer that does not validate is sent back with the error once.
        Raises ``APIResponseValidationError`` when the second answer does not validate either.
        """
        from glmkit.resources._structured import parse_sync

        return parse_sync(self._client, {**params, "response_format": response_format})


class AsyncChat(AsyncResource):
    """``client.chat`` on ``AsyncClient``."""

    @property
    def completions(self) -> AsyncCompletions:
        """Chat completions."""
        return AsyncCompletions(self._client)

    @property
    def async_completions(self) -> AsyncAsyncCompletionJobs:
        """Async (job) chat completions."""
        return AsyncAsyncCompletionJobs(self._client)

    async def run(
        self,
        *,
        max_steps: int = 8,
        parallel: bool = True,
        approve: Callable[[ToolCallRecord], Any] | None = None,
        on_event: Callable[[RunEvent], Any] | None = None,
        tool_errors: Literal["return", "raise"] = "return",
        max_workers: int = 8,
        **params: Any,
    ) -> RunResult:
        """The async twin of ``Chat.run``: async tools run on the loop, sync ones in worker threads."""
        from glmkit.resources._runner import run_async

        options = {"max_steps": max_steps, "parallel": parallel, "approve": approve, "on_event": on_event}
        return await run_async(
            self._client, {**params, **options, "tool_errors": tool_errors, "max_workers": max_workers}
        )

    def run_stream(
        self,
        *,
        max_steps: int = 8,
        parallel: bool = True,
        approve: Callable[[ToolCallRecord], Any] | None = None,
        on_event: Callable[[RunEvent], Any] | None = None,
        tool_errors: Literal["return", "raise"] = "return",
        max_workers: int = 8,
        **params: Any,
    ) -> AsyncIterator[RunEvent]:
        """``async for event in client.chat.run_stream(...)``: the events of ``run``."""
        from glmkit.resources._runner import run_stream_async

        options = {"max_steps": max_steps, "parallel": parallel, "approve": approve, "on_event": on_event}
        return run_stream_async(
            self._client, {**params, **options, "tool_errors": tool_errors, "max_workers": max_workers}
        )

    async def parse(self, *, response_format: Any, **params: Any) -> ParsedCompletion:
        """The async twin of ``Chat.parse``."""
        from glmkit.resources._structured import parse_async

        return await parse_async(self._client, {**params, "response_format": response_format})
