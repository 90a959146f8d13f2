"""Concurrency shaping: the fair bounded queue, learning the limit from 1302, pings while queued, and the ledger."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from glmkit._config import resolve_settings
from glmkit.emulator import EmulatorConfig
from glmkit.emulator import create_app as emulator_app
from glmkit.emulator.faults import Fault
from glmkit.gateway.app import create_app
from glmkit.gateway.config import GatewayConfig
from glmkit.gateway.shaping import QueueFull, QueueTimeout, Shaper
from glmkit.testing import TEST_KEY, AsyncEmulatorTransport, EmulatorServer
from tests.gateway.conftest import ThreadServer

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]
MSG = {"model": "claude-sonnet-4-5", "max_tokens": 200, "messages": [{"role": "user", "content": "hello"}]}


def _settings(base: str) -> Any:
    return resolve_settings(api_key=TEST_KEY, base_url=base, max_retries=2, environ={})


def in_process(emulator: Any, tmp_path: Path, **config: Any) -> Any:
    settings = _settings("http://emulator.invalid/api/coding/paas/v4")
    cfg = GatewayConfig(ledger_path=str(tmp_path / "ledger.db"), **config)
    return create_app(cfg, settings, transport=AsyncEmulatorTransport(emulator))


async def test_queue_is_fair_between_clients() -> None:
    shaper = Shaper(1)
    first = shaper.try_acquire("m")
    assert first is not None and shaper.try_acquire("m") is None
    tickets = [shaper.enqueue("m", c) for c in ("a", "a", "a", "b")]
    order = []
    slot = first
    for _ in tickets:
        shaper.release(slot)
        done = [t for t in tickets if t.future.done() and t not in order]
        assert len(done) == 1
        order.append(done[0])
        slot = done[0].future.result()
    assert [t.client for t in order] == ["a", "b", "a", "a"]  # round-robin, FIFO within a client
    assert order[0] is tickets[0] and order[2] is tickets[1]


async def test_queue_is_bounded_and_times_out() -> None:
    shaper = Shaper(1, queue_size=1, queue_timeout=0.05)
    assert shaper.try_acquire("m") is not None
    ticket = shaper.enqueue("m", "a")
    with pytest.raises(QueueFull):
        shaper.enqueue("m", "b")
    with pytest.raises(QueueTimeout):
        while await ticket.wait(0.01) is None:
            pass
    assert shaper.depth("m") == 0


async def test_abandoned_request_leaves_the_queue() -> None:
    shaper = Shaper(1)
    held = shaper.try_acquire("m")
    assert held is not None
    gone = asyncio.create_task(shaper.acquire("m", "a"))
    stays = asyncio.create_task(shaper.acquire("m", "b"))
    await asyncio.sleep(0.01)
    assert shaper.depth("m") == 2
    gone.cancel()
    await asyncio.sleep(0.01)
    assert shaper.depth("m") == 1 and shaper.busy == 1
    shaper.release(held)
    slot = await asyncio.wait_for(stays, 1)
    assert shaper.inflight("m") == 1 and shaper.busy == 1  # the slot went to the waiting request
    shaper.release(slot)
    shaper.release(slot)  # twice: counted once
    assert shaper.inflight("m") == 0 and shaper.busy == 0


async def test_busy_counts_the_slots_of_every_model() -> None:
    shaper = Shaper(2)
    a, b, c = shaper.try_acquire("m"), shaper.try_acquire("m"), shaper.try_acquire("n")
    assert a is not None and b is not None and c is not None
    assert shaper.busy == 3 and shaper.try_acquire("m") is None and shaper.busy == 3
    ticket = shaper.enqueue("m", "x")
    shaper.release(a)  # handed straight to the queued request
    assert ticket.future.done() and shaper.busy == 3
    for slot in (b, c, ticket.future.result()):
        shaper.release(slot)
    assert shaper.busy == 0


async def test_limit_learned_down_on_1302_and_recovers() -> None:
    shaper = Shaper(4, recover_after=3)
    slots = [shaper.try_acquire("m") for _ in range(3)]
    shaper.release(slots[0], busy=True)  # 3 were in flight when the upstream said 1302
    assert shaper.limit("m") == 2
    shaper.release(slots[1], busy=True)
    assert shaper.limit("m") == 1
    shaper.release(slots[2])
    for _ in range(3):
        s = shaper.try_acquire("m")
        assert s is not None
        shaper.release(s)
    assert shaper.limit("m") == 2


@pytest.mark.timeout(90)
def test_twenty_clients_through_a_one_slot_upstream(tmp_path: Path) -> None:
    import anthropic

    with EmulatorServer(max_concurrency=1, chunk_delay=0.001) as upstream:
        settings = _settings(upstream.coding_base_url)
        app = create_app(
            GatewayConfig(max_inflight=3, ping_interval=0.05, ledger_path=str(tmp_path / "l.db")), settings
        )
        with ThreadServer(app) as gw:

            def one(i: int) -> str:
                c = anthropic.Anthropic(
                    api_key="x", base_url=gw.url, max_retries=0, default_headers={"x-glmkit-client": f"agent-{i % 4}"}
                )
                prompt = [{"role": "user", "content": f"subagent {i}"}]
                if i % 2:
                    with c.messages.stream(model="claude-sonnet-4-5", max_tokens=300, messages=prompt) as s:  # type: ignore[arg-type]
                        return s.get_final_text()
                return c.messages.create(model="claude-sonnet-4-5", max_tokens=300, messages=prompt).content[-1].text  # type: ignore[arg-type, union-attr]

            with ThreadPoolExecutor(20) as pool:
                answers = list(pool.map(one, range(20)))
            health = httpx.get(f"{gw.url}/health").json()
    assert all(f"subagent {i}" in a for i, a in enumerate(answers))
    assert health["models"]["glm-5.3"]["limit"] == 1  # learned from the upstream's 1302s, which never reached a client


async def test_queued_stream_gets_pings_and_abandoning_frees_the_queue(tmp_path: Path) -> None:
    emu = emulator_app(EmulatorConfig(chunk_delay=0.01))
    app = in_process(emu, tmp_path, max_inflight=1, ping_interval=0.02)
    gw = app.state.gateway
    async with httpx.AsyncClient(transport=AsyncEmulatorTransport(app), base_url="http://localhost", timeout=10) as c:
        slow = {**MSG, "stream": True}
        async with c.stream("POST", "/v1/messages", json=slow, headers={"x-emulator-chunks": "30"}) as first:
            async with c.stream("POST", "/v1/messages", json=slow) as queued:
                seen = b""
                async for piece in queued.aiter_bytes():
                    seen += piece
                    if seen.count(b"event: ping") >= 2:
                        break
                assert seen.startswith(b"event: message_start")
            await asyncio.sleep(0.05)
            assert gw.shaper.depth("glm-5.3") == 0  # the abandoned request left the queue
            rest = await first.aread()
        assert rest.rstrip().endswith(b'data: {"type":"message_stop"}')
        r = await c.post("/v1/messages", json=slow)
        assert b"message_stop" in r.content and gw.shaper.inflight("glm-5.3") == 0
    await gw.aclose()
    from glmkit.ledger import Ledger

    statuses = [row["status"] for row in Ledger(tmp_path / "ledger.db").requests()]
    assert sorted(statuses) == [200, 200, 499]


@pytest.mark.timeout(120)
async def test_ledger_has_a_row_for_each_of_200_streams_with_faults(tmp_path: Path) -> None:
    faults = [
        Fault(kind="status", status=500, retry_after=0, times=15, path="/chat/completions"),
        Fault(kind="cut", after=2, times=10, path="/chat/completions", skip=20),
        Fault(kind="stream_error", after=1, code="1234", times=5, path="/chat/completions", skip=40),
    ]
    emu = emulator_app(EmulatorConfig(faults=faults))
    app = in_process(emu, tmp_path, max_inflight=8)
    body = {**MSG, "stream": True}
    async with httpx.AsyncClient(transport=AsyncEmulatorTransport(app), base_url="http://localhost", timeout=60) as c:

        async def one(i: int) -> bytes:
            r = await c.post("/v1/messages", json={**body, "messages": [{"role": "user", "content": f"n{i}"}]})
            return r.content

        bodies = await asyncio.gather(*(one(i) for i in range(200)))
    await app.state.gateway.aclose()  # flushes the ledger, as shutdown does
    from glmkit.ledger import Ledger

    rows = Ledger(tmp_path / "ledger.db").requests()
    assert len(rows) == 200
    errors = sum(b"event: error" in b for b in bodies)
    assert errors == 15  # 10 cuts + 5 stream errors; the 500s were retried before the first byte
    assert sum(r["status"] != 200 for r in rows) == errors
    assert all(json.loads(b.split(b"data: ", 1)[1].split(b"\n", 1)[0])["type"] == "message_start" for b in bodies)
    assert all(r["queue_depth"] is not None for r in rows if r["queue_wait_ms"])
