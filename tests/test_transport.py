"""The request pipeline seen from the wire: what a call sends, how answers and failures come back, retries.

Peers: ``httpx.MockTransport`` (records the requests the client built, answers from a script), the emulator
on a loopback port, and a small HTTP/1.1 server on 127.0.0.1 for the async client's own lean transport.
Most tests run under both clients.
"""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx
import jwt
import pytest

import glmkit
from glmkit._errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
)
from glmkit.testing import TEST_KEY, EmulatorServer

KEY = "a1b2c3d4e5f6a1b2.a1b2c3d4e5f6g7h8"
BASE = "http://api.test/v4"
MODELS = {"object": "list", "data": [{"id": "glm-5.3", "object": "model", "created": 1, "owned_by": "z-ai"}]}
COMPLETION = {
    "id": "c-1",
    "created": 1,
    "model": "glm-5.3",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hi"}}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}
HELLO = [{"role": "user", "content": "héllo"}]


class Peer:
    """Answers requests in turn from a script of responses or exceptions; keeps every request it got."""

    def __init__(self, answers: Iterable[httpx.Response | Exception] | None = None) -> None:
        self.answers: Iterator[httpx.Response | Exception] | None = iter(answers) if answers is not None else None
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.answers is None:  # the happy default: each endpoint's ordinary answer
            body = MODELS if request.url.path.endswith("/models") else COMPLETION
            return httpx.Response(200, json=body)
        answer = next(self.answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


def exchange(kind: str, peer: Peer, call: Callable[[Any], Any], sleeps: list[float] | None = None, **kw: Any) -> Any:
    """Build a client of ``kind`` on ``peer``, make one call with it, close it, and return the result."""
    kw.setdefault("api_key", KEY)
    kw.setdefault("base_url", BASE)
    kw.setdefault("transport", httpx.MockTransport(peer))
    slept = sleeps if sleeps is not None else []
    if kind == "sync":
        with glmkit.Client(sleep=slept.append, **kw) as client:
            return call(client)

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def main() -> Any:
        async with glmkit.AsyncClient(sleep=sleep, **kw) as client:
            return await call(client)

    return asyncio.run(main())


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


def chat(**options: Any) -> Callable[[Any], Any]:
    return lambda client: client.chat.completions.create(model="glm-5.3", messages=HELLO, **options)


def error(status: int, code: str | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
    body: dict[str, Any] = {"error": {"message": f"failure {code or status}"}}
    if code:
        body["error"]["code"] = code
    return httpx.Response(status, json=body, headers=headers)


# building the request


def test_a_json_call_sends_our_headers_the_key_and_compact_utf8_json(kind: str) -> None:
    peer = Peer()
    result = exchange(kind, peer, chat())
    assert result.choices[0].message.content == "hi"
    sent = peer.last
    assert (sent.method, str(sent.url)) == ("POST", f"{BASE}/chat/completions")
    assert sent.headers["user-agent"] == f"glmkit/{glmkit.__version__}"
    assert sent.headers["accept"] == "application/json"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["content-type"] == "application/json"
    assert b'"content":"h\xc3\xa9llo"' in sent.content  # UTF-8 as is, no \u escapes, no spaces
    assert json.loads(sent.content)["messages"] == HELLO


def test_a_streaming_call_asks_for_an_event_stream(kind: str) -> None:
    peer = Peer([httpx.Response(200, content=b"data: [DONE]\n\n", headers={"content-type": "text/event-stream"})])

    def call(client: Any) -> Any:
        return client.chat.completions.create(model="glm-5.3", messages=HELLO, stream=True)

    exchange(kind, peer, call)
    assert peer.last.headers["accept"] == "text/event-stream"
    assert json.loads(peer.last.content)["stream"] is True


def claims(request: httpx.Request) -> dict[str, Any]:
    """The verified claims of the JWT a request carries."""
    scheme, token = request.headers["authorization"].split(" ")
    assert scheme == "Bearer"
    assert jwt.get_unverified_header(token)["sign_type"] == "SIGN"
    with warnings.catch_warnings():  # Z.AI secrets are 16 characters: shorter than PyJWT advises
        warnings.simplefilter("ignore")
        return jwt.decode(token, KEY.split(".")[1], algorithms=["HS256"])  # type: ignore[no-any-return]


def test_a_jwt_client_signs_its_key(kind: str) -> None:
    peer = Peer()
    exchange(kind, peer, lambda c: c.models.list(), auth="jwt")
    assert claims(peer.last)["api_key"] == KEY.split(".")[0]


def test_a_download_sends_no_key(kind: str) -> None:
    peer = Peer([httpx.Response(200, content=b"\x89PNG")])
    got = exchange(kind, peer, lambda c: c.images.download("https://cdn.test/a.png"))
    assert got == b"\x89PNG"
    assert str(peer.last.url) == "https://cdn.test/a.png"
    assert "authorization" not in peer.last.headers


def test_extra_body_query_and_headers_reach_the_wire(kind: str) -> None:
    peer = Peer()
    exchange(
        kind,
        peer,
        chat(
            extra_body={"request_id": "mine", "temperature": 0.5},
            extra_query={"trace": "1"},
            extra_headers={"X-Trace": "abc", "Accept-Language": "zh-CN"},
        ),
    )
    sent = peer.last
    body = json.loads(sent.content)
    assert body["request_id"] == "mine"
    assert body["temperature"] == 0.5
    assert body["messages"] == HELLO
    assert sent.url.params["trace"] == "1"
    assert sent.headers["x-trace"] == "abc"
    assert sent.headers["accept-language"] == "zh-CN"  # an extra header wins over ours


def test_extra_body_on_a_multipart_upload_goes_into_the_form(kind: str, tmp_path: Any) -> None:
    peer = Peer([httpx.Response(200, json={"id": "f-1", "object": "file", "bytes": 3, "filename": "a.jsonl"})])
    path = tmp_path / "a.jsonl"
    path.write_text('{"a": 1}\n')
    exchange(kind, peer, lambda c: c.files.create(file=path, purpose="batch", extra_body={"tag": {"x": 1}}))
    sent = peer.last
    assert sent.headers["content-type"].startswith("multipart/form-data")
    assert b'name="tag"\r\n\r\n{"x": 1}' in sent.content
    assert b'name="purpose"\r\n\r\nbatch' in sent.content


def timeout_of(request: httpx.Request) -> dict[str, float]:
    return request.extensions["timeout"]  # type: ignore[no-any-return]


def test_the_default_timeout(kind: str) -> None:
    peer = Peer()
    exchange(kind, peer, lambda c: c.models.list())
    assert timeout_of(peer.last) == {"connect": 8.0, "read": 300.0, "write": 300.0, "pool": 300.0}


def test_a_client_timeout_keeps_the_short_connect_timeout(kind: str) -> None:
    peer = Peer()
    exchange(kind, peer, lambda c: c.models.list(), timeout=20)
    assert timeout_of(peer.last) == {"connect": 8.0, "read": 20.0, "write": 20.0, "pool": 20.0}


@pytest.mark.parametrize(
    ("timeout", "expected"),
    [
        (5, {"connect": 5.0, "read": 5, "write": 5, "pool": 5}),  # shorter than the connect timeout: caps it
        (60, {"connect": 8.0, "read": 60, "write": 60, "pool": 60}),
        (httpx.Timeout(1.0, read=9.0), {"connect": 1.0, "read": 9.0, "write": 1.0, "pool": 1.0}),  # taken as is
    ],
)
def test_a_per_call_timeout(kind: str, timeout: Any, expected: dict[str, float]) -> None:
    peer = Peer()
    exchange(kind, peer, chat(timeout=timeout))
    assert timeout_of(peer.last) == expected


@pytest.mark.parametrize("params", [{}, {"team": "t1"}], ids=["plain", "with-params"])
def test_a_users_http_client_keeps_its_headers_and_params_and_ours_win(kind: str, params: dict[str, str]) -> None:
    peer = Peer()
    options: dict[str, Any] = {
        "transport": httpx.MockTransport(peer),
        "headers": {"X-Team": "blue", "User-Agent": "theirs/1"},
        "params": params,
    }
    http = httpx.Client(**options) if kind == "sync" else httpx.AsyncClient(**options)
    exchange(kind, peer, chat(extra_query={"trace": "1"}), http_client=http, transport=None)
    sent = peer.last
    assert sent.headers["x-team"] == "blue"
    assert sent.headers["user-agent"] == f"glmkit/{glmkit.__version__}"
    assert dict(sent.url.params) == {**params, "trace": "1"}
    assert sent.headers["authorization"] == f"Bearer {KEY}"


# answers, failures and retries


def test_an_error_answer_becomes_the_tables_exception_with_its_request_id(kind: str) -> None:
    peer = Peer([error(400, "1214", headers={"x-request-id": "req-9"}), httpx.Response(200, json=COMPLETION)])
    with pytest.raises(BadRequestError) as caught:
        exchange(kind, peer, chat())
    assert (caught.value.status_code, caught.value.code, caught.value.request_id) == (400, "1214", "req-9")
    assert len(peer.requests) == 1


def test_a_retryable_answer_is_retried_after_its_retry_after(kind: str) -> None:
    peer = Peer([error(503, headers={"retry-after": "2"}), httpx.Response(200, json=MODELS)])
    sleeps: list[float] = []
    result = exchange(kind, peer, lambda c: c.models.list(), sleeps)
    assert result.data[0].id == "glm-5.3"
    assert sleeps == [2.0]
    assert len(peer.requests) == 2


def test_connection_failures_are_retried_then_raised(kind: str) -> None:
    peer = Peer([httpx.ConnectError("refused")] * 4)
    sleeps: list[float] = []
    with pytest.raises(APIConnectionError) as caught:
        exchange(kind, peer, lambda c: c.models.list(), sleeps)
    assert not isinstance(caught.value, APITimeoutError)
    assert len(peer.requests) == 4  # the first try and the default three retries
    assert len(sleeps) == 3


def test_a_timeout_is_an_api_timeout_error(kind: str) -> None:
    peer = Peer([httpx.ReadTimeout("slow")])
    with pytest.raises(APITimeoutError):
        exchange(kind, peer, lambda c: c.models.list(), max_retries=0)
    assert len(peer.requests) == 1


def test_max_retries_per_call_overrides_the_client(kind: str) -> None:
    peer = Peer([error(500)] * 3)
    with pytest.raises(InternalServerError):
        exchange(kind, peer, chat(max_retries=1), max_retries=5)
    assert len(peer.requests) == 2


def test_an_expired_jwt_is_signed_again_and_resent(kind: str) -> None:
    peer = Peer([error(401, "1003"), httpx.Response(200, json=MODELS)])
    sleeps: list[float] = []
    exchange(kind, peer, lambda c: c.models.list(), sleeps, auth="jwt")
    assert len(peer.requests) == 2
    assert sleeps == []
    assert [claims(sent)["api_key"] for sent in peer.requests] == [KEY.split(".")[0]] * 2


def test_an_expired_key_is_not_retried(kind: str) -> None:
    peer = Peer([error(401, "1003"), httpx.Response(200, json=MODELS)])
    with pytest.raises(AuthenticationError):
        exchange(kind, peer, lambda c: c.models.list())
    assert len(peer.requests) == 1


def test_an_answer_of_the_wrong_shape_is_a_validation_error(kind: str) -> None:
    peer = Peer([httpx.Response(200, content=b"<html>not json</html>")])
    with pytest.raises(glmkit.APIResponseValidationError):
        exchange(kind, peer, lambda c: c.models.list())


# against a real socket


def test_results_carry_their_response_with_timing(emulator_server: EmulatorServer, kind: str) -> None:
    peer = Peer()  # unused: these go to the emulator
    result = exchange(
        kind, peer, lambda c: c.models.list(), api_key=TEST_KEY, base_url=emulator_server.base_url, transport=None
    )
    raw = result.raw_response
    assert raw.status_code == 200
    assert raw.elapsed is not None and raw.elapsed > 0
    assert peer.requests == []


class TinyServer:
    """HTTP/1.1 on 127.0.0.1 with keep-alive; ``route(method, target, body)`` gives (status, headers, body)."""

    def __init__(self, route: Callable[[str, str, bytes], tuple[int, dict[str, str], bytes]]) -> None:
        self.route = route
        self.seen: list[tuple[str, str]] = []
        self.url = ""
        self.connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.connections[task] = writer
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ")
                headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:] if line)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.seen.append((method, target))
                status, extra, content = self.route(method, target, body)
                out = [f"HTTP/1.1 {status} X", f"Content-Length: {len(content)}"]
                out += [f"{k}: {v}" for k, v in extra.items()]
                writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + content)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> TinyServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        for writer in self.connections.values():
            writer.close()  # each connection's task then sees the end of its input and returns
        await asyncio.gather(*self.connections)
        await self.server.wait_closed()


def models_json(method: str, target: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    if target.endswith("/old/models"):
        return 307, {"Location": target.replace("/old/", "/new/")}, b""
    return 200, {"Content-Type": "application/json"}, json.dumps(MODELS).encode()


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.mark.anyio
@pytest.mark.usefixtures("no_proxy_env")
async def test_the_async_clients_own_transport_times_the_response_and_keeps_the_connection() -> None:
    async with TinyServer(models_json) as server, glmkit.AsyncClient(api_key=KEY, base_url=f"{server.url}/v4") as c:
        first = await c.models.list()
        second = await c.models.list()
    assert first.data[0].id == second.data[0].id == "glm-5.3"
    elapsed = first.raw_response.elapsed
    assert elapsed is not None and elapsed > 0
    assert server.seen == [("GET", "/v4/models")] * 2


@pytest.mark.anyio
@pytest.mark.usefixtures("no_proxy_env")
async def test_a_redirect_is_followed_as_httpx_follows_it() -> None:
    async with TinyServer(models_json) as server, glmkit.AsyncClient(api_key=KEY, base_url=f"{server.url}/old") as c:
        result = await c.models.list()
    assert result.data[0].id == "glm-5.3"
    assert server.seen[0] == ("GET", "/old/models")
    assert server.seen[-1] == ("GET", "/new/models")


@pytest.mark.anyio
@pytest.mark.usefixtures("no_proxy_env")
async def test_a_redirected_request_reaches_the_first_server_once() -> None:
    async with TinyServer(models_json) as server, glmkit.AsyncClient(api_key=KEY, base_url=f"{server.url}/old") as c:
        await c.models.list()
    assert server.seen == [("GET", "/old/models"), ("GET", "/new/models")]


@pytest.mark.anyio
async def test_a_proxy_in_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    async with TinyServer(models_json) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        async with glmkit.AsyncClient(api_key=KEY, base_url="http://api.test/v4", max_retries=0) as c:
            result = await c.models.list()
    assert result.data[0].id == "glm-5.3"
    assert proxy.seen == [("GET", "http://api.test/v4/models")]  # the absolute form a proxy is asked with
