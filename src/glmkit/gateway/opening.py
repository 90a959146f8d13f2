"""How a request gets its upstream response: at once with a slot in hand, or after waiting in the queue
(a stream pings meanwhile); when the plan's window is spent and a pay-as-you-go key is set, from the general
endpoint instead, within the fallback's cap.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
from starlette.requests import Request

from glmkit._errors import APIStatusError, ConcurrencyLimitError, GLMError
from glmkit._transport import Call
from glmkit.gateway.endpoint import Dialect, plan_spent_message
from glmkit.gateway.fallback import PLAN_SPENT
from glmkit.gateway.relay import MAX_REQUEUES, Flight, GatewayRetryPolicy, open_upstream, status_of, wait_in_queue
from glmkit.gateway.shaping import QueueTimeout, Slot
from glmkit.gateway.state import Gateway

__all__ = ["open_now", "open_or_fall_back", "open_stream_now", "open_when_granted", "plain_slot"]

log = logging.getLogger("glmkit.gateway")


async def open_when_granted(
    gw: Gateway, flight: Flight, call: Call, client: str, dialect: Dialect
) -> AsyncIterator[bytes]:
    """A queued stream: ping until a slot comes, then open the upstream (``flight.response``).

    A queue timeout or an upstream failure ends with an error frame and leaves ``flight.response`` unset.
    """
    record = flight.record
    ticket = flight.ticket
    assert ticket is not None
    got: Slot | None = None
    try:
        if flight.backoff:
            await gw.upstream.sleep(flight.backoff)
        async for item in wait_in_queue(ticket, dialect.ping, gw.config.ping_interval):
            if isinstance(item, Slot):
                got = item
            else:
                yield item
        assert got is not None
        flight.ticket = None
        record.slot(got)
        flight.response, flight.slot = await open_or_fall_back(gw, flight, call, got, client)
    except QueueTimeout as exc:
        record.fail(429, "1302")
        yield dialect.frame(429, f"Timed out in the gateway queue ({exc}).", "1302")
    except GLMError as exc:
        status, code = status_of(exc)
        record.fail(status, code)
        message = getattr(exc, "message", str(exc))
        if code in PLAN_SPENT:
            message = plan_spent_message(message, code)[0]
        yield dialect.frame(status, message, code)


async def open_or_fall_back(
    gw: Gateway, flight: Flight, call: Call, slot: Slot, client: str, *, requeues: int = MAX_REQUEUES
) -> tuple[httpx.Response, Slot | None]:
    """``open_upstream``; when the plan answers 1308/1310 and a pay-as-you-go fallback is set, the request goes once
    to the general endpoint instead (within the cap), and the ledger row says so. Else the 1308/1310 is raised."""
    try:
        return await open_upstream(gw.upstream, gw.shaper, call, slot, client, requeues=requeues)
    except APIStatusError as exc:
        if exc.code not in PLAN_SPENT or gw.fallback is None or gw.payg is None:
            raise
        return await _pay_as_you_go(gw, flight, call, exc), None


async def _pay_as_you_go(gw: Gateway, flight: Flight, call: Call, exc: APIStatusError) -> httpx.Response:
    from glmkit._tokens import estimate_messages
    from glmkit.catalog import get_model
    from glmkit.gateway.fallback import cost_usd
    from glmkit.gateway.preflight import preflight
    from glmkit.types.chat import CHAT_COMPLETIONS

    record = flight.record
    if call.endpoint is not CHAT_COMPLETIONS or not isinstance(call.json, dict):
        exc.message += " (the pay-as-you-go fallback takes chat requests only: use translate mode)"
        raise exc
    body = dict(call.json)
    notes = preflight(body, surface="general")  # what the general endpoint refuses that the coding one takes
    model = str(body["model"])
    info = get_model(model)
    most = body.get("max_tokens") or (info.default_output if info is not None and info.default_output else 65536)
    worst = cost_usd(model, estimate_messages(body["messages"]), int(most))
    assert gw.fallback is not None and gw.payg is not None
    if not gw.fallback.reserve(worst):
        left = gw.fallback.left_usd
        exc.message += (
            f" (the pay-as-you-go fallback's cap is reached: ${left:.2f} of ${gw.fallback.cap_usd:.2f} left today,"
            f" this request could cost ${worst:.2f})"
        )
        raise exc
    log.warning(
        "plan window spent (%s): %s goes to the pay-as-you-go endpoint (at most ~$%.4f; $%.2f of the $%.2f cap left)",
        exc.code,
        model,
        worst,
        gw.fallback.left_usd,
        gw.fallback.cap_usd,
    )
    record.row["billed"] = "payg"
    record.row["_payg_reserved"] = worst
    record.row["notes"] = [*(record.row.get("notes") or []), f"plan {exc.code}: sent pay-as-you-go", *notes]
    try:
        return await gw.payg.open(Call(CHAT_COMPLETIONS, json=body, headers=call.headers))
    except BaseException:
        gw.fallback.settle(worst, 0.0)
        record.row["billed"] = None
        del record.row["_payg_reserved"]
        raise


async def open_now(gw: Gateway, flight: Flight, call: Call, client: str, slot: Slot) -> None:
    """Open the upstream with a slot in hand (retries happen here, before the client's first byte)."""
    flight.record.slot(slot)
    flight.slot = None
    flight.response, flight.slot = await open_or_fall_back(gw, flight, call, slot, client)


async def open_stream_now(gw: Gateway, flight: Flight, call: Call, client: str, slot: Slot) -> None:
    """Open a stream's upstream with a slot in hand; a 1302 puts it back at the front of the queue
    (``flight.ticket``) instead of waiting here, so its response starts and pings while it waits."""
    flight.record.slot(slot)
    flight.slot = None
    try:
        flight.response, flight.slot = await open_or_fall_back(gw, flight, call, slot, client, requeues=0)
    except ConcurrencyLimitError:
        if gw.shaper.limit(slot.model) <= 1 and gw.shaper.inflight(slot.model) == 0:
            flight.backoff = GatewayRetryPolicy().backoff(1)  # waited in the stream, with pings (open_upstream's rule)
        flight.ticket = gw.shaper.enqueue(slot.model, client, front=True)


async def plain_slot(gw: Gateway, request: Request, flight: Flight, slot: Slot | None) -> Slot | None:
    """The slot for a non-streamed request, waiting in the queue if need be (``None``: the client left)."""
    return slot if slot is not None else await gw.wait_plain(request, flight)
