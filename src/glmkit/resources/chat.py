"""``client.chat``: chat completions, plain and streamed; jobs; and the tool-running ``run`` / ``parse`` façade.

The request checks are in ``_chat_checks``, the streams in ``_chat_streams``, the job resources in ``_chat_jobs``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from typing_extensions import Unpack

from glmkit._resource import AsyncResource, SyncResource
from glmkit._streaming import AsyncStreamManager
from glmkit._transport import Call, split_options, with_options
from glmkit.resources._chat_checks import prepare_chat_params
from glmkit.resources._chat_jobs import AsyncChatJobs, ChatJobs
from glmkit.resources._chat_streams import AsyncChatCompletionStream, ChatCompletionStream, open_chat_stream
from glmkit.types.chat import (
    CHAT_COMPLETIONS,
    ChatCompletion,
    ChatCompletionBody,
    ChatCompletionParams,
    ParseParams,
    RunParams,
)

if TYPE_CHECKING:
    from glmkit.resources._runner import RunEvent, RunResult, ToolCallRecord
    from glmkit.resources._structured import ParsedCompletion

__all__ = [
    "AsyncChat",
    "AsyncChatCompletionStream",
    "AsyncChatJobs",
    "AsyncCompletions",
    "Chat",
    "ChatCompletionStream",
    "ChatJobs",
    "Completions",
]

S = TypeVar("S", ChatCompletionStream, AsyncChatCompletionStream)


def parse_completion(content: bytes) -> ChatCompletion:
    """Read a chat completion body."""
    return ChatCompletion.model_validate_json(content)


def chat_call(params: dict[str, Any]) -> Call[ChatCompletion]:
    """The ``Call`` for a whole chat completion (shared by the sync and async resources)."""
    params = dict(params)
    options = split_options(params)
    body = prepare_chat_params(params)
    body.pop("stream", None)
    return with_options(Call(CHAT_COMPLETIONS, json=body, parse=parse_completion), options)


def chat_stream_call(params: dict[str, Any], cls: type[S]) -> Call[S]:
    """The ``Call`` for a streamed chat completion, read as a ``cls`` stream."""
    params = dict(params)
    options = split_options(params)
    params["stream"] = True
    body = prepare_chat_params(params)
    return with_options(Call(CHAT_COMPLETIONS, json=body, stream=open_chat_stream(cls)), options)


class Completions(SyncResource):
    """``client.chat.completions``."""

    @overload
    def create(self, *, stream: Literal[True], **params: Unpack[ChatCompletionBody]) -> ChatCompletionStream: ...
    @overload
    def create(self, *, stream: Literal[False] = ..., **params: Unpack[ChatCompletionBody]) -> ChatCompletion: ...
    def create(self, **params: Any) -> ChatCompletion | ChatCompletionStream:
        """Create a chat completion; with ``stream=True`` a ``ChatCompletionStream`` (a context manager)."""
        if params.get("stream"):
            return self._client._request(chat_stream_call(params, ChatCompletionStream))
        return self._client._request(chat_call(params))

    def stream(self, **params: Unpack[ChatCompletionParams]) -> ChatCompletionStream:
        """Stream a chat completion: ``with client.chat.completions.stream(...) as s: ...``."""
        return self._client._request(chat_stream_call(dict(params), ChatCompletionStream))


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
        if params.get("stream"):
            return await self._client._request(chat_stream_call(params, AsyncChatCompletionStream))
        return await self._client._request(chat_call(params))

    def stream(self, **params: Unpack[ChatCompletionParams]) -> AsyncStreamManager[AsyncChatCompletionStream]:
        """Stream a chat completion: ``async with client.chat.completions.stream(...) as s: ...``."""
        call = chat_stream_call(dict(params), AsyncChatCompletionStream)  # checked now, before any await
        return AsyncStreamManager(self._client._request(call))


class Chat(SyncResource):
    """``client.chat``."""

    @property
    def completions(self) -> Completions:
        """Chat completions."""
        return Completions(self._client)

    @property
    def async_completions(self) -> ChatJobs:
        """Async (job) chat completions."""
        return ChatJobs(self._client)

    def run(
        self,
        *,
        max_steps: int = 8,
        parallel: bool = True,
        approve: Callable[[ToolCallRecord], bool] | None = None,
        on_event: Callable[[RunEvent], Any] | None = None,
        tool_errors: Literal["return", "raise"] = "return",
        max_workers: int = 8,
        **params: Unpack[RunParams],
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
        **params: Unpack[RunParams],
    ) -> Iterator[RunEvent]:
        """``run`` as an iterator of events: text/reasoning deltas, tool call started/finished, step finished, done."""
        from glmkit.resources._runner import run_stream_sync

        options = {"max_steps": max_steps, "parallel": parallel, "approve": approve, "on_event": on_event}
        return run_stream_sync(
            self._client, {**params, **options, "tool_errors": tool_errors, "max_workers": max_workers}
        )

    def parse(self, *, response_format: Any, **params: Unpack[ParseParams]) -> ParsedCompletion:
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
    def async_completions(self) -> AsyncChatJobs:
        """Async (job) chat completions."""
        return AsyncChatJobs(self._client)

    async def run(
        self,
        *,
        max_steps: int = 8,
        parallel: bool = True,
        approve: Callable[[ToolCallRecord], Any] | None = None,
        on_event: Callable[[RunEvent], Any] | None = None,
        tool_errors: Literal["return", "raise"] = "return",
        max_workers: int = 8,
        **params: Unpack[RunParams],
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
        **params: Unpack[RunParams],
    ) -> AsyncIterator[RunEvent]:
        """``async for event in client.chat.run_stream(...)``: the events of ``run``."""
        from glmkit.resources._runner import run_stream_async

        options = {"max_steps": max_steps, "parallel": parallel, "approve": approve, "on_event": on_event}
        return run_stream_async(
            self._client, {**params, **options, "tool_errors": tool_errors, "max_workers": max_workers}
        )

    async def parse(self, *, response_format: Any, **params: Unpack[ParseParams]) -> ParsedCompletion:
        """The async twin of ``Chat.parse``."""
        from glmkit.resources._structured import parse_async

        return await parse_async(self._client, {**params, "response_format": response_format})
