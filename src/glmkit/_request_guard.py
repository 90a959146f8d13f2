"""The guard in front of glmkit's local HTTP servers (``glm serve``, ``glm emulate``, ``glm mcp --http``).

A server on 127.0.0.1 is reachable by every web page the user opens: a page can POST a "simple request"
(``text/plain``, no preflight) to it, and after DNS rebinding (its own host name re-pointed at 127.0.0.1)
it can read the answers too. ``RequestGuard``, an ASGI middleware, refuses what a browser sends in those
attacks and what no real client sends:

- a ``Host`` that is not one of the server's names (421): loopback names on any port, plus the ``--host``
  it was bound to and any configured; a rebinding page's requests carry the page's own host name;
- an ``Origin`` that is not loopback or configured (403): browsers send it on every cross-site POST;
- a POST body that is not JSON (415), multipart/form-data allowed only where a route takes uploads;
- a body over the cap (413, before reading the rest), or one that does not arrive in time (408).

The body is read whole before the app runs, so an app never sees a client that hung up mid-body (nothing
to log: no answer was owed). Each refusal is rendered by the server's own ``Refuse`` callback, so it reads
as that route's errors do. ``guarded_http_protocol`` closes connections whose request headers do not arrive
in time (uvicorn has no such timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any

from glmkit._protocol_parts import HeaderTimer, HeadWithBody

__all__ = [
    "BODY",
    "BODY_IN",
    "FIRST_HEADERS",
    "HANG_UP",
    "LOOPBACK_HOSTS",
    "HangUp",
    "GuardPolicy",
    "Refuse",
    "RequestGuard",
    "guarded_http_protocol",
    "host_name",
    "server_config",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Refuse = Callable[[Scope, int, str], ASGIApp]
"""``(scope, status, message) -> an ASGI response`` in the refused route's error format."""

HANG_UP = "glmkit.hang_up"
"""The scope key of the connection's ``HangUp`` (``guarded_http_protocol`` over httptools; absent elsewhere)."""


FIRST_HEADERS = "glmkit.first_headers"
"""The scope key of the request's headers as ``RequestGuard`` read them: lower-case name -> its first value."""

BODY = "glmkit.body"
"""The scope key of the request body ``RequestGuard`` read (bytes), for an app that takes it from there."""

BODY_IN = "glmkit.body_in"
"""The scope key set once the request's whole body has arrived (``guarded_http_protocol`` over httptools): the
guard then reads it without arming a timer (a small body comes in the same read as its headers)."""


class HangUp:
    """What to call if a connection is lost: ``add`` a callable for as long as a request waits, ``discard`` it
    after. One added once the connection is already gone is called at once."""

    __slots__ = ("_calls", "lost")

    def __init__(self) -> None:
        self.lost = False
        self._calls: list[Callable[[], None]] = []

    def add(self, call: Callable[[], None]) -> None:
        if self.lost:
            call()
        else:
            self._calls.append(call)

    def discard(self, call: Callable[[], None]) -> None:
        with contextlib.suppress(ValueError):
            self._calls.remove(call)

    def fire(self) -> None:
        """The connection is lost: call each callable added, once."""
        self.lost = True
        while self._calls:
            self._calls.pop()()


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def host_name(value: str) -> str:
    """The name part of a ``Host`` value or URL authority: ``[::1]:8742`` -> ``::1``, ``LocalHost:80`` -> ``localhost``."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value  # a bare name, or a bare IPv6 address


@dataclass(frozen=True)
class GuardPolicy:
    """What a server lets in.

    Attributes:
        hosts: ``Host`` names allowed (any port), lowercase; ``"*"`` allows any.
        origins: ``Origin`` values allowed beside loopback ones (``http://127.0.0.1:*`` and the like), as the
            browser sends them (``https://app.example``); ``"*"`` allows any.
        max_body: the largest body, in bytes (``None``: no cap).
        body_timeout: seconds the whole body may take to arrive.
        form_paths: path endings where ``multipart/form-data`` bodies are allowed (uploads).
    """

    hosts: frozenset[str] = LOOPBACK_HOSTS
    origins: frozenset[str] = frozenset()
    max_body: int | None = None
    body_timeout: float = 60.0
    form_paths: tuple[str, ...] = ()

    @classmethod
    def for_bind(
        cls,
        bind: str,
        *,
        allowed_hosts: Iterable[str] = (),
        allowed_origins: Iterable[str] = (),
        **options: Any,
    ) -> GuardPolicy:
        """The policy of a server bound to ``bind``: loopback names, ``bind`` itself, ``allowed_hosts``.

        A wildcard bind (``0.0.0.0``, ``::``) allows any ``Host`` unless ``allowed_hosts`` names them: the
        server then answers on every address of the machine, and its token (required off loopback) guards it.
        """
        extra = {host_name(h) for h in allowed_hosts if h.strip()}
        hosts = set(LOOPBACK_HOSTS) | extra
        if bind.strip().lower() in WILDCARD_HOSTS:
            if not extra:
                hosts.add("*")
        else:
            hosts.add(host_name(bind))
        origins = frozenset(o.strip().lower().rstrip("/") for o in allowed_origins if o.strip())
        return cls(hosts=frozenset(hosts), origins=origins, **options)

    def host_ok(self, host: str | None) -> bool:
        """Whether a ``Host`` header names this server."""
        if "*" in self.hosts:
            return True
        return bool(host) and host_name(host or "") in self.hosts

    def origin_ok(self, origin: str | None) -> bool:
        """Whether an ``Origin`` header (absent: not a browser's cross-site request) may call."""
        if origin is None:
            return True
        value = origin.strip().lower().rstrip("/")
        if "*" in self.origins or value in self.origins:
            return True
        scheme, sep, authority = value.partition("://")
        return bool(sep) and scheme in ("http", "https") and host_name(authority) in LOOPBACK_HOSTS

    def content_type_ok(self, path: str, content_type: str | None) -> bool:
        """Whether a body of this type may be posted to ``path``: JSON, or a form where uploads go."""
        media = (content_type or "").split(";", 1)[0].strip().lower()
        if media == "application/json" or media.endswith("+json"):
            return True
        return media == "multipart/form-data" and path.rstrip("/").endswith(self.form_paths) and bool(self.form_paths)


def _headers(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in scope.get("headers") or ():
        key = name.decode("latin-1").lower()
        if key not in out:  # the first one counts, as Starlette's Headers.get does
            out[key] = value.decode("latin-1")
    return out


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Gone(Exception):
    """The client hung up before its body arrived."""


class RequestGuard:
    """The ASGI middleware: checks headers, reads the body within the cap and the time, then runs ``app``."""

    def __init__(self, app: ASGIApp, policy: GuardPolicy, refuse: Refuse) -> None:
        self.app = app
        self.policy = policy
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse the request in the route's format, or pass it on with its body read."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope[FIRST_HEADERS] = _headers(scope)
        try:
            self._check_headers(scope, headers)
            if scope["method"] not in _BODY_METHODS:
                await self.app(scope, receive, send)
                return
            body, trailing = await self._read_body(headers, receive, arrived=BODY_IN in scope)
        except _Refused as exc:
            await self.refuse(scope, exc.status, exc.message)(scope, _closed, _closing(send))
            return
        except _Gone:
            return
        scope[BODY] = body
        first: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
        if trailing is not None:
            first.append(trailing)

        async def replay() -> Message:
            return first.pop(0) if first else await receive()

        await self.app(scope, replay, send)

    def _check_headers(self, scope: Scope, headers: dict[str, str]) -> None:
        policy = self.policy
        host = headers.get("host")
        if not policy.host_ok(host):
            raise _Refused(
                421,
                f"This server does not answer to the host name {host!r}. Call it as 127.0.0.1 or localhost, "
                "or add the name to its allowed hosts (glm serve: --host or [gateway] allowed_hosts).",
            )
        origin = headers.get("origin")
        if not policy.origin_ok(origin):
            raise _Refused(
                403,
                f"Requests from web pages at {origin} are refused: a page must not spend your plan. "
                "To allow a web app deliberately, add its origin to [gateway] allowed_origins.",
            )
        if scope["method"] in _BODY_METHODS and _has_body(headers):
            ctype = headers.get("content-type")
            if not policy.content_type_ok(scope.get("path", ""), ctype):
                raise _Refused(415, f"Send the body as JSON with 'Content-Type: application/json' (got {ctype!r}).")
        length = headers.get("content-length")
        if length is not None and policy.max_body is not None:
            try:
                declared = int(length)
            except ValueError:
                raise _Refused(400, f"Content-Length {length!r} is not a number.") from None
            if declared > policy.max_body:
                raise _Refused(413, _too_large(declared, policy.max_body))

    async def _read_body(
        self, headers: dict[str, str], receive: Receive, *, arrived: bool = False
    ) -> tuple[bytes, Message | None]:
        cap = self.policy.max_body
        chunks: list[bytes] = []
        size = 0
        try:  # a body already in (``arrived``) is read without a timer: ~10 us a request
            async with contextlib.nullcontext() if arrived else asyncio.timeout(self.policy.body_timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise _Gone
                    if message["type"] != "http.request":
                        return b"".join(chunks), message
                    chunk = message.get("body", b"")
                    if chunk:
                        size += len(chunk)
                        if cap is not None and size > cap:
                            raise _Refused(413, _too_large(size, cap, counted=True))
                        chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            raise _Refused(
                408, f"The request body did not arrive within {self.policy.body_timeout:g} seconds."
            ) from None
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        return body, None


def _has_body(headers: dict[str, str]) -> bool:
    return "transfer-encoding" in headers or headers.get("content-length", "0").strip() not in ("0", "")


def _too_large(size: int, cap: int, *, counted: bool = False) -> str:
    return (
        f"The request body is {'over' if counted else ''} {size:,} bytes; this server accepts at most {cap:,} "
        "(glm serve: raise [gateway] max_body)."
    ).replace("is  ", "is ")


async def _closed() -> Message:
    return {"type": "http.disconnect"}


def _closing(send: Send) -> Send:
    """``send`` with ``Connection: close`` on the response: the rest of the request is never read."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
        await send(message)

    return wrapped


def guarded_http_protocol(header_timeout: float) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol class, closing connections whose request headers take over ``header_timeout``.

    uvicorn times out idle keep-alive connections but not a request whose headers never finish (a
    connection each costs little, but enough of them exhaust file descriptors). The timer runs from the
    connection's start and from the end of each response; it closes the connection unless a new request's
    headers arrived meanwhile. Once headers are in, ``RequestGuard`` times the body.
    """
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    timeout = header_timeout

    class GuardedProtocol(HeaderTimer, AutoHTTPProtocol):  # type: ignore[misc,valid-type]
        def connection_made(self, transport: Any) -> None:
            self.hang_up = HangUp()
            super().connection_made(transport)
            self._arm_header_timer()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm_header_timer()

        if hasattr(AutoHTTPProtocol, "on_message_begin"):  # httptools' protocol (h11's builds its scope elsewhere)

            def on_message_begin(self) -> None:
                super().on_message_begin()
                self.scope[HANG_UP] = self.hang_up

            def on_message_complete(self) -> None:
                super().on_message_complete()
                self.scope[BODY_IN] = True

            def on_headers_complete(self) -> None:
                super().on_headers_complete()
                cycle = self.cycle
                if cycle is not None and cycle.transport is self.transport:  # a new request's (not an upgrade)
                    cycle.transport = HeadWithBody(cycle, self.transport)

            def connection_lost(self, exc: Exception | None) -> None:
                super().connection_lost(exc)
                self.hang_up.fire()

        header_timeout = timeout

    return GuardedProtocol


def server_config(app: Any, header_timeout: float, **options: Any) -> Any:
    """The ``uvicorn.Config`` of a glmkit server: ``guarded_http_protocol``, warnings only, and no proxy headers.

    uvicorn believes ``X-Forwarded-For`` from 127.0.0.1 by default, which is every client of a local server: any of
    them could pass for another address (and take another client's share of the gateway's queue). The peer's own
    address is the one that counts; not reading those headers also spares a middleware layer per request.
    """
    import uvicorn

    options.setdefault("log_level", "warning")
    return uvicorn.Config(app, http=guarded_http_protocol(header_timeout), proxy_headers=False, **options)
