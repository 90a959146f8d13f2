"""The gateway's lean HTTP/1.1 transport under httpx.AsyncClient: framing, keep-alive, stale connections, errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from glmkit._http11 import LeanTransport
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
        assert sum(len(v) for v in transport.lean._idle.values()) == 1  # three requests, one connection


async def test_connection_refused_is_an_httpx_connect_error() -> None:
    async with httpx.AsyncClient(transport=LeanTransport()) as c:
        with pytest.raises(httpx.ConnectError):
            await c.get(f"http://127.0.0.1:{free_port()}/")


async def _serve(handler) -> AsyncIterator[int]:  # type: ignore[no-untyped-def]
    tasks: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()  # every connection closed, whatever way its handler ends

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


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


def _chunked(events: list[bytes]) -> bytes:
    """A chunked HTTP response, one chunk per event."""
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    return head + b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in events) + b"0\r\n\r\n"


EVENTS = [b'data: {"n":%d,"text":"%s"}\n\n' % (i, b"x" * (i % 7)) for i in range(300)]


async def test_events_that_arrive_together_come_out_together_with_the_same_bytes() -> None:
    async def all_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(_chunked(EVENTS))  # one write: 300 chunks
        await writer.drain()

    async for port in _serve(all_at_once):
        async with httpx.AsyncClient(transport=LeanTransport()) as c, c.stream("GET", f"http://127.0.0.1:{port}/") as r:
            pieces = [piece async for piece in r.aiter_raw()]
    assert b"".join(pieces) == b"".join(EVENTS)
    assert len(pieces) < len(EVENTS) // 10  # one piece per network read, not one per chunk


@pytest.mark.parametrize("chunked", [True, False])
async def test_a_reader_that_stops_at_the_last_piece_leaves_the_connection_kept_alive(chunked: bool) -> None:
    """A relay that stops reading at the answer's last event (Anthropic's message_stop) has read the whole body
    when that event came in the body's last read: the connection goes back to the pool, not closed (over TLS a
    closed one costs a handshake on the next request)."""
    connections = 0

    async def keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while True:
            await reader.readuntil(b"\r\n\r\n")
            if chunked:
                writer.write(_chunked(EVENTS[:3]))  # the events and the last chunk in one write
            else:
                body = b"".join(EVENTS[:3])
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
            await writer.drain()

    async for port in _serve(keep_alive):
        async with httpx.AsyncClient(transport=LeanTransport()) as c:
            for _ in range(3):
                async with c.stream("GET", f"http://127.0.0.1:{port}/") as r:
                    async for piece in r.aiter_raw():
                        assert piece.endswith(EVENTS[2])
                        break  # the answer is over: nothing more is read
    assert connections == 1


@pytest.mark.parametrize("step", [1, 2, 3, 5, 7, 64, 1000])
async def test_a_chunked_body_split_anywhere_across_reads_decodes_to_the_same_bytes(step: int) -> None:
    wire = _chunked(EVENTS[:12]).replace(b"0\r\n\r\n", b"0\r\nx-trailer: 1\r\n\r\n")

    async def dribble(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(2):
            await reader.readuntil(b"\r\n\r\n")
            for i in range(0, len(wire), step):
                writer.write(wire[i : i + step])
                await writer.drain()
                await asyncio.sleep(0)
        await reader.read()  # the connection stays open until the client closes it

    async for port in _serve(dribble):
        transport = LeanTransport()
        async with httpx.AsyncClient(transport=transport) as c:
            for _ in range(2):  # the trailer is consumed: the kept-alive connection serves the next request
                async with c.stream("GET", f"http://127.0.0.1:{port}/") as r:
                    got = b"".join([piece async for piece in r.aiter_raw()])
                assert got == b"".join(EVENTS[:12])
            assert sum(len(v) for v in transport.lean._idle.values()) == 1


async def test_a_stalled_upstream_is_a_read_timeout_but_a_slow_reader_is_not() -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        wire = _chunked(EVENTS[:3])
        writer.write(wire[: wire.index(EVENTS[2])])  # two events, then silence
        await writer.drain()
        await asyncio.sleep(5)

    async def whole(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(_chunked(EVENTS[:3]))
        await writer.drain()

    timeout = httpx.Timeout(5, read=0.2)
    async for port in _serve(stall):
        async with httpx.AsyncClient(transport=LeanTransport(), timeout=timeout) as c:
            async with c.stream("GET", f"http://127.0.0.1:{port}/") as r:
                got = b""
                with pytest.raises(httpx.ReadTimeout):
                    async for piece in r.aiter_raw():
                        got += piece
            assert got == EVENTS[0] + EVENTS[1]
            assert not asyncio.current_task().cancelling()  # type: ignore[union-attr]  # the timeout left no cancel behind
    async for port in _serve(whole):
        async with httpx.AsyncClient(transport=LeanTransport(), timeout=timeout) as c:
            async with c.stream("GET", f"http://127.0.0.1:{port}/") as r:
                got = b""
                async for piece in r.aiter_raw():
                    await asyncio.sleep(0.5)  # longer than the read timeout, but not spent waiting on the upstream
                    got += piece
            assert got == b"".join(EVENTS[:3])


async def test_tls_with_the_trust_httpx_has(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import ssl

    import trustme

    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(_chunked(EVENTS[:5]))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server_context)
    url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    try:
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        async with httpx.AsyncClient(transport=LeanTransport()) as c:
            with pytest.raises(httpx.ConnectError):  # certifi does not know the test CA
                await c.get(url)
        monkeypatch.setenv("SSL_CERT_FILE", str(cafile))
        transport = LeanTransport()
        async with httpx.AsyncClient(transport=transport) as c:
            for _ in range(2):
                async with c.stream("GET", url) as r:
                    assert b"".join([piece async for piece in r.aiter_raw()]) == b"".join(EVENTS[:5])
            assert sum(len(v) for v in transport.lean._idle.values()) == 1  # kept alive over TLS
    finally:
        server.close()


@pytest.mark.parametrize(
    ("status", "location", "method", "body", "auth"),
    [
        (307, "/new/chat", "POST", b'{"a":1}', True),  # same origin, method and body kept
        (308, "https://other.test/chat", "POST", b'{"a":1}', False),  # another origin: no Authorization
        (303, "/done", "GET", b"", True),  # "see other": a GET without the body
        (302, "/moved", "GET", b"", True),  # after a POST, as browsers and httpx do
    ],
)
def test_a_redirect_is_rebuilt_by_httpxs_rules(
    status: int, location: str, method: str, body: bytes, auth: bool
) -> None:
    from glmkit._http11 import redirect_request

    sent = httpx.Request(
        "POST", "https://api.test/v4/chat", content=b'{"a":1}', headers={"Authorization": "Bearer k", "X-Keep": "1"}
    )
    answer = httpx.Response(status, headers={"Location": location}, request=sent)
    nxt = redirect_request(sent, answer)
    assert (nxt.method, nxt.content) == (method, body)
    assert nxt.url == sent.url.join(location)
    assert ("authorization" in nxt.headers) is auth and nxt.headers["x-keep"] == "1"
    assert nxt.headers["host"] == nxt.url.netloc.decode()


async def test_one_read_deadline_per_connection_follows_each_requests_timeout() -> None:
    """The response head's timeout is a timer per connection, not per request: a request with a shorter timeout
    than the last one on the same connection still times out on time, a connection idle for longer than the
    timeout is not cut at its next request, and a timeout leaves no cancellation behind."""
    import glmkit
    from glmkit._errors import APITimeoutError

    models = b'{"object":"list","data":[{"id":"glm-5.3","object":"model","created":1,"owned_by":"z-ai"}]}'
    connections = 0
    pace = [0, 0.6, 0, 5]  # seconds before each answer

    async def paced(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while True:
            await reader.readuntil(b"\r\n\r\n")
            await asyncio.sleep(pace.pop(0) if pace else 0)
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(models), models))
            await writer.drain()

    async for port in _serve(paced):
        async with glmkit.AsyncClient(api_key=TEST_KEY, base_url=f"http://127.0.0.1:{port}/v4", max_retries=0) as c:
            within_1s = c.with_options(timeout=1)
            assert (await within_1s.models.list()).data[0].id == "glm-5.3"  # arms the connection's timer at +1 s
            await asyncio.sleep(0.6)
            # 0.6 s of waiting, within its 1 s: the timer armed by the first request fires 0.4 s into it, and re-arms
            assert (await within_1s.models.list()).data[0].id == "glm-5.3"
            await asyncio.sleep(0.5)  # idle: the timer lapses
            assert (await c.with_options(timeout=5).models.list()).data[0].id == "glm-5.3"  # armed at +5 s
            assert connections == 1  # the clones share the pool: one kept-alive connection so far
            started = asyncio.get_running_loop().time()
            with pytest.raises(APITimeoutError):
                await c.with_options(timeout=0.2).models.list()
            assert asyncio.get_running_loop().time() - started < 2  # the 0.2 s timeout, not the 5 s armed earlier
            assert not asyncio.current_task().cancelling()  # type: ignore[union-attr]
            assert (await c.models.list()).data[0].id == "glm-5.3"  # a fresh connection after the timed-out one
