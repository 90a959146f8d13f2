"""glmkit's async HTTP/1.1 transport: asyncio streams, keep-alive, TLS, no httpx.

httpx's own async stack (httpcore over anyio) costs about a millisecond of CPU per request, more than
everything else a request through glmkit does (reference performance.md: httpx 0.28 ``AsyncClient`` ~900
req/s with one in flight, a hand-written asyncio client ~10x that), and ``import httpx`` costs a fresh process
more than its first request. The SDK's ``AsyncClient`` and the gateway send their plain JSON calls with
``AsyncLeanTransport.exchange``: request bytes built by ``_call.lean_request``, answered as an ``AsyncReply``
(no httpx request, response or header objects; httpx is not even imported). ``_http11`` puts this transport
under httpx for what goes through an ``httpx.AsyncClient``. The framing itself lives in ``_wire``, shared with
the sync client's transport (``_sync_http``). It speaks what the Z.AI API needs: one request per connection
at a time, ``Content-Length`` or chunked bodies, TLS for ``https`` with httpx's trust (``_wire.ssl_context``).
Failures are the builtin ``OSError`` family, as the sync transport's: ``TimeoutError`` for timeouts
(``ConnectTimeout`` while connecting), ``ConnectionError`` for the rest (``ConnectFailed`` while connecting,
``_wire.ProtocolError`` for what is not HTTP/1.1 as we speak it).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable
from typing import TYPE_CHECKING, Any

from glmkit._wire import HEAD_LIMIT, Dechunker, Headers, ProtocolError, Reply, parse_head, ssl_context

if TYPE_CHECKING:
    import ssl

__all__ = ["AsyncLeanTransport", "AsyncReply", "Body", "ConnectFailed", "ConnectTimeout", "running", "sleep"]


class ConnectTimeout(TimeoutError):
    """No connection to the server within the connect timeout."""


class ConnectFailed(ConnectionError):
    """No connection to the server (refused, unreachable, no such host, a failed TLS handshake)."""


_MAX_IDLE = 64
_SPLIT_BODY = 1 << 20
_READ = 262144


class _Deadline:
    """A connection's read timeout: one timer per connection, not one per request or per read.

    ``asyncio.timeout`` or ``asyncio.wait_for`` around each wait costs a timer (and a task, for ``wait_for``) per
    wait: for the response head of every request, and for every read of a stream. Here a wait marks when it
    starts; the one timer, when it fires, cancels the waiting task if that wait has lasted ``timeout`` seconds,
    re-arms itself for when the current wait would be due if one is under way, and otherwise lapses until the
    next wait arms it. It so fires about once per ``timeout`` while the connection is busy, never while it idles.
    """

    __slots__ = ("fired", "handle", "loop", "since", "task", "timeout", "waiting")

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.timeout = 0.0
        self.since = 0.0
        self.waiting = False
        self.fired = False
        self.task: asyncio.Task[Any] | None = None
        self.handle: asyncio.TimerHandle | None = None

    def _start(self) -> None:
        self.since = now = self.loop.time()
        self.task = asyncio.current_task(self.loop)  # the loop given: no look-up of the running one
        self.waiting = True
        handle = self.handle
        if handle is None or handle.when() > now + self.timeout:  # none armed, or armed too late for this wait
            if handle is not None:
                handle.cancel()
            self.handle = self.loop.call_at(now + self.timeout, self._check)

    def _check(self) -> None:
        self.handle = None
        if not self.waiting:
            return  # idle: the next wait arms it again
        if self.loop.time() - self.since >= self.timeout and self.task is not None:
            self.fired = True
            self.task.cancel()
            return
        self.handle = self.loop.call_at(self.since + self.timeout, self._check)

    def _expired(self) -> bool:
        """After a ``CancelledError``: whether it was this deadline's (the task's cancellation is then taken back)."""
        if not self.fired:
            return False
        self.fired = False
        if self.task is not None:
            self.task.uncancel()
        return True

    async def _wait(self, waiting: Awaitable[bytes], timed_out: str) -> bytes:
        self._start()
        try:
            return await waiting
        except asyncio.CancelledError:
            if not self._expired():
                raise
            raise TimeoutError(timed_out) from None
        finally:
            self.waiting = False

    def read(self, reader: asyncio.StreamReader, n: int) -> Awaitable[bytes]:
        """``reader.read(n)``, raising ``TimeoutError`` when it waits longer than the timeout."""
        return self._wait(reader.read(n), "upstream read timed out")

    def head(self, reader: asyncio.StreamReader) -> Awaitable[bytes]:
        """A response head (up to its blank line), raising ``TimeoutError`` when it waits longer than the timeout."""
        return self._wait(reader.readuntil(b"\r\n\r\n"), "upstream did not answer in time")

    def close(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None


class _Conn:
    __slots__ = ("_deadline", "key", "reader", "writer")

    def __init__(self, key: tuple[str, str, int], reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.key = key
        self.reader = reader
        self.writer = writer
        self._deadline: _Deadline | None = None

    def deadline(self, timeout: float) -> _Deadline:
        """The connection's read deadline, set to ``timeout`` seconds for the waits to come."""
        deadline = self._deadline
        if deadline is None:
            deadline = self._deadline = _Deadline()
        deadline.timeout = timeout
        return deadline

    def close(self) -> None:
        if self._deadline is not None:
            self._deadline.close()
        with contextlib.suppress(OSError, RuntimeError):  # a socket already gone, or its loop already closed
            self.writer.close()


class Body:
    """The response body; gives the connection back to the pool once read to the end (or to its last piece).

    Each network read yields once: the payload of every HTTP chunk that read completed (and the start of one
    it did not), joined. Events that arrive together so leave the gateway together, in one write."""

    def __init__(
        self,
        transport: AsyncLeanTransport,
        conn: _Conn,
        length: int | None,
        chunked: bool,
        keep: bool,
        read_timeout: float | None,
    ) -> None:
        self.transport = transport
        self.conn = conn
        self.length = length
        self.chunked = chunked
        self.keep = keep
        self.timeout = read_timeout
        self.done = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        reader = self.conn.reader
        if self._arrived():  # a whole answer already read with its head (most non-streamed ones): no wait, no timer
            data = await self.read()
            if data:
                yield data
            return
        read = self.conn.deadline(self.timeout).read if self.timeout else _untimed_read
        try:
            if self.chunked:
                async for data in _dechunk(reader, read, self):
                    yield data
            elif self.length is not None:
                left = self.length
                while left > 0:
                    data = await read(reader, min(left, _READ))
                    if not data:
                        raise ProtocolError("upstream closed the connection mid-body")
                    left -= len(data)
                    self.done = not left  # before the last piece goes out: a reader may stop at it
                    yield data
            else:
                while True:
                    data = await read(reader, _READ)
                    if not data:
                        break
                    yield data
                self.keep = False
        except (TimeoutError, ConnectionError):
            raise
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            raise ConnectionError(f"upstream connection failed: {exc or type(exc).__name__}") from exc
        self.done = True

    async def read(self) -> bytes:
        """The whole body: straight from the reader when it came with the head (no generator, no timer)."""
        if self._arrived():
            self.done = True
            return await self.conn.reader.read(self.length) if self.length else b""
        return b"".join([data async for data in self])

    def _arrived(self) -> bool:
        return self.length is not None and not self.chunked and _buffered(self.conn.reader) >= self.length

    async def aclose(self) -> None:
        if self.done and self.keep:
            self.transport._release(self.conn)
        else:
            self.conn.close()
        self.done, self.keep = True, False


def _buffered(reader: asyncio.StreamReader) -> int:
    """Bytes the reader holds already (0 where its buffer is not visible)."""
    buffer = getattr(reader, "_buffer", None)
    return len(buffer) if buffer is not None else 0


async def _untimed_read(reader: asyncio.StreamReader, n: int) -> bytes:
    return await reader.read(n)


async def _dechunk(reader: asyncio.StreamReader, read: Any, body: Body) -> AsyncIterator[bytes]:
    """A chunked body's payload, one piece per network read (every chunk that read completed, joined)."""
    chunks = Dechunker()
    try:
        while not chunks.done:
            data = await read(reader, _READ)
            if not data:
                raise ConnectionError("upstream closed the connection mid-body")
            piece = chunks.feed(data)
            body.done = chunks.done  # before the last piece goes out: a reader may stop at it
            if piece:
                yield piece
    except ValueError as exc:
        raise ProtocolError("malformed chunk size line from the upstream") from exc


class AsyncReply(Reply):
    """A response straight from ``AsyncLeanTransport.exchange``, without httpx's objects: ``aread`` or ``aiter_raw``."""

    __slots__ = ("_body", "_start")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: Body, start: float) -> None:
        super().__init__(status, Headers(headers))
        self._body = body
        self._start = start

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        """The body as it arrives, one piece per network read."""
        if self._content is not None:
            if self._content:
                yield self._content
            return
        async for data in self._body:
            yield data
        self._elapsed = time.perf_counter() - self._start

    async def aread(self) -> bytes:
        """The whole body (read once, kept)."""
        if self._content is None:
            self._content = await self._body.read()
            self._elapsed = time.perf_counter() - self._start
        return self._content

    async def aclose(self) -> None:
        """Give the connection back (the body read to its end) or close it."""
        await self._body.aclose()
        if self._elapsed is None:
            self._elapsed = time.perf_counter() - self._start


class AsyncLeanTransport:
    """HTTP/1.1 over asyncio streams with a keep-alive pool (one request per connection at a time)."""

    def __init__(self) -> None:
        self._idle: dict[tuple[str, str, int], list[_Conn]] = {}
        self._ssl: ssl.SSLContext | None = None  # made for the first https connection: loading CAs takes a while

    def _tls(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl_context()  # httpx's trust: SSL_CERT_FILE / SSL_CERT_DIR when set, else certifi's
        return self._ssl

    def _release(self, conn: _Conn) -> None:
        idle = self._idle.setdefault(conn.key, [])
        if len(idle) < _MAX_IDLE and not conn.writer.is_closing():
            idle.append(conn)
        else:
            conn.close()

    async def _connect(self, key: tuple[str, str, int], timeout: float | None) -> _Conn:
        scheme, host, port = key
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=self._tls() if scheme == "https" else None, limit=HEAD_LIMIT
                )
        except TimeoutError as exc:
            raise ConnectTimeout(f"connecting to {host}:{port} timed out") from exc
        except OSError as exc:
            raise ConnectFailed(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from exc
        return _Conn(key, reader, writer)

    async def exchange(
        self,
        key: tuple[str, str, int],
        start: bytes,
        body: bytes,
        connect_timeout: float | None,
        read_timeout: float | None,
        *,
        head_only: bool = False,
    ) -> tuple[int, list[tuple[bytes, bytes]], Body]:
        """Send a request's head (``start``, up to its blank line) and body; the status, headers and body stream."""
        # one write for the usual small body; a large one (a 50 MB prompt) goes as a view after the head, so
        # neither the concatenation nor the transport's slice of the unsent rest copies it again
        payload: bytes | None = start + body if len(body) < _SPLIT_BODY else None
        idle = self._idle.get(key)
        for attempt in (0, 1):
            reused = bool(idle)
            conn = idle.pop() if idle else await self._connect(key, connect_timeout)
            try:
                if payload is not None:
                    conn.writer.write(payload)
                else:
                    conn.writer.write(start)
                    conn.writer.write(memoryview(body))
                head = await self._head(conn, read_timeout)
            except OSError as exc:
                conn.close()
                if reused and attempt == 0 and not isinstance(exc, TimeoutError):
                    idle = self._idle.get(key)
                    continue  # a pooled connection the server had closed: once more on a fresh one
                raise
            except BaseException:
                conn.close()
                raise
            break
        status, headers, length, chunked, keep = head
        if head_only or status in (204, 304) or 100 <= status < 200:
            length, chunked = 0, False
        return status, headers, Body(self, conn, length, chunked, keep, read_timeout)

    async def _head(
        self, conn: _Conn, timeout: float | None
    ) -> tuple[int, list[tuple[bytes, bytes]], int | None, bool, bool]:
        try:
            if timeout:
                raw = await conn.deadline(timeout).head(conn.reader)
            else:
                raw = await conn.reader.readuntil(b"\r\n\r\n")
        except TimeoutError:
            raise
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError) as exc:
            raise ConnectionError(f"upstream closed the connection: {exc or type(exc).__name__}") from exc
        try:
            return parse_head(raw[:-4])
        except ProtocolError:
            raise
        except ValueError as exc:
            raise ProtocolError(str(exc)) from exc

    async def aclose(self) -> None:
        """Close every idle connection."""
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()


def running() -> bool:
    """Whether the running event loop is asyncio's (this transport's); not under trio."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def sleep(seconds: float) -> None:
    """Sleep under whichever event loop runs: asyncio's, or trio's through anyio."""
    if running():
        await asyncio.sleep(seconds)
    else:
        import anyio

        await anyio.sleep(seconds)
