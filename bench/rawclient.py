"""A client that does not parse: HTTP/1.1 over asyncio streams, bodies counted, never decoded (as curl does).

The gateway figures must show the gateway's cost, not a client's: a client that parses each chunk hides the
relay behind its own work. This one finds where an answer ends (``Content-Length``, or the last chunk of a
chunked body) and counts SSE events by their blank lines; nothing else. ``run(...)`` drives ``concurrency``
kept-alive connections, each sending one request after the other until ``seconds`` have passed.
"""

from __future__ import annotations

import asyncio
import ssl as _ssl
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["Connection", "Result", "request_bytes", "run"]

_END = b"\r\n0\r\n\r\n"


@dataclass
class Result:
    """What a run delivered: answers, SSE events (blank lines), bytes, and each answer's latency (s)."""

    answers: int = 0
    events: int = 0
    bytes: int = 0
    wall: float = 0.0
    latencies: list[float] = field(default_factory=list)


def request_bytes(url: str, body: bytes, headers: dict[str, str] | None = None) -> bytes:
    """A POST of ``body`` to ``url`` as bytes on the wire (keep-alive)."""
    parts = urlsplit(url)
    lines = [f"POST {parts.path or '/'} HTTP/1.1", f"Host: {parts.netloc}", "Content-Type: application/json"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _answer(reader: asyncio.StreamReader, result: Result, first: list[float] | None = None) -> None:
    """Read one answer to its end; ``first`` gets the time its first SSE event (or its whole plain body) arrived."""
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"not a 200: {head[:200]!r}")
    low = head.lower()
    at = low.find(b"content-length:")
    if at >= 0:
        length = int(low[at + 15 : low.find(b"\r\n", at)])
        body = await reader.readexactly(length)
        result.bytes += length
        result.events += body.count(b"\n\n")
        if first is not None:
            first.append(time.perf_counter())
        return
    if b"transfer-encoding: chunked" not in low:
        raise RuntimeError("an answer neither chunked nor with a length")
    tail = b"\r\n"  # the body starts as if after a chunk's CRLF, so an empty body ends at once
    last = b""
    seen = 0
    while True:
        piece = await reader.read(262144)
        if not piece:
            raise RuntimeError("the connection closed mid-answer")
        result.bytes += len(piece)
        events = piece.count(b"\n\n") + (last == b"\n" and piece[:1] == b"\n")
        result.events += events
        if first is not None and not seen and events:
            first.append(time.perf_counter())
        seen += events
        last = piece[-1:]
        tail = (tail + piece)[-16:]
        if tail.endswith(_END):
            return


class Connection:
    """One kept-alive connection for timing single requests: ``await conn.timed(payload)``."""

    def __init__(self, url: str, cafile: str | None = None) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80)
        self.context = _ssl.create_default_context(cafile=cafile) if parts.scheme == "https" else None
        self.result = Result()

    async def open(self) -> Connection:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, ssl=self.context, limit=1 << 20)
        return self

    async def timed(self, payload: bytes) -> tuple[float, float]:
        """Send one request; (seconds to its first SSE event, or its whole plain body; seconds to its end)."""
        first: list[float] = []
        t = time.perf_counter()
        self.writer.write(payload)
        await _answer(self.reader, self.result, first)
        end = time.perf_counter()
        return (first[0] if first else end) - t, end - t

    def close(self) -> None:
        self.writer.close()


async def _connection(
    host: str, port: int, context: _ssl.SSLContext | None, payload: bytes, deadline: float, result: Result
) -> None:
    reader, writer = await asyncio.open_connection(host, port, ssl=context, limit=1 << 20)
    try:
        while True:
            t = time.perf_counter()
            writer.write(payload)
            await _answer(reader, result)
            result.latencies.append(time.perf_counter() - t)
            result.answers += 1
            if time.perf_counter() >= deadline:
                return
    finally:
        writer.close()


async def _run(url: str, payload: bytes, concurrency: int, seconds: float, context: _ssl.SSLContext | None) -> Result:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80)
    result = Result()
    t = time.perf_counter()
    deadline = t + seconds
    await asyncio.gather(*(_connection(host, port, context, payload, deadline, result) for _ in range(concurrency)))
    result.wall = time.perf_counter() - t
    return result


def run(
    url: str,
    body: bytes,
    *,
    headers: dict[str, str] | None = None,
    concurrency: int = 1,
    seconds: float = 1.0,
    cafile: str | None = None,
) -> Result:
    """Send ``body`` to ``url`` over ``concurrency`` connections until ``seconds`` have passed (each sends once at
    least); ``cafile`` is the CA to trust for an https URL."""
    context = _ssl.create_default_context(cafile=cafile) if url.startswith("https:") else None
    return asyncio.run(_run(url, request_bytes(url, body, headers), concurrency, seconds, context))
