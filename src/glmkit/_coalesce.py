"""A whole response in one write: uvicorn writes a response's head as soon as the app starts the response, and its
body with the next message, so a plain JSON answer leaves in two sends (two syscalls, two TCP segments, two reads
for the client). ``HeadWithBody`` stands between one request's cycle and the connection's transport and holds a
head that announces a body (a ``Content-Length``) until the body's first bytes, which then go out with it."""

from __future__ import annotations

from typing import Any

__all__ = ["HeadWithBody"]

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
        elif self.pending and self.cycle.response_started:  # this is the head (a 100 Continue comes before it)
            self.pending = False
            cycle = self.cycle
            if (
                cycle.chunked_encoding is False
                and cycle.expected_content_length > 0
                and cycle.scope["method"] != "HEAD"
            ):
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
