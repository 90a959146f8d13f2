"""Server-sent events: a decoder (feed bytes, get events) and an encoder, shared by SDK, emulator and gateway.

The decoder follows the WHATWG event-stream rules that matter here: LF, CRLF and CR line ends
(also split across feeds), multi-line ``data``, comment lines, ``event``/``id``/``retry`` fields,
a single leading space stripped from values. Data stays ``bytes`` so a consumer can hand it straight
to ``model_validate_json`` without a decode/encode round trip. The hot path (one ``data:`` line per
event, as every GLM stream sends) costs one ``bytes.split`` and a few comparisons per event.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any

from glmkit._json import dumpb, loads

__all__ = ["Event", "SSEDecoder", "aiter_events", "encode", "encode_data", "iter_events"]


class Event:
    """One dispatched event. ``data`` is the raw bytes of the (joined) data lines."""

    __slots__ = ("data", "event", "id", "retry")

    def __init__(self, data: bytes, event: str | None = None, id: str | None = None, retry: int | None = None):
        self.data = data
        self.event = event
        self.id = id
        self.retry = retry

    @property
    def text(self) -> str:
        """The data as text."""
        return self.data.decode("utf-8")

    def json(self) -> Any:
        """The data parsed as JSON."""
        return loads(self.data)

    def __repr__(self) -> str:
        return f"Event(event={self.event!r}, data={self.data[:60]!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return (self.data, self.event, self.id, self.retry) == (other.data, other.event, other.id, other.retry)

    __hash__ = None  # type: ignore[assignment]  # mutable value object


class SSEDecoder:
    """Incremental decoder: ``feed(bytes)`` returns the events completed by those bytes."""

    __slots__ = ("_buf", "_data", "_event", "_id", "_retry", "last_event_id")

    def __init__(self) -> None:
        self._buf = b""
        self._data: list[bytes] = []
        self._event: str | None = None
        self._id: str | None = None
        self._retry: int | None = None
        self.last_event_id: str | None = None

    def feed(self, chunk: bytes) -> list[Event]:
        """Consume bytes; return the events they complete."""
        return self._feed(chunk, True)  # type: ignore[return-value]

    def feed_data(self, chunk: bytes) -> list[bytes | Event]:
        """Like ``feed``, but a plain event (one ``data:`` line, no other field) comes as its bare data bytes.

        The stream hot path: no ``Event`` object per GLM chunk.
        """
        return self._feed(chunk, False)

    def _feed(self, chunk: bytes, wrap: bool) -> list[bytes | Event]:
        buf = self._buf + chunk if self._buf else chunk
        if b"\r" in buf:
            if buf.endswith(b"\r"):  # a CR now may be the first half of a CRLF in the next feed
                self._buf = b"\r"
                buf = buf[:-1]
            else:
                self._buf = b""
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            lines = buf.split(b"\n")
            self._buf = lines.pop() + self._buf
            return self._lines(lines)  # type: ignore[return-value]
        if self._data or self._event is not None or self._retry is not None:
            lines = buf.split(b"\n")
            self._buf = lines.pop()
            return self._lines(lines)  # type: ignore[return-value]
        # Between events: split into whole events at once. An event that is one ``data: `` line (every
        # GLM chunk) costs a slice; anything else goes through the line parser.
        blocks = buf.split(b"\n\n")
        self._buf = blocks.pop()
        events: list[bytes | Event] = []
        append = events.append
        for block in blocks:
            if block[:6] == b"data: " and b"\n" not in block:
                append(Event(block[6:], None, self._id) if wrap else block[6:])
            else:
                events.extend(self._lines([*block.split(b"\n"), b""]))
        return events

    def _lines(self, lines: list[bytes]) -> list[Event]:
        events: list[Event] = []
        data = self._data
        for line in lines:
            if not line:
                if data:
                    events.append(
                        Event(data[0] if len(data) == 1 else b"\n".join(data), self._event, self._id, self._retry)
                    )
                    data = self._data = []
                self._event = None
                self._retry = None
                continue
            if line.startswith(b"data:"):
                data.append(line[6:] if line[5:6] == b" " else line[5:])
                continue
            if line[0] == 58:  # b":" comment
                continue
            self._field(line)
        return events

    def _field(self, line: bytes) -> None:
        name, sep, value = line.partition(b":")
        if sep and value[:1] == b" ":
            value = value[1:]
        if name == b"event":
            self._event = value.decode("utf-8")
        elif name == b"id":
            if b"\0" not in value:
                self._id = self.last_event_id = value.decode("utf-8")
        elif name == b"retry":
            if value.isdigit():
                self._retry = int(value)
        elif name == b"data":  # "data" with no colon: an empty data line
            self._data.append(b"")

    def flush(self) -> list[Event]:
        """End of stream: an event not yet terminated by a blank line is discarded, per the spec."""
        self._buf = b""
        self._data = []
        return []

    @property
    def pending(self) -> bool:
        """Whether bytes or data lines are waiting for the end of an event."""
        return bool(self._buf.strip() or self._data)


def iter_events(chunks: Iterable[bytes]) -> Iterator[Event]:
    """Decode an iterable of byte chunks into events."""
    decoder = SSEDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)


async def aiter_events(chunks: AsyncIterable[bytes]) -> AsyncIterator[Event]:
    """Decode an async iterable of byte chunks into events."""
    decoder = SSEDecoder()
    async for chunk in chunks:
        for event in decoder.feed(chunk):
            yield event


def encode_data(data: bytes | str) -> bytes:
    """Frame one ``data:`` event (the hot path for emulator and gateway)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if b"\n" in data or b"\r" in data:
        return encode(data)
    return b"data: " + data + b"\n\n"


def encode(
    data: bytes | str | Any, *, event: str | None = None, id: str | None = None, retry: int | None = None
) -> bytes:
    """Frame one event; non-bytes/str data is JSON-encoded compactly."""
    if isinstance(data, str):
        raw = data.encode("utf-8")
    elif isinstance(data, bytes):
        raw = data
    else:
        raw = dumpb(data)
    parts: list[bytes] = []
    if event is not None:
        parts.append(b"event: " + event.encode("utf-8") + b"\n")
    if id is not None:
        parts.append(b"id: " + id.encode("utf-8") + b"\n")
    if retry is not None:
        parts.append(b"retry: " + str(retry).encode() + b"\n")
    for line in raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n"):
        parts.append(b"data: " + line + b"\n")
    parts.append(b"\n")
    return b"".join(parts)
