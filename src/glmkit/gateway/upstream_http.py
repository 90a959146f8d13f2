"""A lean HTTP/1.1 transport for the gateway's ``httpx.AsyncClient``: asyncio streams, keep-alive, nothing else.

httpx's own async stack (httpcore over anyio) costs about a millisecond of CPU per request here, more
than everything else the gateway does (reference performance.md: httpx 0.28 ``AsyncClient`` ~900 req/s with
one in flight, a hand-written asyncio client ~10x that). The gateway keeps httpx's API (requests,
responses, errors, content decoding) and swaps only the transport underneath, which httpx allows by
design. It speaks what the upstream needs: one request per connection at a time, ``Content-Length`` or
chunked bodies, TLS for ``https``. A proxy in the environment sends the gateway back to httpx's transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from typing import Any

import httpx

__all__ = ["LeanTransport"]

_MAX_IDLE = 64
_HEAD_LIMIT = 65536
_SPLIT_BODY = 1 << 20


class _Conn:
    __slots__ = ("key", "reader", "writer")

    def __init__(self, key: tuple[str, str, int], reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.key = key
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a socket already gone
            self.writer.close()


class _Body(httpx.AsyncByteStream):
    """The response body; gives the connection back to the pool once read to the end."""

    def __init__(
        self,
        transport: LeanTransport,
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

    async def _read(self, coro: Any) -> Any:
        try:
            return await asyncio.wait_for(coro, self.timeout) if self.timeout else await coro
        except TimeoutError as exc:
            raise httpx.ReadTimeout("upstream read timed out") from exc
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            raise httpx.ReadError(f"upstream connection failed: {exc or type(exc).__name__}") from exc

    async def __aiter__(self) -> AsyncIterator[bytes]:
        reader = self.conn.reader
        if self.chunked:
            while True:
                line = await self._read(reader.readuntil(b"\r\n"))
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while (await self._read(reader.readuntil(b"\r\n"))) != b"\r\n":
                        pass  # trailers
                    break
                data = await self._read(reader.readexactly(size + 2))
                yield data[:-2]
        elif self.length is not None:
            left = self.length
            while left > 0:
                data = await self._read(reader.read(min(left, 262144)))
                if not data:
                    raise httpx.RemoteProtocolError("upstream closed the connection mid-body")
                left -= len(data)
                yield data
        else:
            while True:
                data = await self._read(reader.read(262144))
                if not data:
                    break
                yield data
            self.keep = False
        self.done = True

    async def aclose(self) -> None:
        if self.done and self.keep:
            self.transport._release(self.conn)
        else:
            self.conn.close()
        self.done, self.keep = True, False


class LeanTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over asyncio streams with a keep-alive pool (one request per connection at a time)."""

    def __init__(self, *, verify: bool = True) -> None:
        self._idle: dict[tuple[str, str, int], list[_Conn]] = {}
        self._ssl = ssl.create_default_context() if verify else ssl._create_unverified_context()

    def _release(self, conn: _Conn) -> None:
        idle = self._idle.setdefault(conn.key, [])
        if len(idle) < _MAX_IDLE and not conn.writer.is_closing():
            idle.append(conn)
        else:
            conn.close()

    async def _connect(self, key: tuple[str, str, int], timeout: float | None) -> _Conn:
        scheme, host, port = key
        try:
            coro = asyncio.open_connection(host, port, ssl=self._ssl if scheme == "https" else None, limit=_HEAD_LIMIT)
            reader, writer = await (asyncio.wait_for(coro, timeout) if timeout else coro)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out") from exc
        except OSError as exc:
            raise httpx.ConnectError(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from exc
        return _Conn(key, reader, writer)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send one request and return the response with its body still to read."""
        url = request.url
        scheme = url.scheme
        key = (scheme, url.host, url.port or (443 if scheme == "https" else 80))
        timeouts = request.extensions.get("timeout") or {}
        try:
            body = request.content
        except httpx.RequestNotRead:
            body = await request.aread()
        target = url.raw_path.decode("ascii")
        lines = [f"{request.method} {target} HTTP/1.1\r\n".encode()]
        has_host = False
        for name, value in request.headers.raw:
            low = name.lower()
            if low == b"host":
                has_host = True
            if low in (b"transfer-encoding", b"content-length", b"connection"):
                continue
            lines.append(name + b": " + value + b"\r\n")
        if not has_host:
            lines.append(b"Host: " + url.netloc + b"\r\n")
        lines.append(b"Content-Length: %d\r\n\r\n" % len(body))
        start = b"".join(lines)
        # one write for the usual small body; a large one (a 50 MB prompt) goes as a view after the head, so
        # neither the concatenation nor the transport's slice of the unsent rest copies it again
        payload: bytes | None = start + body if len(body) < _SPLIT_BODY else None
        idle = self._idle.get(key)
        for attempt in (0, 1):
            reused = bool(idle)
            conn = idle.pop() if idle else await self._connect(key, timeouts.get("connect"))
            try:
                if payload is not None:
                    conn.writer.write(payload)
                else:
                    conn.writer.write(start)
                    conn.writer.write(memoryview(body))
                head = await self._head(conn, timeouts.get("read"))
            except (httpx.ReadError, httpx.RemoteProtocolError, OSError):
                conn.close()
                if reused and attempt == 0:
                    idle = self._idle.get(key)
                    continue  # a pooled connection the server had closed: once more on a fresh one
                raise
            except BaseException:
                conn.close()
                raise
            break
        status, headers, length, chunked, keep = head
        if request.method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            length, chunked = 0, False
        stream = _Body(self, conn, length, chunked, keep, timeouts.get("read"))
        return httpx.Response(status, headers=headers, stream=stream, extensions={"http_version": b"HTTP/1.1"})

    async def _head(
        self, conn: _Conn, timeout: float | None
    ) -> tuple[int, list[tuple[bytes, bytes]], int | None, bool, bool]:
        try:
            coro = conn.reader.readuntil(b"\r\n\r\n")
            raw = await (asyncio.wait_for(coro, timeout) if timeout else coro)
        except TimeoutError as exc:
            raise httpx.ReadTimeout("upstream did not answer in time") from exc
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError) as exc:
            raise httpx.ReadError(f"upstream closed the connection: {exc or type(exc).__name__}") from exc
        first, _, rest = raw[:-4].partition(b"\r\n")
        parts = first.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise httpx.RemoteProtocolError(f"not an HTTP/1.1 answer: {first[:80]!r}")
        status = int(parts[1])
        headers: list[tuple[bytes, bytes]] = []
        length: int | None = None
        chunked = False
        keep = parts[0] == b"HTTP/1.1"
        for line in rest.split(b"\r\n"):
            name, _, value = line.partition(b":")
            value = value.strip()
            headers.append((name, value))
            low = name.lower()
            if low == b"content-length":
                length = int(value)
            elif low == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif low == b"connection":
                keep = b"close" not in value.lower() and (keep or b"keep-alive" in value.lower())
        if chunked:
            length = None
        return status, headers, length, chunked, keep

    async def aclose(self) -> None:
        """Close every idle connection."""
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()
