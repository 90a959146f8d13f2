"""The chat streams: typed chunks, ``text_stream`` / ``reasoning_stream``, and the assembled completion."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, TypeVar

from glmkit._streaming import AsyncStream, Stream, StreamCore
from glmkit._transport import request_id_of
from glmkit.resources._chat_assembly import ChunkAccumulator
from glmkit.types.chat import ChatCompletion, ChatCompletionChunk

if TYPE_CHECKING:
    import httpx

__all__ = ["AsyncChatCompletionStream", "ChatCompletionStream", "open_chat_stream"]

S = TypeVar("S", "ChatCompletionStream", "AsyncChatCompletionStream")


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
        acc: ChunkAccumulator = self._core.accumulator
        return acc.result()


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
    async def text_stream(self) -> AsyncIterator[str]:
        """The answer's text pieces as they arrive (see ``ChatCompletionStream.text_stream``)."""
        for text in self._take_pending():
            yield text
        async for chunk in self._chunks:
            for c in chunk.choices:
                if c.index == 0 and c.delta.content:
                    yield c.delta.content
        self._core.check_finish()

    @property
    async def reasoning_stream(self) -> AsyncIterator[str]:
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


def open_chat_stream(cls: type[S]) -> functools.partial[S]:
    """The ``Call.stream`` factory wrapping an open response into a ``cls`` stream."""
    return functools.partial(_open, cls)


def _open(cls: type[S], response: httpx.Response) -> S:
    # pydantic's validator itself, not ChatCompletionChunk.model_validate_json: two Python frames less per chunk
    validate = ChatCompletionChunk.__pydantic_validator__.validate_json
    return cls(response, StreamCore(validate, ChunkAccumulator(), request_id_of(response)))
