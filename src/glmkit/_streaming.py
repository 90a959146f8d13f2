"""Streams of typed chunks over SSE, sync and async, sharing one decoding core.

``StreamCore`` turns bytes into typed chunks (``[DONE]``, ``{"error": ...}`` frames and
``event: error`` handled) and folds them into the final result; ``Stream`` and ``AsyncStream`` only
pull bytes. A stream closes its connection on exit, on error, and when fully read. If the connection
drops mid-way, ``APIConnectionError`` is raised with ``partial`` set to what was assembled.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from glmkit._call import transport_errors
from glmkit._errors import APIConnectionError, ContentFilterError, StreamError, make_status_error
from glmkit._sse import SSEDecoder

T = TypeVar("T")
S = TypeVar("S", bound="AsyncStream[Any]")

__all__ = ["AsyncStream", "AsyncStreamManager", "Stream", "StreamCore"]

_DONE = b"[DONE]"
# No chunk_size on iter_raw: httpx's chunker holds bytes back until a whole chunk_size has arrived,
# which would delay every SSE event of a short answer to the end of the stream. httpcore already
# reads up to 64 KiB per recv, so chunks come as large as the network delivers them.


class StreamCore(Generic[T]):
    """Bytes in, typed chunks out; keeps an optional accumulator of everything seen."""

    __slots__ = ("accumulator", "decoder", "done", "parse", "request_id")

    def __init__(self, parse: Callable[[bytes], T], accumulator: Any = None, request_id: str | None = None) -> None:
        self.decoder = SSEDecoder()
        self.parse = parse
        self.accumulator = accumulator
        self.done = False
        self.request_id = request_id

    def partial(self) -> Any:
        """What the stream added up to so far (``None`` without an accumulator)."""
        return self.accumulator.result() if self.accumulator is not None else None

    def feed(self, data: bytes) -> list[T]:
        """Decode bytes into chunks; raises on an error frame."""
        out: list[T] = []
        if self.done:
            return out
        acc = self.accumulator
        parse = self.parse
        for item in self.decoder.feed_data(data):
            if isinstance(item, bytes):  # a plain data event: the common case
                raw = item
                name = None
            else:
                raw = item.data
                name = item.event
            if raw == _DONE:
                self.done = True
                break
            if name == "error" or (b'"error"' in raw and self._is_error(raw)):
                self._raise_error(raw)
            chunk = parse(raw)
            if acc is not None:
                acc.add(chunk)
            out.append(chunk)
        return out

    @staticmethod
    def _is_error(raw: bytes) -> bool:
        try:
            obj = json.loads(raw)
        except ValueError:
            return False
        return isinstance(obj, dict) and "error" in obj and "choices" not in obj

    def _raise_error(self, raw: bytes) -> None:
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"error": {"message": raw.decode("utf-8", "replace")}}
        if isinstance(body, dict) and "error" not in body:
            body = {"error": body}
        code = (body.get("error") or {}).get("code") if isinstance(body.get("error"), dict) else None
        status = 500
        if code is not None:
            from glmkit._errors import lookup

            status = lookup(500, code).status
        error = make_status_error(status, body, request_id=self.request_id)
        raise StreamError(
            f"The stream ended with an error: {error}",
            partial=self.partial(),
            hint=error.hint,
        ) from error

    def end(self) -> None:
        """The connection closed: complain if it closed early."""
        if self.done:
            return
        acc = self.accumulator
        if getattr(acc, "complete", False):  # a Responses stream: its final event came (no [DONE] there)
            self.done = True
            return
        finish = None
        if acc is not None and getattr(acc, "choices", None):
            finish = acc.choices[min(acc.choices)].finish_reason
        if finish is not None:  # a complete answer without [DONE]: accept it
            self.done = True
            return
        raise APIConnectionError(
            "The stream was cut before it finished.",
            partial=self.partial(),
            hint="The partial answer is on the exception's .partial; retry to get the whole answer.",
        )

    def check_finish(self) -> None:
        """Surface ``sensitive`` / ``network_error`` finish reasons instead of swallowing them."""
        acc = self.accumulator
        if acc is None or not getattr(acc, "choices", None):
            return
        finish = acc.choices[min(acc.choices)].finish_reason
        if finish == "sensitive":
            error = ContentFilterError(
                "The answer was stopped by the content filter (finish_reason 'sensitive').",
                status_code=200,
                code="1301",
                request_id=self.request_id,
                body=None,
                hint="What arrived before the filter is on the exception's .partial; rephrase the request.",
            )
            error.partial = self.partial()
            raise error
        if finish == "network_error":
            raise StreamError(
                "The model failed during inference (finish_reason 'network_error').",
                partial=self.partial(),
                finish_reason=finish,
                hint="Retry the request.",
            )


class _StreamBase(Generic[T]):
    def __init__(self, response: Any, core: StreamCore[T]) -> None:  # an httpx.Response or a lean reply
        self.response = response
        self._core = core

    @property
    def request_id(self) -> str | None:
        """The request id from the response headers or the first chunk."""
        return self._core.request_id

    @property
    def headers(self) -> Mapping[str, str]:
        """The response headers (names matched without regard to case)."""
        headers: Mapping[str, str] = self.response.headers
        return headers


class Stream(_StreamBase[T]):
    """A sync stream of typed chunks; use as an iterator and a context manager."""

    def __iter__(self) -> Iterator[T]:
        core = self._core
        if core.done:  # read to the end already (e.g. reasoning_stream, then text_stream): nothing more
            return
        try:
            for data in self.response.iter_raw():
                yield from core.feed(data)
                if core.done:
                    break
            core.end()
        except transport_errors() as exc:
            raise APIConnectionError(
                f"The stream broke: {exc or type(exc).__name__}.",
                partial=core.partial(),
                hint="The partial answer is on the exception's .partial.",
            ) from exc
        finally:
            self.close()

    def close(self) -> None:
        """Close the connection."""
        self.response.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncStream(_StreamBase[T]):
    """An async stream of typed chunks; use with ``async for`` and ``async with``."""

    async def __aiter__(self) -> AsyncIterator[T]:
        core = self._core
        if core.done:
            return
        try:
            async for data in self.response.aiter_raw():
                for chunk in core.feed(data):
                    yield chunk
                if core.done:
                    break
            core.end()
        except transport_errors() as exc:
            raise APIConnectionError(
                f"The stream broke: {exc or type(exc).__name__}.",
                partial=core.partial(),
                hint="The partial answer is on the exception's .partial.",
            ) from exc
        finally:
            await self.close()

    async def close(self) -> None:
        """Close the connection."""
        await self.response.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class AsyncStreamManager(Generic[S]):
    """``async with client.<resource>.stream(...) as s``: opens the stream on enter, closes it on exit."""

    def __init__(self, opener: Awaitable[S]) -> None:
        self._opener = opener
        self._stream: S | None = None

    async def __aenter__(self) -> S:
        self._stream = await self._opener
        return self._stream

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._stream is not None:
            await self._stream.close()
