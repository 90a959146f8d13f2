"""The gateway's state (config, upstream transport, shaper, ledger writer), its streamed response, body redaction."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from glmkit._config import Settings
from glmkit._json import dumps as _DUMPS
from glmkit.gateway.config import GatewayConfig
from glmkit.gateway.relay import Flight, Record, Upstream
from glmkit.gateway.shaping import Shaper, Slot

__all__ = ["Gateway", "KeepAlive", "Stream", "redact_body"]

log = logging.getLogger("glmkit.gateway")
_SECRET_KEY = re.compile(r"key|token|authorization|secret|password", re.I)
# How long a ledger insert may wait for another process's write before the row goes to the pending file.
LEDGER_BUSY_SECONDS = 0.1


def redact_body(raw: bytes) -> str:
    """A request body for the log: secrets replaced, long strings (base64 images) shortened."""

    def walk(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, str):
            if _SECRET_KEY.search(key):
                return "[redacted]"
            return value if len(value) <= 500 else value[:200] + f"...[{len(value)} chars]"
        return value

    try:
        return _DUMPS(walk(json.loads(raw)))
    except ValueError:
        return f"[{len(raw)} bytes, not JSON]"


class KeepAlive:
    """One task per stream: it ends the stream when the client hangs up, and sends ``ping`` whenever the stream
    went a whole ``interval`` without a byte.

    The relay never arms a timer per event: ``send`` only counts body messages; the task waits for the client's
    ``http.disconnect`` at most ``interval`` at a time and compares the count with the one it saw last. The pings
    cover every silence after the response started: a queue wait, a re-queue after a 1302, an upstream that thinks
    or writes a long tool argument. (Starlette's ``StreamingResponse`` would run a task group of two tasks per
    stream to watch for the hang-up; this one task does both jobs.)
    """

    __slots__ = ("_receive", "_send", "gone", "interval", "ping", "pings", "sent", "streaming", "task")

    def __init__(self, send: Send, receive: Receive, ping: bytes | None, interval: float) -> None:
        self._send = send
        self._receive = receive
        self.ping = ping
        self.interval = interval
        self.sent = 0
        self.pings = 0
        self.gone = False
        self.streaming = asyncio.current_task()
        self.task: asyncio.Task[None] | None = None

    async def send(self, message: Any) -> None:
        """The ASGI ``send``, counting body messages; the watch starts with the response and ends with its body."""
        if message["type"] == "http.response.body":
            self.sent += 1
            if not message.get("more_body", False):
                self.stop()
        elif message["type"] == "http.response.start" and self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._watch())
        await self._send(message)

    async def _watch(self) -> None:
        seen = -1
        try:
            while True:
                try:
                    async with asyncio.timeout(self.interval if self.ping else None):
                        message = await self._receive()
                except TimeoutError:
                    if self.ping is not None and self.sent == seen:
                        self.pings += 1
                        await self._send({"type": "http.response.body", "body": self.ping, "more_body": True})
                    seen = self.sent
                    continue
                if message["type"] == "http.disconnect":
                    break
        except Exception:  # a receive or a ping that failed: the client is gone as well
            pass
        self.gone = True
        if self.streaming is not None:
            self.streaming.cancel()

    def stop(self) -> None:
        """End the watch."""
        if self.task is not None:
            self.task.cancel()
            self.task = None


class Stream(StreamingResponse):
    """A streaming response that closes its ``Flight`` however the exchange ends, with keep-alive pings (``ping``,
    in the route's dialect) whenever it is silent for ``interval`` seconds, and ends when the client hangs up."""

    def __init__(
        self,
        content: AsyncIterator[bytes],
        flight: Flight,
        media_type: str = "text/event-stream",
        *,
        ping: bytes | None = None,
        interval: float = 5.0,
    ) -> None:
        super().__init__(content, media_type=media_type, headers={"Cache-Control": "no-cache"})
        self.flight = flight
        self.ping = ping
        self.interval = interval

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        watch = KeepAlive(send, receive, self.ping, self.interval)
        try:
            await self.stream_response(watch.send)
        except asyncio.CancelledError:
            if not (watch.gone and watch.streaming is not None and watch.streaming.uncancel() == 0):
                raise  # cancelled from outside (a shutdown), not because the client left
        finally:
            watch.stop()
            await self.flight.close()


def _journal(ledger: Any) -> Any:
    """The ledger's journal for this gateway, or None where there can be none (no file locks, a folder it cannot
    write): its rows then go to the ledger one transaction each."""
    from glmkit.ledger.journal import Journal

    try:
        return Journal(ledger)
    except (ImportError, OSError) as exc:
        log.info("no ledger journal (%s): rows are written to the ledger directly", exc)
        return None


class Gateway:
    """The gateway's state: config, upstream transport, shaper, ledger writer."""

    def __init__(self, config: GatewayConfig, settings: Settings, *, transport: Any = None, ledger: Any = None) -> None:
        from glmkit._auth import make_auth
        from glmkit.gateway.plan_limits import PlanLimits

        self.config = config
        self.settings = settings
        self.plan_limits = PlanLimits(settings, every=config.plan_limits, transport=transport)
        if transport is None:
            from glmkit._http11 import LeanTransport, proxied

            urls = (settings.chat_base_url, settings.base_url, settings.anthropic_base_url)
            lean = config.lean_upstream
            if lean if lean is not None else not any(proxied(url) for url in urls):
                transport = LeanTransport()
        self.upstream = Upstream(settings, make_auth(settings.api_key, settings.auth), transport=transport)
        self.shaper = Shaper(
            config.max_inflight,
            queue_size=config.queue_size,
            queue_timeout=config.queue_timeout,
            recover_after=config.recover_after,
        )
        self.ledger = ledger
        self._checkpointer: Any = None
        self.journal: Any = None  # the rows' way to disk: one write each (``glmkit.ledger.journal``)
        self._rows: list[dict[str, Any]] = []  # rows waiting for the end of this turn of the event loop
        self.ledger_problem: str | None = None  # why the ledger is off though the config wants it
        if ledger is None and config.ledger:
            from glmkit.ledger import Checkpointer, Ledger, LedgerError

            try:
                self.ledger = Ledger(config.ledger_path, timeout=LEDGER_BUSY_SECONDS, autocheckpoint=False)
                self._checkpointer = Checkpointer(self.ledger)
                self.journal = _journal(self.ledger)
            except LedgerError as exc:  # the ledger is bookkeeping: relay anyway, and say so once
                self.ledger_problem = f"{exc} {exc.hint}"
                log.warning("requests will not be recorded: %s", self.ledger_problem)
        self.fallback: Any = None
        self.payg: Upstream | None = None
        if config.fallback_key:
            from glmkit.gateway.fallback import Fallback

            self.fallback = Fallback(config.fallback_cap_usd)
            store = getattr(self.ledger, "ledger", self.ledger)
            if store is not None and hasattr(store, "payg_spent"):
                self.fallback.load(store)
            general = settings.root_url.rstrip("/") + "/paas/v4"  # the pay-as-you-go endpoint of the same host
            payg = settings.with_changes(api_key=config.fallback_key, chat_base_url=general)
            self.payg = Upstream(payg, make_auth(config.fallback_key, settings.auth), transport=transport)

    def submit(self, record: Record) -> None:
        """Write the request's ledger row now, before the client gets the answer's last bytes.

        One line appended to the ledger's journal (``glmkit.ledger.journal``: one write, copied into the ledger
        in batches and by every reader before it reads): once it returns, the row survives the gateway being
        killed. Without a journal, one insert in WAL mode with ``synchronous=NORMAL`` (no fsync); a database busy
        beyond ``LEDGER_BUSY_SECONDS`` then parks the row in the pending file beside it (replayed by the next
        ``Ledger``), so the event loop never waits long.
        """
        row = self._settled(record)
        if row is not None:
            self._write_rows([row])

    async def submit_together(self, record: Record) -> None:
        """``submit`` for a request whose answer has not left yet (``Flight.close``): the rows of the requests
        that end in the same turn of the event loop go in one write (one transaction without a journal).

        Returns once the row is written, so the client still gets its answer after its row is in; a caller
        cancelled meanwhile leaves its row to be written all the same. A row with no other request upstream (none
        can end in this turn) and a journal to go to is written at once: waiting for the turn's end cost a loop
        iteration and a poll of its own, 2-5% of a request sent alone.
        """
        row = self._settled(record)
        if row is None:
            return
        if not self._rows and self.journal is not None and not self.shaper.busy:
            self._write_rows([row])
            return
        self._rows.append(row)
        if len(self._rows) == 1:
            asyncio.get_running_loop().call_soon(self._write_together)
        # the write was scheduled before this task's next step (the ready queue is first in, first out): it has run
        await asyncio.sleep(0)

    def _settled(self, record: Record) -> dict[str, Any] | None:
        """The finished row (a pay-as-you-go reservation settled), or None when there is no ledger."""
        row = record.finish()
        reserved = row.pop("_payg_reserved", None)
        if reserved is not None and self.fallback is not None:
            from glmkit.gateway.fallback import cost_usd

            cost = cost_usd(
                str(row.get("model_used") or ""), row.get("input_tokens") or 0, row.get("output_tokens") or 0
            )
            row["cost_usd"] = round(cost, 6)
            self.fallback.settle(reserved, cost)
        return None if self.ledger is None else row

    def _write_together(self) -> None:
        rows, self._rows = self._rows, []
        self._write_rows(rows)

    def _write_rows(self, rows: list[dict[str, Any]]) -> None:
        if not rows or self.ledger is None:
            return
        if self.journal is not None:
            try:
                self.journal.append(rows)
                return
            except Exception as exc:  # not written there: straight to the ledger, as without a journal
                log.warning("the ledger's journal refused a row (%s); writing to the ledger itself", exc)
                rows = list(getattr(exc, "rest", rows))  # a short write: the rows it did not take
        try:
            if len(rows) == 1:
                self.ledger.add_request(**rows[0])
            else:
                self.ledger.add_requests(rows)
            return
        except Exception:  # the ledger is bookkeeping: never fail a request over it
            if len(rows) == 1:
                log.warning("a request row could not be recorded", exc_info=True)
                return
        for row in rows:  # one bad row does not take the others with it
            self._write_rows([row])

    async def aclose(self) -> None:
        """Close the upstream pool and the ledger."""
        self._write_together()
        await self.upstream.close()
        if self.payg is not None:
            await self.payg.close()
        if self.journal is not None:
            self.journal.close()
        if self._checkpointer is not None:
            self._checkpointer.close()
        await self.plan_limits.aclose()
        if self.ledger is not None:
            self.ledger.close()

    # ---- helpers

    def authorized(self, request: Request) -> bool:
        """Whether the client sent the gateway token (always, when none is set)."""
        token = self.config.token
        if not token:
            return True
        given = request.headers.get("x-api-key") or ""
        auth = request.headers.get("authorization") or ""
        if auth.lower().startswith("bearer "):
            given = given or auth[7:].strip()
        return bool(given) and hmac.compare_digest(given.encode(), token.encode())

    @staticmethod
    def client_of(request: Request, body: Any) -> str:
        """Who the request is from, for fair queueing: a header, the Anthropic/OpenAI user, else the address."""
        explicit = request.headers.get("x-glmkit-client")
        if explicit:
            return explicit[:128]
        if isinstance(body, dict):
            user = (body.get("metadata") or {}).get("user_id") if isinstance(body.get("metadata"), dict) else None
            user = user or body.get("user")
            if isinstance(user, str) and user:
                return user[:128]
        return request.client.host if request.client else "local"

    def hold_for(self, request: Request, record: Record) -> float:
        """Seconds to hold a background request for off-peak hours (0: send it now).

        Background: ``x-glm-priority: background``, or a client named in ``background_clients`` (its
        ``x-glmkit-client`` name, user id or tool). Held while it is peak (``price_phase``), at most ``hold_max_seconds``.
        """
        named = self.config.background_clients
        marked = (request.headers.get("x-glm-priority") or "").strip().lower() == "background"
        if not marked and not (named and (record.row.get("client") in named or record.row.get("tool") in named)):
            return 0.0
        import datetime as dt

        from glmkit.types.quota import price_phase

        now = dt.datetime.now(dt.UTC)
        phase = price_phase(now, self.config.peak_table())
        return min(phase.seconds_left(now), self.config.hold_max_seconds) if phase.peak else 0.0

    async def hold(self, record: Record, seconds: float) -> None:
        """Hold a background request ``seconds`` (its row gets ``held_ms`` and a note)."""
        log.warning("holding a background request %.0f s for off-peak hours (%s)", seconds, record.row.get("client"))
        start = time.monotonic()
        try:
            await asyncio.sleep(seconds)
        finally:
            held = time.monotonic() - start
            record.row["held_ms"] = round(held * 1000, 3)
            note = f"held for off-peak: {held:.1f} s"
            record.row["notes"] = [*(record.row.get("notes") or []), note]

    def slot_or_ticket(self, model: str, client: str, flight: Flight) -> Slot | None:
        """A slot at once, or ``None`` with ``flight.ticket`` set (raises ``QueueFull``)."""
        slot = self.shaper.try_acquire(model)
        if slot is None:
            flight.ticket = self.shaper.enqueue(model, client)
            flight.record.row["queue_depth"] = flight.ticket.depth
        return slot

    async def wait_plain(self, request: Request, flight: Flight) -> Slot | None:
        """Wait in the queue for a non-streamed request; ``None`` if the client hung up meanwhile."""
        ticket = flight.ticket
        assert ticket is not None
        while True:
            slot = await ticket.wait(min(self.config.ping_interval, 1.0))
            if slot is not None:
                flight.ticket = None
                return slot
            if await request.is_disconnected():
                return None
