"""Parts of glm serve's guarded HTTP protocol (``_request_guard.guarded_http_protocol``, uvicorn's httptools
protocol underneath) that need no uvicorn import.

``HeaderTimer``: uvicorn times out idle keep-alive connections but not a request whose headers never finish.

``HeadWithBody``: a whole response in one write. uvicorn writes a response's head as soon as the app starts the
response, and its body with the next message, so a plain JSON answer left in two sends (two syscalls, two TCP
segments, two reads for the client). ``HeadWithBody`` stands between one request's cycle and the connection's
transport and holds a head that announces a body (a ``Content-Length``) until the body's first bytes, which then
go out with it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

__all__ = ["HeadWithBody", "HeaderTimer"]

_JOIN_UNDER = 1 << 16  # a larger body goes in a write of its own rather than be copied behind the head


class HeadWithBody:
    """The transport one ``RequestResponseCycle`` (uvicorn's httptools protocol) writes through."""

    __slots__ = ("cycle", "head", "pending", "transport")

    def __init__(self, cycle: Any, transport: Any) -> None:
        self.cycle = cycle
        self.transport = transport
        self.pending = True  # the response head is still to come
        self.head: bytes | None = None

    def write(self, data: bytes) -> None:
        head = self.head
        if head is not None:
            self.head = None
            if len(data) < _JOIN_UNDER:
                self.transport.write(head + data)
                return
            self.transport.write(head)
        elif self.pending and (cycle := self.cycle).response_started:  # the head (a 100 Continue comes before it)
            self.pending = False
            if cycle.chunked_encoding is False and cycle.expected_content_length and cycle.scope["method"] != "HEAD":
                self.head = data
                return
        self.transport.write(data)

    def flush(self) -> None:
        """Write a head still held (the response ended, or failed, before its body)."""
        head = self.head
        if head is not None:
            self.head = None
            self.transport.write(head)

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def is_closing(self) -> bool:
        return bool(self.transport.is_closing())


class HeaderTimer:
    """The guarded protocol's wait for the next request's headers. One timer per connection (not per
    response), re-armed when it fires during a newer wait that is not yet due, lapsing while a request is under way."""

    header_timeout = 0.0
    _header_timer: asyncio.TimerHandle | None = None
    _waiting: tuple[Any, float] = (None, 0.0)  # (the cycle before the awaited request, waiting since)

    def _arm_header_timer(self: Any) -> None:
        cycle = getattr(self, "cycle", None)
        if cycle is not None and not cycle.response_complete:
            return  # a pipelined request's headers are in already: its body is the guard's to time
        self._waiting = (cycle, self.loop.time())
        if self._header_timer is None:
            self._header_timer = self.loop.call_at(self._waiting[1] + self.header_timeout, self._expire)

    def _expire(self: Any) -> None:
        self._header_timer = None
        cycle, since = self._waiting
        transport = self.transport
        if getattr(self, "cycle", None) is not cycle or transport.is_closing():
            return  # headers came: nothing to wait for until the next response ends
        if self.loop.time() - since < self.header_timeout:
            self._header_timer = self.loop.call_at(since + self.header_timeout, self._expire)
            return
        with contextlib.suppress(Exception):  # a transport already torn down
            transport.close()
