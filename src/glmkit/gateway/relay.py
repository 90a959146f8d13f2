"""Upstream calls under shaping, and the streaming relays (the gateway's hot loop).

The upstream is the SDK's ``AsyncTransport`` (retries with the SDK's policy before the first byte), except
that a 1302 is not retried there: the request goes back to the front of its queue and the model's limit
is learned down. Once bytes have gone to the client, a failure becomes an ``error`` event.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import httpx

from glmkit._errors import APIConnectionError, APIStatusError, ConcurrencyLimitError, GLMError
from glmkit._sse import SSEDecoder
from glmkit._transport import Call
from glmkit.gateway.anthropic_stream import PING, StreamTranslator, error_frame
from glmkit.gateway.passthrough import PassthroughFixer
from glmkit.gateway.shaping import Shaper, Slot, Ticket
from glmkit.gateway.upstream import GatewayRetryPolicy, Upstream

MAX_REQUEUES = 8
UPSTREAM_ERRORS = (OSError, httpx.HTTPError)
"""What reading the upstream raises: the lean transport's ``OSError`` family, or httpx's errors."""


class Record:
    """One ledger row in the making: timing, models, tokens, status, queue figures."""

    __slots__ = ("client", "error_code", "model_requested", "model_used", "on_end", "row", "start", "status", "ttft")

    def __init__(self, route: str, client: str = "") -> None:
        self.start = time.perf_counter()
        self.ttft: float | None = None
        self.row: dict[str, Any] = {"source": "gateway", "route": route, "client": client}
        self.status = 200
        self.error_code: str | None = None
        self.on_end: Callable[[], None] | None = None  # writes the row (set by ``Flight``)

    def end(self) -> None:
        """The answer is over: write the row now, before the client is sent its last bytes (once)."""
        if self.on_end is not None:
            self.on_end()

    def first_byte(self) -> None:
        """Note the time to the first content."""
        if self.ttft is None:
            self.ttft = (time.perf_counter() - self.start) * 1000

    def slot(self, slot: Slot | None) -> None:
        """Note the queue figures of the slot the request got."""
        if slot is not None:
            self.row["queue_depth"] = slot.queue_depth
            self.row["queue_wait_ms"] = round(slot.queue_wait_ms, 3)

    def usage(self, usage: dict[str, Any] | None, *, anthropic: bool = False) -> None:
        """Note token counts (GLM or Anthropic usage)."""
        if not usage:
            return
        if anthropic:
            self.row["input_tokens"] = int(usage.get("input_tokens") or 0)
            self.row["output_tokens"] = int(usage.get("output_tokens") or 0)
            return
        self.row["input_tokens"] = int(usage.get("prompt_tokens") or 0)
        self.row["output_tokens"] = int(usage.get("completion_tokens") or 0)
        details = usage.get("completion_tokens_details") or {}
        self.row["reasoning_tokens"] = int(details.get("reasoning_tokens") or 0)

    def fail(self, status: int, code: str | None = None) -> None:
        """Note an error status and business code."""
        self.status = status
        self.error_code = code

    def finish(self) -> dict[str, Any]:
        """The finished row."""
        row = self.row
        row["latency_ms"] = round((time.perf_counter() - self.start) * 1000, 3)
        if self.ttft is not None:
            row["ttft_ms"] = round(self.ttft, 3)
        row["status"] = self.status
        row["error_code"] = self.error_code
        return row


def status_of(error: GLMError) -> tuple[int, str | None]:
    """(HTTP status to answer with, business code) for an upstream failure."""
    if isinstance(error, APIStatusError):
        return error.status_code, error.code
    if isinstance(error, APIConnectionError):
        return (504 if "timed out" in str(error).lower() else 502), None
    return 502, None


async def open_upstream(
    upstream: Upstream, shaper: Shaper, call: Call, slot: Slot, client: str, *, requeues: int = MAX_REQUEUES
) -> tuple[httpx.Response, Slot]:
    """Send with retries; on 1302, learn the limit down and wait at the front of the queue for another go (at most
    ``requeues`` times; past that the 1302 is raised, with the slot given back)."""
    most, requeues = requeues, 0
    while True:
        try:
            return await upstream.open(call), slot
        except ConcurrencyLimitError:
            shaper.release(slot, busy=True)
            requeues += 1
            if requeues > most:
                raise
            if shaper.limit(slot.model) <= 1 and shaper.inflight(slot.model) == 0:
                await upstream.sleep(GatewayRetryPolicy().backoff(requeues))
            prior = slot
            slot = await shaper.acquire(slot.model, client, front=True)
            slot.queue_depth, slot.queue_wait_ms = prior.queue_depth, prior.queue_wait_ms + slot.queue_wait_ms
        except BaseException:
            shaper.release(slot, ok=False)
            raise


def body_of(response: httpx.Response) -> AsyncIterator[bytes]:
    """The decoded body, one piece per network read: the raw bytes when nothing is to decode (no decoder and
    chunker layers per read), else httpx's decoding iterator. A lean reply (its request asked for
    ``Accept-Encoding: identity``) that comes compressed all the same is an upstream failure, not bytes to relay."""
    if "content-encoding" not in response.headers:
        return response.aiter_raw()
    if not isinstance(response, httpx.Response):
        coding = response.headers["content-encoding"]
        raise httpx.DecodingError(f"the upstream sent a {coding} body although asked for an uncompressed one")
    return response.aiter_bytes()


async def wait_in_queue(ticket: Ticket, ping: bytes, interval: float) -> AsyncIterator[bytes | Slot]:
    """Yield ``ping`` every ``interval`` seconds until the ticket's slot arrives, then the slot."""
    while True:
        slot = await ticket.wait(interval)
        if slot is not None:
            yield slot
            return
        yield ping


async def _pump(
    response: httpx.Response,
    feed: Callable[[bytes, list[bytes]], bool],
    has_content: Callable[[], bool],
    record: Record,
    head: bytes,
    tail: Callable[[list[bytes]], None],
    fail: Callable[[int, str], bytes] = error_frame,
) -> AsyncIterator[bytes]:
    """``head``, then the upstream bytes through ``feed`` (frames appended to a list; ``False`` once the answer
    is over), one yield per network read, then what ``tail`` appends. A cut connection or an upstream chunk
    that is not JSON ends the stream with ``fail``'s error event (Anthropic's by default) and a 502 on the record
    instead of the tail.

    One generator for both relays (no generator of a generator: each layer costs per chunk)."""
    out: list[bytes] = [head] if head else []
    try:
        async for raw in body_of(response):
            if not feed(raw, out):
                break  # the answer is over: its last frames go out after the row is written
            if out:
                if record.ttft is None and has_content():
                    record.first_byte()
                yield b"".join(out)
                out.clear()
    except UPSTREAM_ERRORS as exc:
        problem = f"The upstream connection failed mid-stream: {exc or type(exc).__name__}."
    except ValueError:
        problem = "The upstream sent a stream event that is not valid JSON."
    else:
        if out and record.ttft is None and has_content():
            record.first_byte()
        tail(out)
        record.end()
        if out:
            yield b"".join(out)
        return
    record.fail(502)
    record.end()
    out.append(fail(502, problem))
    yield b"".join(out)


def relay_translated(
    response: httpx.Response,
    translator: StreamTranslator,
    record: Record,
    *,
    started: bool,
) -> AsyncIterator[bytes]:
    """GLM SSE in, Anthropic SSE out; a cut or an upstream error ends the stream with an ``error`` event."""
    decoder = SSEDecoder()

    def feed(raw: bytes, out: list[bytes]) -> bool:
        for item in decoder.feed_data(raw):
            data = item if isinstance(item, bytes) else item.data
            if data != b"[DONE]" and not translator.feed(data, out):
                return False
        return True

    def tail(out: list[bytes]) -> None:
        if translator.error is not None:
            code = translator.error.get("code")
            status = _status_for_code(code)
            record.fail(status, _s(code))
            out.append(translator.fail(status, str(translator.error.get("message") or "Upstream error"), _s(code)))
        elif translator.finish_reason == "network_error":
            record.fail(500, "1234")
            out.append(translator.fail(500, "The model failed during inference (finish_reason network_error).", "1234"))
        elif not translator.complete:
            record.fail(502)
            out.append(translator.fail(502, "The upstream stream ended before the answer was complete."))
        else:
            translator.finish(out)
        record.usage(translator.usage)

    head = b"" if started else translator.start()
    return _pump(response, feed, lambda: translator.index >= 0, record, head, tail)


def relay_passthrough(response: httpx.Response, fixer: PassthroughFixer, record: Record) -> AsyncIterator[bytes]:
    """Anthropic SSE from Z.AI in, mended Anthropic SSE out."""
    decoder = SSEDecoder()

    def feed(raw: bytes, out: list[bytes]) -> bool:
        return all(fixer.feed(event, out) for event in decoder.feed(raw))

    def tail(out: list[bytes]) -> None:
        record.usage(fixer.usage, anthropic=True)
        if fixer.error is not None:
            code = fixer.error.get("code")
            record.fail(_status_for_code(code), _s(code))
        elif not fixer.complete:
            record.fail(502)
            out.append(error_frame(502, "The upstream stream ended before the answer was complete."))

    return _pump(response, feed, lambda: fixer.first_content, record, b"", tail)


async def relay_raw(response: httpx.Response, record: Record) -> AsyncIterator[bytes]:
    """OpenAI-style SSE relayed byte for byte; usage read from the tail for the ledger. A cut (a failed read, or an
    end without ``[DONE]``) ends with an ``error`` event."""
    tail = b""
    try:
        async for raw in body_of(response):
            if record.ttft is None:
                record.first_byte()
            tail = (tail + raw)[-8192:] if len(raw) < 8192 else raw[-8192:]
            if b"[DONE]" in tail[-len(raw) - 5 :]:  # the end (even split across reads): the row is written first
                from glmkit.gateway.openai import stream_usage

                record.usage(stream_usage(tail))
                record.end()
            yield raw
    except UPSTREAM_ERRORS as exc:
        record.fail(502)
        record.end()
        yield b'data: {"error":{"code":"1234","message":"The upstream connection failed mid-stream: %s"}}\n\n' % (
            type(exc).__name__.encode()
        )
        return
    from glmkit.gateway.openai import stream_usage

    record.usage(stream_usage(tail))
    if b"[DONE]" not in tail:
        # a clean end without [DONE] is a cut: say so, or the client takes the partial answer as whole (the
        # openai package raises on an `error` event; without one it returns the text with finish_reason None)
        record.fail(502)
        yield b'data: {"error":{"code":"502","message":"The upstream stream ended before the answer was complete."}}\n\n'


def _s(code: Any) -> str | None:
    return None if code is None else str(code)


def _status_for_code(code: Any) -> int:
    from glmkit._errors import code_row

    try:
        return code_row(str(code)).status if code is not None else 500
    except KeyError:
        return 500


class Flight:
    """One request's hold on gateway resources: its queue ticket, slot, open upstream response and ledger row.

    ``close()`` is idempotent and runs whatever way the request ends (answered, failed, or the client hung
    up before the body generator ever started), so no slot leaks and every request leaves one row.
    """

    __slots__ = (
        "backoff",
        "closed",
        "finished",
        "record",
        "response",
        "shaper",
        "slot",
        "submit",
        "submit_together",
        "ticket",
    )

    def __init__(
        self,
        shaper: Shaper,
        record: Record,
        submit: Callable[[Record], None],
        submit_together: Callable[[Record], Awaitable[None]] | None = None,
    ) -> None:
        self.shaper = shaper
        self.record = record
        self.submit = submit
        self.submit_together = submit_together  # ``close`` writes the row with the others ending at the same time
        record.on_end = self._write
        self.ticket: Ticket | None = None
        self.slot: Slot | None = None
        self.response: httpx.Response | None = None
        self.finished = False
        self.closed = False
        self.backoff = 0.0  # seconds to wait before the queue, when a 1302 sent the request back with nothing in flight

    async def close(self) -> None:
        """Leave the queue, close the upstream response, release the slot, write the ledger row."""
        if self.closed:
            return
        self.closed = True
        if self.ticket is not None:
            self.ticket.abandon()
        response = self.response
        if response is not None and not getattr(response, "is_closed", False):  # httpx's, read to the end: closed
            if isinstance(response, httpx.Response):
                with anyio.CancelScope(shield=True):
                    await response.aclose()
            else:
                await response.aclose()  # a lean reply: gives its connection back, or closes it, without waiting
        if self.slot is not None:
            self.shaper.release(self.slot, ok=self.finished)
        if self.record.on_end is None:
            return  # written when the answer ended (``Record.end``)
        if not self.finished and self.record.status == 200:
            self.record.fail(499)  # the client went away first
        if self.submit_together is None:
            self._write()
            return
        self.record.on_end = None
        await self.submit_together(self.record)

    def _write(self) -> None:
        self.record.on_end = None
        self.submit(self.record)


__all__ = [
    "PING",
    "GatewayRetryPolicy",
    "Record",
    "Upstream",
    "Flight",
    "open_upstream",
    "relay_passthrough",
    "relay_raw",
    "relay_translated",
    "status_of",
    "wait_in_queue",
]
