"""The sync ``Client``'s own HTTP/1.1 transport: blocking sockets, TLS, a keep-alive pool, no httpx.

``import httpx`` costs a fresh process more than the rest of a first request together (it loads its CLI,
click and rich with it), so the sync client's default path sends with this and imports httpx only when a
call needs it: a proxy in the environment, a user's ``http_client`` or ``transport``, a multipart upload, a
redirect. It speaks what the Z.AI API needs: one request per connection at a time, ``Content-Length`` or
chunked bodies, TLS with httpx's trust (``_wire.ssl_context``). Failures are the builtin ``OSError`` family:
``TimeoutError`` for timeouts, ``ConnectionError`` (``_wire.ProtocolError`` among them) for the rest.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from glmkit._wire import HEAD_LIMIT, Dechunker, Headers, ProtocolError, Reply, parse_head, ssl_context

if TYPE_CHECKING:
    import ssl

__all__ = ["SyncLeanTransport", "SyncReply"]

_MAX_IDLE = 20
_READ = 262144


class _Conn:
    __slots__ = ("buf", "key", "sock")

    def __init__(self, key: tuple[str, str, int], sock: socket.socket) -> None:
        self.key = key
        self.sock = sock
        self.buf = b""  # bytes read past the head (the start of the body)

    def close(self) -> None:
        with contextlib.suppress(OSError):  # already gone
            self.sock.close()


class SyncReply(Reply):
    """A response whose body is still on the connection: ``read``, or ``iter_raw`` for a stream, then ``close``."""

    __slots__ = ("_chunks", "_conn", "_keep", "_left", "_start", "_timeout", "_transport")

    def __init__(
        self,
        transport: SyncLeanTransport,
        conn: _Conn,
        head: tuple[int, list[tuple[bytes, bytes]], int | None, bool, bool],
        start: float,
        timeout: float | None,
    ) -> None:
        status, headers, length, chunked, keep = head
        super().__init__(status, Headers(headers))
        self._transport = transport
        self._conn: _Conn | None = conn
        self._keep = keep
        self._chunks = Dechunker() if chunked else None
        self._left = length  # None: to the end of the connection (when not chunked)
        self._start = start
        self._timeout = timeout

    def iter_raw(self) -> Iterator[bytes]:
        """The body as it arrives, one piece per network read (every HTTP chunk that read completed, joined)."""
        conn = self._conn
        if conn is None:
            if self._content:
                yield self._content
            return
        sock = conn.sock
        sock.settimeout(self._timeout)
        data, conn.buf = conn.buf, b""
        chunks = self._chunks
        try:
            if chunks is not None:
                while True:
                    if data:
                        piece = chunks.feed(data)
                        if piece:
                            yield piece
                        if chunks.done:
                            break
                    data = sock.recv(_READ)
                    if not data:
                        raise ProtocolError("the server closed the connection mid-body")
            elif self._left is not None:
                left = self._left
                while True:
                    if len(data) > left:
                        data = data[:left]
                    if data:
                        left -= len(data)
                        yield data
                    if not left:
                        break
                    data = sock.recv(min(left, _READ))
                    if not data:
                        raise ProtocolError("the server closed the connection mid-body")
            else:
                while True:
                    if data:
                        yield data
                    data = sock.recv(_READ)
                    if not data:
                        break
                self._keep = False
        except BaseException:
            self._keep = False
            self.close()
            raise
        self._elapsed = time.perf_counter() - self._start
        self._release()

    def read(self) -> bytes:
        """The whole body (read once, kept)."""
        if self._content is None:
            self._content = b"".join(self.iter_raw())
        return self._content

    def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            if self._keep:
                self._transport._release(conn)
            else:
                conn.close()

    def close(self) -> None:
        """Give the connection back (the body read to its end) or close it."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        if self._elapsed is None:
            self._elapsed = time.perf_counter() - self._start


class SyncLeanTransport:
    """HTTP/1.1 over blocking sockets with a keep-alive pool (one request per connection at a time), thread-safe."""

    def __init__(self) -> None:
        self._idle: dict[tuple[str, str, int], list[_Conn]] = {}
        self._lock = threading.Lock()
        self._ssl: ssl.SSLContext | None = None

    def _release(self, conn: _Conn) -> None:
        with self._lock:
            idle = self._idle.setdefault(conn.key, [])
            if len(idle) < _MAX_IDLE:
                idle.append(conn)
                return
        conn.close()

    def _pooled(self, key: tuple[str, str, int]) -> _Conn | None:
        with self._lock:
            idle = self._idle.get(key)
            return idle.pop() if idle else None

    def _connect(self, key: tuple[str, str, int], timeout: float | None) -> _Conn:
        scheme, host, port = key
        sock = socket.create_connection((host, port), timeout=timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme == "https":
                if self._ssl is None:
                    self._ssl = ssl_context()
                sock = self._ssl.wrap_socket(sock, server_hostname=host)
        except BaseException:
            sock.close()
            raise
        return _Conn(key, sock)

    def send(
        self,
        key: tuple[str, str, int],
        head: bytes,
        body: bytes,
        *,
        connect_timeout: float | None,
        read_timeout: float | None,
    ) -> SyncReply:
        """Send one request (its head and body) and return the reply with its body still to read."""
        start = time.perf_counter()
        for attempt in (0, 1):
            pooled = self._pooled(key)
            conn = pooled if pooled is not None else self._connect(key, connect_timeout)
            try:
                sock = conn.sock
                sock.settimeout(read_timeout)
                sock.sendall(head + body if len(body) < 65536 else head)
                if len(body) >= 65536:
                    sock.sendall(memoryview(body))
                found = self._head(conn)
            except OSError as exc:
                conn.close()
                if pooled is not None and attempt == 0 and not isinstance(exc, TimeoutError):
                    continue  # a pooled connection the server had closed: once more on a fresh one
                raise
            except BaseException:
                conn.close()
                raise
            reply = SyncReply(self, conn, found, start, read_timeout)
            status = found[0]
            if head.startswith(b"HEAD ") or status in (204, 304) or 100 <= status < 200:
                reply._chunks, reply._left = None, 0
            return reply
        raise AssertionError("unreachable: the second attempt returns or raises")

    @staticmethod
    def _head(conn: _Conn) -> tuple[int, list[tuple[bytes, bytes]], int | None, bool, bool]:
        buf = b""
        while True:
            data = conn.sock.recv(_READ)
            if not data:
                raise ProtocolError("the server closed the connection before answering")
            buf += data
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                conn.buf = buf[end + 4 :]
                return parse_head(buf[:end])
            if len(buf) > HEAD_LIMIT:
                raise ProtocolError("the response head is too large")

    def close(self) -> None:
        """Close every idle connection."""
        with self._lock:
            conns = [conn for idle in self._idle.values() for conn in idle]
            self._idle.clear()
        for conn in conns:
            conn.close()
