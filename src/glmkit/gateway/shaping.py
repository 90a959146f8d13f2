"""Concurrency shaping: at most N upstream requests in flight per model, the rest queued fairly.

Coding Plan tiers allow very few requests in flight and answer 429/1302 beyond that (reference §14.1).
Each model has a lane: a limit (configured, learned down when a 1302 arrives, raised back by one after
``recover_after`` successes in a row), a count in flight, and one FIFO queue per client served
round-robin, so one agent fanning out twenty subagents cannot starve another client. The queue is
bounded (``QueueFull``) and a wait has a deadline (``QueueTimeout``). A ticket whose waiter goes away
(the client hung up) leaves the queue; a grant that races with that is handed back at once.

Everything runs on the event loop thread: no locks.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field

__all__ = ["QueueFull", "QueueTimeout", "Shaper", "Slot", "Ticket"]


class QueueFull(Exception):
    """The queue for this model is full."""


class QueueTimeout(Exception):
    """The request waited longer than the queue timeout."""


@dataclass
class Slot:
    """Permission to have one request upstream; give it back with ``Shaper.release``."""

    model: str
    queue_depth: int = 0
    queue_wait_ms: float = 0.0
    released: bool = False


@dataclass
class _Lane:
    limit: int
    configured: int
    inflight: int = 0
    streak: int = 0
    queues: OrderedDict[str, deque[Ticket]] = field(default_factory=OrderedDict)
    depth: int = 0


class Ticket:
    """A place in a lane's queue."""

    def __init__(self, shaper: Shaper, model: str, client: str, depth: int) -> None:
        self.shaper = shaper
        self.model = model
        self.client = client
        self.depth = depth
        self.enqueued = time.monotonic()
        self.deadline = self.enqueued + shaper.queue_timeout
        self.future: asyncio.Future[Slot] = asyncio.get_running_loop().create_future()

    async def wait(self, timeout: float | None = None) -> Slot | None:
        """The slot once granted; ``None`` if ``timeout`` passed first. Raises ``QueueTimeout`` past the deadline."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0 and not self.future.done():
            self.abandon()
            raise QueueTimeout(f"waited {self.shaper.queue_timeout:g} s for {self.model}")
        step = remaining if timeout is None else min(timeout, remaining)
        try:
            return await asyncio.wait_for(asyncio.shield(self.future), step)
        except TimeoutError:
            if time.monotonic() >= self.deadline and not self.future.done():
                self.abandon()
                raise QueueTimeout(f"waited {self.shaper.queue_timeout:g} s for {self.model}") from None
            return None
        except asyncio.CancelledError:
            self.abandon()
            raise

    def abandon(self) -> None:
        """Leave the queue (or hand back a slot granted meanwhile)."""
        if self.future.done():
            if not self.future.cancelled() and self.future.exception() is None:
                self.shaper.release(self.future.result())
            return
        self.future.cancel()
        self.shaper._drop(self)


class Shaper:
    """Per-model in-flight limits with a fair, bounded queue."""

    def __init__(
        self, max_inflight: int = 2, *, queue_size: int = 256, queue_timeout: float = 600.0, recover_after: int = 100
    ) -> None:
        self.max_inflight = max_inflight
        self.queue_size = queue_size
        self.queue_timeout = queue_timeout
        self.recover_after = recover_after
        self._lanes: dict[str, _Lane] = {}

    def _lane(self, model: str) -> _Lane:
        lane = self._lanes.get(model)
        if lane is None:
            lane = self._lanes[model] = _Lane(self.max_inflight, self.max_inflight)
        return lane

    def models(self) -> list[str]:
        """The models seen so far, in the order they were first asked for."""
        return list(self._lanes)

    def limit(self, model: str) -> int:
        """The current in-flight limit of a model."""
        return self._lane(model).limit

    def depth(self, model: str) -> int:
        """How many requests wait for a model."""
        return self._lane(model).depth

    def inflight(self, model: str) -> int:
        """How many requests for a model are upstream now."""
        return self._lane(model).inflight

    @property
    def busy(self) -> int:
        """How many requests are upstream now, every model together."""
        return sum(lane.inflight for lane in self._lanes.values())

    def try_acquire(self, model: str) -> Slot | None:
        """A slot at once if the model has room and nobody waits (FIFO), else ``None``."""
        lane = self._lane(model)
        if lane.depth == 0 and lane.inflight < lane.limit:
            lane.inflight += 1
            return Slot(model)
        return None

    def enqueue(self, model: str, client: str, *, front: bool = False) -> Ticket:
        """Join the model's queue (``front``: a request sent back by a 1302 keeps its turn)."""
        lane = self._lane(model)
        if lane.depth >= self.queue_size and not front:
            raise QueueFull(f"{lane.depth} requests already wait for {model}")
        ticket = Ticket(self, model, client, lane.depth)
        queue = lane.queues.get(client)
        if queue is None:
            queue = lane.queues[client] = deque()
        if front:
            lane.queues.move_to_end(client, last=False)
            queue.appendleft(ticket)
        else:
            queue.append(ticket)
        lane.depth += 1
        self._grant(lane)
        return ticket

    async def acquire(self, model: str, client: str, *, front: bool = False) -> Slot:
        """A slot, waiting in the queue if needed."""
        slot = None if front else self.try_acquire(model)
        if slot is not None:
            return slot
        ticket = self.enqueue(model, client, front=front)
        while True:
            slot = await ticket.wait()
            if slot is not None:
                return slot

    def release(self, slot: Slot, *, busy: bool = False, ok: bool = True) -> None:
        """Give a slot back. ``busy``: the upstream said 1302, so the limit drops to what it bore."""
        if slot.released:
            return
        slot.released = True
        lane = self._lane(slot.model)
        if busy:
            lane.limit = max(1, min(lane.limit, lane.inflight - 1))
            lane.streak = 0
        elif ok:
            lane.streak += 1
            if lane.streak >= self.recover_after and lane.limit < lane.configured:
                lane.limit += 1
                lane.streak = 0
        lane.inflight -= 1
        self._grant(lane)

    def _grant(self, lane: _Lane) -> None:
        while lane.inflight < lane.limit and lane.queues:
            client, queue = next(iter(lane.queues.items()))
            ticket = queue.popleft()
            if queue:
                lane.queues.move_to_end(client)  # round-robin between clients
            else:
                del lane.queues[client]
            lane.depth -= 1
            if ticket.future.done():
                continue
            lane.inflight += 1
            wait_ms = (time.monotonic() - ticket.enqueued) * 1000
            ticket.future.set_result(Slot(ticket.model, queue_depth=ticket.depth, queue_wait_ms=wait_ms))

    def _drop(self, ticket: Ticket) -> None:
        lane = self._lane(ticket.model)
        queue = lane.queues.get(ticket.client)
        if queue is None:
            return
        try:
            queue.remove(ticket)
        except ValueError:
            return
        lane.depth -= 1
        if not queue:
            del lane.queues[ticket.client]
