"""The gateway's lean HTTP/1.1 transport under httpx.AsyncClient: framing, keep-alive, stale connections, errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from glmkit.gateway.upstream_http import LeanTransport
from glmkit.testing import TEST_KEY, EmulatorServer, free_port

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]


async def test_json_and_chunked_stream_over_one_kept_alive_connection(emulator_server: EmulatorServer) -> None:
    transport = LeanTransport()
    async with httpx.AsyncClient(transport=transport, headers={"Authorization": f"Bearer {TEST_KEY}"}) as c:
        url = f"{emulator_server.coding_base_url}/chat/completions"
        body = {"model": "glm-4.6", "messages": [{"role": "user", "content": "lean"}]}
        plain = await c.post(url, json=body)
        assert plain.status_code == 200 and "lean" in plain.json()["choices"][0]["message"]["content"]
        async with c.stream("POST", url, json={**body, "stream": True}) as r:
            assert r.headers.get("transfer-encoding") == "chunked"
            text = b"".join([piece async for piece in r.aiter_bytes()])
        assert text.endswith(b"data: [DONE]\n\n")
        error = await c.post(url, json={**body, "model": "nope"})
        assert error.status_code == 400 and error.json()["error"]["code"] == "1211"
        assert sum(len(v) for v in transport._idle.values()) == 1  # three requests, one connection


async def test_connection_refused_is_an_httpx_connect_error() -> None:
    async with httpx.AsyncClient(transport=LeanTransport()) as c:
        with pytest.raises(httpx.ConnectError):
            await c.get(f"http://127.0.0.1:{free_port()}/")


async def _serve(handler) -> AsyncIterator[int]:  # type: ignore[no-untyped-def]
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.close()


async def test_a_pooled_connection_closed_by_the_server_is_retried_once() -> None:
    served = 0

    async def once_per_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        await reader.readuntil(b"\r\n\r\n")
        served += 1
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()  # keep-alive promised, then dropped: the next request on it must go elsewhere

    async for port in _serve(once_per_connection):
        async with httpx.AsyncClient(transport=LeanTransport()) as c:
            for _ in range(3):
                r = await c.get(f"http://127.0.0.1:{port}/x")
                assert r.text == "ok"
    assert served == 3


async def test_a_body_cut_short_is_a_read_error() -> None:
    async def short(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n")
        await writer.drain()
        writer.close()

    async for port in _serve(short):
        async with httpx.AsyncClient(transport=LeanTransport()) as c:
            async with c.stream("GET", f"http://127.0.0.1:{port}/") as r:
                got = b""
                with pytest.raises(httpx.ReadError):
                    async for piece in r.aiter_bytes():
                        got += piece
            assert got == b"hello"


async def test_a_large_body_arrives_whole(emulator_server: EmulatorServer) -> None:
    """Bodies over 1 MB go as a view after the head (no copies): the server must still get every byte."""
    text = "abcdef " * 180_000  # 1.26 MB, ~180k tokens: within the model's context
    async with httpx.AsyncClient(transport=LeanTransport(), headers={"Authorization": f"Bearer {TEST_KEY}"}) as c:
        url = f"{emulator_server.coding_base_url}/chat/completions"
        r = await c.post(url, json={"model": "glm-4.6", "messages": [{"role": "user", "content": text}]})
    assert r.status_code == 200, r.text
    received = emulator_server.state.extra["chat"]["received"][-1]
    assert received["messages"][0]["content"] == text
