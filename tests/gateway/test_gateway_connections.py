"""`glm serve` as a real process, probed over raw sockets: clients that hang up, stall or send too much.

Each case is what a broken or hostile client does on the wire; the gateway must neither log a traceback nor
write a row for a request nobody was owed an answer to, stop upstream work for a client that has gone, and
close connections that never finish their request.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from glmkit.ledger import Ledger
from glmkit.testing import free_port, stop_process
from tests.gateway.conftest import _wait, upstream_env

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]

CONFIG = "[gateway]\nheader_timeout = 1.0\nbody_timeout = 1.5\nmax_body = 1000000\n"
CHAT = b'{"model": "glm-4.6", "messages": [{"role": "user", "content": "hi"}]}'


class Gateway:
    def __init__(self, url: str, emulator: str, home: Path, stderr: Path) -> None:
        self.url, self.emulator, self.home, self.stderr = url, emulator, home, stderr
        self.port = int(url.rsplit(":", 1)[1])

    def rows(self) -> list[dict[str, Any]]:
        time.sleep(0.3)  # rows reach the database in batches every 50 ms
        return Ledger(self.home / "glmkit.db").requests(source="gateway")

    def upstream_paths(self) -> list[str]:
        got = httpx.get(f"{self.emulator}/_emulator/requests", timeout=5).json()["requests"]
        return [r["path"] for r in got if not r["path"].startswith("/_emulator")]

    def reset(self) -> None:
        httpx.post(f"{self.emulator}/_emulator/reset", timeout=5).raise_for_status()


@pytest.fixture(scope="module")
def gw(emulate_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    home = tmp_path_factory.mktemp("conn-home")
    (home / "config.toml").write_text(CONFIG)
    env = upstream_env(home, emulate_url)
    env["GLM_MAX_RETRIES"] = "3"
    port = free_port()
    stderr = home / "serve.err"
    with stderr.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "glmkit.cli.app", "serve", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=env,
        )
        try:
            _wait(f"http://127.0.0.1:{port}/health", proc)
            yield Gateway(f"http://127.0.0.1:{port}", emulate_url, home, stderr)
        finally:
            stop_process(proc)


@contextlib.contextmanager
def connect(gw: Gateway) -> Iterator[socket.socket]:
    sock = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    try:
        yield sock
    finally:
        sock.close()


def head(length: int | None, path: str = "/v1/chat/completions", chunked: bool = False) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_until_closed(sock: socket.socket, limit: float = 10.0) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    start = time.monotonic()
    sock.settimeout(limit)
    data = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            data += chunk
    return data, time.monotonic() - start


def read_response(sock: socket.socket) -> bytes:
    """One whole answer with a Content-Length: its head and body may come in separate reads."""
    sock.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < _length(data):
        chunk = sock.recv(65536)
        assert chunk, f"closed before a whole answer: {data!r}"
        data += chunk
    return data


def _length(data: bytes) -> int:
    top = data.partition(b"\r\n\r\n")[0].lower().split(b"\r\n")
    return next(int(line.split(b":")[1]) for line in top if line.startswith(b"content-length:"))


def test_hang_up_mid_body_leaves_no_traceback_and_no_row(gw: Gateway) -> None:
    before = len(gw.rows())
    for _ in range(3):
        with connect(gw) as sock:
            sock.sendall(head(len(CHAT)) + CHAT[:20])
            time.sleep(0.1)
    ok = httpx.post(f"{gw.url}/v1/chat/completions", content=CHAT, headers={"Content-Type": "application/json"})
    assert ok.status_code == 200
    rows = gw.rows()[before:]
    assert [r["status"] for r in rows] == [200]  # the hang-ups owed nobody an answer: no row, no 500
    assert "Traceback" not in gw.stderr.read_text()


def test_unfinished_headers_are_closed_in_time(gw: Gateway) -> None:
    with connect(gw) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
        data, took = read_until_closed(sock)
    assert data == b"" and took < 5  # header_timeout = 1 s; never, before
    with connect(gw) as sock:  # and on a kept-alive connection, after a first answer
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /hea")
        data, took = read_until_closed(sock)
    assert data.count(b"HTTP/1.1 200") == 1 and took < 5


def test_unfinished_body_gets_408_and_is_closed(gw: Gateway) -> None:
    with connect(gw) as sock:
        sock.sendall(head(len(CHAT)) + CHAT[:20])
        data, took = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 408") and b'"error"' in data and took < 5
    assert "Traceback" not in gw.stderr.read_text()


@pytest.mark.parametrize("pipelined", [False, True])
def test_a_whole_body_then_an_unfinished_one_on_one_connection(gw: Gateway, pipelined: bool) -> None:
    """A body that came whole is read without a timer; the next request on the kept-alive connection, whose body
    does not come, still gets its 408 in time (what marks a body as in belongs to its own request), sent after the
    first answer or right behind the first request (pipelined: its headers are in before the first answer ends,
    and the header timer must not cut it)."""
    with connect(gw) as sock:
        sock.sendall(head(len(CHAT)) + CHAT + (head(len(CHAT)) + CHAT[:20] if pipelined else b""))
        if not pipelined:
            first = read_response(sock)
            assert first.startswith(b"HTTP/1.1 200") and b'"choices"' in first
            sock.sendall(head(len(CHAT)) + CHAT[:20])
        data, took = read_until_closed(sock)
    if pipelined:
        assert data.startswith(b"HTTP/1.1 200") and b'"choices"' in data.split(b"HTTP/1.1 408")[0]
    assert b"HTTP/1.1 408" in data and b"did not arrive" in data and took < 5
    assert "Traceback" not in gw.stderr.read_text()


def _data_segments_in(sock: socket.socket) -> int:
    """Linux's count of the segments carrying data this socket received (``tcpi_data_segs_in`` of ``TCP_INFO``)."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 232)
    return int.from_bytes(info[152:156], sys.byteorder)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="TCP_INFO's segment counts are Linux's")
def test_a_whole_answer_leaves_in_one_write(gw: Gateway) -> None:
    """A plain JSON answer's head and body go out together: one segment, one read for the client (not two)."""
    with connect(gw) as sock:
        for _ in range(3):  # each request on the kept-alive connection
            before = _data_segments_in(sock)
            sock.sendall(head(len(CHAT)) + CHAT)
            answer = read_response(sock)
            assert answer.startswith(b"HTTP/1.1 200") and b'"choices"' in answer
            assert _data_segments_in(sock) - before == 1


def test_oversized_body_is_refused_before_it_is_sent(gw: Gateway) -> None:
    gw.reset()
    with connect(gw) as sock:  # announced: answered at once, nothing of the body read
        sock.sendall(head(50_000_000))
        data, _ = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 413") and b"1,000,000" in data
    with connect(gw) as sock:  # streamed: counted as it comes, refused once over
        sock.sendall(head(None, chunked=True))
        chunk = b"x" * 400_000
        with contextlib.suppress(OSError):  # the server may close while we still send
            for _ in range(10):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        data, _ = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 413")
    assert gw.upstream_paths() == []


def test_plain_request_whose_client_left_stops_retrying_and_is_499(gw: Gateway) -> None:
    gw.reset()
    fault = {"kind": "status", "status": 500, "retry_after": 1, "times": 10, "path": "chat/completions"}
    httpx.post(f"{gw.emulator}/_emulator/faults", json=fault, timeout=5).raise_for_status()
    before = len(gw.rows())
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{gw.url}/v1/chat/completions",
            content=CHAT,
            headers={"Content-Type": "application/json"},
            timeout=httpx.Timeout(5, read=0.5),
        )
    time.sleep(3.5)  # three more retries (1 s apart) would have gone by now
    calls = [p for p in gw.upstream_paths() if p.endswith("chat/completions")]
    httpx.delete(f"{gw.emulator}/_emulator/faults", timeout=5)
    assert len(calls) == 1
    assert [r["status"] for r in gw.rows()[before:]] == [499]
