"""The sync ``Client``'s own HTTP/1.1 transport, seen through the client: keep-alive, TLS, timeouts, cut
connections, redirects and proxies (httpx's), and a first request that never imports httpx.

Peer: a small threaded HTTP/1.1 server on 127.0.0.1 whose handler scripts each connection.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import glmkit
from glmkit._errors import APIConnectionError, APITimeoutError, NotFoundError
from glmkit.testing import TEST_KEY, EmulatorServer

pytestmark = pytest.mark.timeout(30)

KEY = "a1b2c3d4e5f6a1b2.a1b2c3d4e5f6g7h8"
MODELS = {"object": "list", "data": [{"id": "glm-5.3", "object": "model", "created": 1, "owned_by": "z-ai"}]}
HELLO = [{"role": "user", "content": "hi"}]
Handler = Callable[["Conn"], None]


class Conn:
    """One accepted connection: read request heads, write answers."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def request(self) -> tuple[str, str, dict[str, str], bytes] | None:
        """The next request (method, target, headers, body), or ``None`` once the client has closed."""
        while b"\r\n\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buf += data
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ")
        headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(self.buf) < length:
            self.buf += self.sock.recv(65536)
        body, self.buf = self.buf[:length], self.buf[length:]
        return method, target, headers, body

    def answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        out = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", "Content-Type: application/json"]
        out += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + body)


class Server:
    """Accepts on 127.0.0.1 (TLS with ``context``); each connection runs ``handler`` in its own thread."""

    def __init__(self, handler: Handler, context: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.context = context
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.seen: list[tuple[str, str]] = []
        self.connections = 0
        self.threads: list[threading.Thread] = []
        self.socks: list[socket.socket] = []
        self.accepting = threading.Thread(target=self._accept, daemon=True)
        self.accepting.start()

    @property
    def url(self) -> str:
        return f"{'https' if self.context else 'http'}://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            self.socks.append(sock)
            thread = threading.Thread(target=self._run, args=(sock,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _run(self, sock: socket.socket) -> None:
        try:
            if self.context is not None:
                sock = self.context.wrap_socket(sock, server_side=True)
                self.socks.append(sock)
            self.handler(Conn(sock))
        except OSError:
            pass
        finally:
            sock.close()

    def close(self) -> None:
        self.listener.close()
        for sock in self.socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self.threads:
            thread.join(5)


def serve_models(server_seen: list[tuple[str, str]], *, close_after_each: bool = False) -> Handler:
    def handler(conn: Conn) -> None:
        while (request := conn.request()) is not None:
            method, target, _, _ = request
            server_seen.append((method, target))
            if target.endswith("/old/models"):
                conn.answer(307, b"", {"Location": target.replace("/old/", "/new/")})
            elif target.endswith("/missing/models"):
                body = {"error": {"code": "1211", "message": "no such model"}}
                conn.answer(404, json.dumps(body).encode(), {"X-Request-Id": "req-404"})
            else:
                conn.answer(200, json.dumps(MODELS).encode(), {"X-Request-Id": "req-1"})
            if close_after_each:  # without saying so: the client finds out on its next request
                return

    return handler


@pytest.fixture
def serve() -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(handler: Handler | None = None, context: ssl.SSLContext | None = None, **options: bool) -> Server:
        seen: list[tuple[str, str]] = []
        server = Server(handler or serve_models(seen, **options), context)
        server.seen = seen
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture(autouse=True)
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def test_requests_share_one_kept_alive_connection_and_carry_their_timing(serve: Callable[..., Server]) -> None:
    server = serve()
    with glmkit.Client(api_key=KEY, base_url=f"{server.url}/v4") as c:
        first = c.models.list()
        second = c.models.list()
    assert first.data[0].id == second.data[0].id == "glm-5.3"
    raw = first.raw_response
    assert raw.status_code == 200 and raw.request_id == "req-1"
    assert raw.headers["X-REQUEST-ID"] == "req-1"  # names matched without regard to case
    assert raw.elapsed is not None and raw.elapsed > 0
    assert server.seen == [("GET", "/v4/models")] * 2
    assert server.connections == 1


def test_a_connection_the_server_closed_is_replaced_once(serve: Callable[..., Server]) -> None:
    server = serve(close_after_each=True)
    with glmkit.Client(api_key=KEY, base_url=f"{server.url}/v4", max_retries=0) as c:
        for _ in range(3):
            assert c.models.list().data[0].id == "glm-5.3"
    assert server.connections == 3


def test_an_error_answer_is_the_tables_exception(serve: Callable[..., Server]) -> None:
    server = serve()
    with glmkit.Client(api_key=KEY, base_url=f"{server.url}/missing", max_retries=0) as c:
        with pytest.raises(NotFoundError) as info:
            c.models.list()
        assert info.value.request_id == "req-404"
    assert server.seen == [("GET", "/missing/models")]


def test_tls_with_the_trust_httpx_has(
    serve: Callable[..., Server], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import trustme

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    server = serve(context=context)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with (
        glmkit.Client(api_key=KEY, base_url=f"{server.url}/v4", max_retries=0) as c,
        pytest.raises(APIConnectionError),  # certifi does not know the test CA
    ):
        c.models.list()
    monkeypatch.setenv("SSL_CERT_FILE", str(cafile))
    with glmkit.Client(api_key=KEY, base_url=f"{server.url}/v4") as c:
        assert c.models.list().data[0].id == c.models.list().data[0].id == "glm-5.3"
    assert server.seen == [("GET", "/v4/models")] * 2
    assert server.connections == 2  # the refused handshake, then one kept-alive connection for both


def test_a_server_that_does_not_answer_in_time_is_a_timeout(serve: Callable[..., Server]) -> None:
    stop = threading.Event()

    def stall(conn: Conn) -> None:
        conn.request()
        stop.wait(10)

    server = serve(stall)
    try:
        with (
            glmkit.Client(api_key=KEY, base_url=server.url, timeout=0.2, max_retries=0) as c,
            pytest.raises(APITimeoutError),
        ):
            c.models.list()
    finally:
        stop.set()


def test_a_body_cut_short_is_a_connection_error(serve: Callable[..., Server]) -> None:
    def cut(conn: Conn) -> None:
        conn.request()
        conn.sock.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"obj')

    server = serve(cut)
    with glmkit.Client(api_key=KEY, base_url=server.url, max_retries=0) as c, pytest.raises(APIConnectionError):
        c.models.list()


def test_a_stream_cut_mid_way_keeps_what_arrived(serve: Callable[..., Server]) -> None:
    delta = {"id": "s", "created": 1, "model": "glm-5.3", "choices": [{"index": 0, "delta": {"content": "par"}}]}

    def cut(conn: Conn) -> None:
        conn.request()
        event = b"data: " + json.dumps(delta).encode() + b"\n\n"
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        conn.sock.sendall(head + b"%x\r\n%s\r\n" % (len(event), event))

    server = serve(cut)
    with glmkit.Client(api_key=KEY, base_url=server.url, max_retries=0) as c:
        stream = c.chat.completions.create(model="glm-5.3", messages=HELLO, stream=True)  # type: ignore[arg-type]
        with pytest.raises(APIConnectionError) as info:
            for _ in stream:
                pass
    assert info.value.partial is not None and info.value.partial.choices[0].message.content == "par"


def test_a_redirect_is_followed_as_httpx_follows_it(serve: Callable[..., Server]) -> None:
    server = serve()
    with glmkit.Client(api_key=KEY, base_url=f"{server.url}/old") as c:
        assert c.models.list().data[0].id == "glm-5.3"
    assert server.seen == [("GET", "/old/models"), ("GET", "/new/models")]


def test_a_proxy_in_the_environment_sends_through_httpx(
    serve: Callable[..., Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = serve()
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    with glmkit.Client(api_key=KEY, base_url="http://api.test/v4", max_retries=0) as c:
        assert c.models.list().data[0].id == "glm-5.3"
    assert proxy.seen == [("GET", "http://api.test/v4/models")]  # the absolute form a proxy is asked with


SYNC_CALLS = """
c = glmkit.Client(api_key=KEY, base_url=URL)
answer = c.chat.completions.create(model="glm-4.6", messages=[{"role": "user", "content": "hi"}])
assert answer.choices[0].message.content
assert "".join(c.with_options(timeout=30).chat.completions.create(
    model="glm-4.6", messages=[{"role": "user", "content": "hi"}], stream=True).text_stream)
try:
    c.chat.completions.create(model="nope", messages=[{"role": "user", "content": "hi"}])
except glmkit.NotFoundError:
    pass
else:
    raise AssertionError("no error for an unknown model")
"""

ASYNC_CALLS = """
import asyncio

async def main():
    async with glmkit.AsyncClient(api_key=KEY, base_url=URL) as c:
        answer = await c.chat.completions.create(model="glm-4.6", messages=[{"role": "user", "content": "hi"}])
        assert answer.choices[0].message.content
        stream = await c.with_options(timeout=30).chat.completions.create(
            model="glm-4.6", messages=[{"role": "user", "content": "hi"}], stream=True)
        assert "".join([text async for text in stream.text_stream])
        try:
            await c.chat.completions.create(model="nope", messages=[{"role": "user", "content": "hi"}])
        except glmkit.NotFoundError:
            pass
        else:
            raise AssertionError("no error for an unknown model")

asyncio.run(main())
"""


@pytest.mark.parametrize("calls", [SYNC_CALLS, ASYNC_CALLS], ids=["sync", "async"])
def test_the_default_path_does_not_import_httpx(emulator_server: EmulatorServer, calls: str) -> None:
    """A plain call, a clone's stream and an error answer: httpx (and anyio) stay out of a fresh process."""
    script = f"import sys\nimport glmkit\nKEY = {TEST_KEY!r}\nURL = {emulator_server.coding_base_url!r}\n{calls}"
    script += '\nassert "httpx" not in sys.modules, "httpx was imported"\nassert "anyio" not in sys.modules, "anyio"\n'
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_lean_request_carries_our_headers_and_compact_json(serve: Callable[..., Server], kind: str) -> None:
    got: list[tuple[str, str, dict[str, str], bytes]] = []
    answer = {"id": "c", "created": 1, "model": "glm-5.3", "choices": [{"index": 0, "message": {"content": "ok"}}]}

    def record(conn: Conn) -> None:
        while (request := conn.request()) is not None:
            got.append(request)
            conn.answer(200, json.dumps(answer).encode())

    server = serve(record)
    params: Any = {
        "model": "glm-5.3",
        "messages": [{"role": "user", "content": "héllo"}],
        "extra_headers": {"x-trace": "1"},
    }
    if kind == "sync":
        with glmkit.Client(api_key=KEY, base_url=f"{server.url}/v4") as c:
            reply = c.chat.completions.create(**params)
    else:
        async with glmkit.AsyncClient(api_key=KEY, base_url=f"{server.url}/v4") as ac:
            reply = await ac.chat.completions.create(**params)
    assert reply.choices[0].message.content == "ok"
    ((method, target, headers, body),) = got
    assert (method, target) == ("POST", "/v4/chat/completions")
    assert headers["host"] == f"127.0.0.1:{server.port}"
    assert headers["user-agent"].startswith("glmkit/")
    assert headers["authorization"] == f"Bearer {KEY}"
    assert headers["accept"] == "application/json"
    assert headers["accept-encoding"] == "identity"  # the lean transports do not decompress
    assert headers["content-type"] == "application/json"
    assert headers["x-trace"] == "1"
    assert int(headers["content-length"]) == len(body)
    assert '"content":"héllo"'.encode() in body  # compact, UTF-8 as it is
