"""``client.chat.completions``: plain and streaming chat, with the per-model rules applied before sending."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, overload

import httpx
from typing_extensions import Unpack

from glmkit._errors import InputError
from glmkit._resource import AsyncResource, SyncResource
from glmkit._streaming import AsyncStream, Stream, StreamCore
from glmkit._transport import Call, request_id_of, split_options, with_options
from glmkit.resources._chat_checks import prepare_chat_params
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
