"""A lean HTTP/1.1 transport for glmkit's ``httpx.AsyncClient``s: asyncio streams, keep-alive, nothing else.

httpx's own async stack (httpcore over anyio) costs about a millisecond of CPU per request, more than
everything else a request through glmkit does (reference performance.md: httpx 0.28 ``AsyncClient`` ~900
req/s with one in flight, a hand-written asyncio client ~10x that). glmkit keeps httpx's API (requests,
responses, errors, content decoding) and swaps only the transport underneath, which httpx allows by design:
the SDK's ``AsyncClient`` (``DefaultAsyncTransport``: this one under asyncio, httpx's own under trio) and the
gateway's upstream. It speaks what the Z.AI API needs: one request per connection at a time,
``Content-Length`` or chunked bodies, TLS for ``https`` (with httpx's trust: ``SSL_CERT_FILE``,
``SSL_CERT_DIR``, else certifi). A proxy in the environment for a URL (``HTTPS_PROXY`` and the like,
``NO_PROXY`` honoured) is httpx's business: its proxy mounts take those URLs before this transport sees them.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from typing import Any

import httpx

__all__ = ["DefaultAsyncTransport", "LeanTransport", "proxied", "redirect_request"]

_MAX_IDLE = 64
_HEAD_LIMIT = 65536
_SPLIT_BODY = 1 << 20
_READ = 262144


def proxied(url: str) -> bool:
    """Whether the environment routes ``url`` through a proxy (as httpx reads it: ``*_PROXY``, ``NO_PROXY``)."""
    import urllib.parse
    import urllib.request

    proxies = urllib.request.getproxies_environment()
    parts = urllib.parse.urlsplit(url)
    if not (proxies.get(parts.scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass_environment(parts.hostname or "", proxies)  # type: ignore[attr-defined]


class _Conn:
    __slots__ = ("key", "reader", "writer")

    def __init__(self, key: tuple[str, str, int], reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.key = key
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        with contextlib.suppress(OSError, RuntimeError):  # a socket already gone, or its loop already closed
            self.writer.close()


class _Deadline:
    """A body's read timeout: one timer per body, not one per read.

    ``asyncio.wait_for`` around each read costs a task and a timer per read (the relay's top cost once the
    events of one read go out together). Here a read marks when it starts waiting; the one timer, when it fires,
    cancels the reading task if that read has waited ``timeout`` seconds, and otherwise re-arms itself for when
    the current wait would be due, so it fires about once per ``timeout`` however many reads there are.
    """

    __slots__ = ("fired", "handle", "loop", "since", "task", "timeout", "waiting")

    def __init__(self, timeout: float) -> None:
        self.loop = asyncio.get_running_loop()
        self.timeout = timeout
        self.since = self.loop.time()
        self.waiting = False
        self.fired = False
        self.task: asyncio.Task[Any] | None = None
        self.handle = self.loop.call_at(self.since + timeout, self._check)

    def _check(self) -> None:
        now = self.loop.time()
        if self.waiting and now - self.since >= self.timeout and self.task is not None:
            self.fired = True
            self.task.cancel()
            return
        self.handle = self.loop.call_at((self.since if self.waiting else now) + self.timeout, self._check)

    async def read(self, reader: asyncio.StreamReader, n: int) -> bytes:
        """``reader.read(n)``, raising ``httpx.ReadTimeout`` when it waits longer than the timeout."""
        self.since = self.loop.time()
        self.task = asyncio.current_task()
        self.waiting = True
        try:
            return await reader.read(n)
        except asyncio.CancelledError:
            if not self.fired:
                raise
            self.fired = False
            if self.task is not None:
                self.task.uncancel()
            raise httpx.ReadTimeout("upstream read timed out") from None
        finally:
            self.waiting = False

    def close(self) -> None:
        self.handle.cancel()


class _Body(httpx.AsyncByteStream):
    """The response body; gives the connection back to the pool once read to the end.

    Each network read yields once: the payload of every HTTP chunk that read completed (and the start of one
    it did not), joined. Events that arrive together so leave the gateway together, in one write.
    """

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

    async def __aiter__(self) -> AsyncIterator[bytes]:
        reader = self.conn.reader
        if self.length is not None and not self.chunked and _buffered(reader) >= self.length:
            # a whole answer already read with its head (most non-streamed ones): no wait, no timer
            data = await reader.read(self.length) if self.length else b""
            self.done = True
            if data:
                yield data
            return
        deadline = _Deadline(self.timeout) if self.timeout else None
        read = deadline.read if deadline is not None else _untimed_read
        try:
            if self.chunked:
                async for data in _dechunk(reader, read):
                    yield data
            elif self.length is not None:
                left = self.length
                while left > 0:
                    data = await read(reader, min(left, _READ))
                    if not data:
                        raise httpx.RemoteProtocolError("upstream closed the connection mid-body")
                    left -= len(data)
                    yield data
            else:
                while True:
                    data = await read(reader, _READ)
                    if not data:
                        break
                    yield data
                self.keep = False
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            raise httpx.ReadError(f"upstream connection failed: {exc or type(exc).__name__}") from exc
        finally:
            if deadline is not None:
                deadline.close()
        self.done = True

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


async def _dechunk(reader: asyncio.StreamReader, read: Any) -> AsyncIterator[bytes]:
    """A chunked body's payload, one piece per network read (every chunk that read completed, joined)."""
    buf = b""
    need = 0  # payload bytes of the current chunk still to come
    crlf = False  # the CRLF after a chunk's payload is still to come
    while True:
        data = await read(reader, _READ)
        if not data:
            raise httpx.ReadError("upstream closed the connection mid-body")
        buf = buf + data if buf else data
        out: list[bytes] = []
        pos = 0
        size = len(buf)
        while True:
            if need:
                take = need if need <= size - pos else size - pos
                out.append(buf[pos : pos + take])
                pos += take
                need -= take
                if need:
                    break
                crlf = True
            if crlf:
                if size - pos < 2:
                    break
                if buf[pos : pos + 2] != b"\r\n":
                    raise httpx.RemoteProtocolError("malformed chunked body from the upstream")
                pos += 2
                crlf = False
            end = buf.find(b"\r\n", pos)
            if end < 0:
                if size - pos > 1024:
                    raise httpx.RemoteProtocolError("malformed chunk size line from the upstream")
                break
            need = int(buf[pos:end].split(b";", 1)[0], 16)
            pos = end + 2
            if need == 0:  # the last chunk: trailers (ignored) end with an empty line
                rest = buf[pos:]
                while not (rest.startswith(b"\r\n") or b"\r\n\r\n" in rest):
                    more = await read(reader, _READ)
                    if not more:
                        raise httpx.ReadError("upstream closed the connection mid-body")
                    rest += more
                if out:
                    yield b"".join(out)
                return
        buf = buf[pos:] if pos < size else b""
        if out:
            yield out[0] if len(out) == 1 else b"".join(out)


class LeanTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over asyncio streams with a keep-alive pool (one request per connection at a time)."""

    def __init__(self, *, verify: bool = True) -> None:
        self._idle: dict[tuple[str, str, int], list[_Conn]] = {}
        # The trust httpx has: SSL_CERT_FILE / SSL_CERT_DIR when set, else certifi's CA bundle.
        self._ssl: ssl.SSLContext = httpx.create_ssl_context(verify=verify)
        self._ssl.set_alpn_protocols(["http/1.1"])

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
                    host, port, ssl=self._ssl if scheme == "https" else None, limit=_HEAD_LIMIT
                )
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
            async with asyncio.timeout(timeout):
                raw = await conn.reader.readuntil(b"\r\n\r\n")
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


class DefaultAsyncTransport(httpx.AsyncBaseTransport):
    """The SDK ``AsyncClient``'s transport: ``LeanTransport`` when the event loop is asyncio's, httpx's own
    ``AsyncHTTPTransport`` otherwise (trio, through anyio), chosen per request."""

    def __init__(self, limits: httpx.Limits) -> None:
        self._lean = LeanTransport()
        self._limits = limits
        self._other: httpx.AsyncHTTPTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # not asyncio: trio
            if self._other is None:
                self._other = httpx.AsyncHTTPTransport(limits=self._limits)
            return await self._other.handle_async_request(request)
        return await self._lean.handle_async_request(request)

    async def aclose(self) -> None:
        await self._lean.aclose()
        if self._other is not None:
            await self._other.aclose()


def redirect_request(request: httpx.Request, response: httpx.Response) -> httpx.Request:
    """The request a redirect asks for, by httpx's rules (303, 301/302 after a POST: a GET; auth stays home)."""
    url = request.url.join(response.headers["location"])
    method = request.method
    if (response.status_code == 303 and method != "HEAD") or (response.status_code in (301, 302) and method == "POST"):
        method = "GET"
    headers = httpx.Headers(request.headers)
    headers.pop("host", None)
    if (url.scheme, url.host, url.port) != (request.url.scheme, request.url.host, request.url.port):
        headers.pop("authorization", None)
    content = request.content if method == request.method else None
    if content is None:
        for name in ("content-length", "content-type", "transfer-encoding"):
            headers.pop(name, None)
    return httpx.Request(method, url, headers=headers, content=content, extensions=request.extensions)
