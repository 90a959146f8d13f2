"""glmkit's async HTTP/1.1 transport (``_aio_http``) as an httpx transport, for what goes through httpx.

The SDK's ``AsyncClient`` and the gateway send plain JSON calls straight through ``_aio_http`` without httpx;
a call that needs an ``httpx.AsyncClient`` (a multipart upload, a redirect, a user's raw request on
``http_client``) still goes over the same lean pool through ``LeanTransport``, whose failures are httpx's
(``ConnectError``, ``ReadTimeout``, ``RemoteProtocolError`` ...). ``DefaultAsyncTransport`` is that under
asyncio and httpx's own transport under trio. A proxy in the environment for a URL (``HTTPS_PROXY`` and the
like, ``NO_PROXY`` honoured) is httpx's business: its proxy mounts take those URLs before this transport sees them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from glmkit._aio_http import AsyncLeanTransport, Body, ConnectFailed, ConnectTimeout, running
from glmkit._wire import ProtocolError, Reply, proxied

__all__ = ["DefaultAsyncTransport", "LeanTransport", "proxied", "redirect_request"]


def _httpx_error(exc: OSError) -> httpx.TransportError:
    """httpx's exception for a lean transport failure."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, ConnectTimeout):
        return httpx.ConnectTimeout(message)
    if isinstance(exc, TimeoutError):
        return httpx.ReadTimeout(message)
    if isinstance(exc, ConnectFailed):
        return httpx.ConnectError(message)
    if isinstance(exc, ProtocolError):
        return httpx.RemoteProtocolError(message)
    return httpx.ReadError(message)


class _Stream(httpx.AsyncByteStream):
    """A lean body as httpx's byte stream, with httpx's exceptions."""

    def __init__(self, body: Body) -> None:
        self.body = body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for data in self.body:
                yield data
        except OSError as exc:
            raise _httpx_error(exc) from exc

    async def aclose(self) -> None:
        await self.body.aclose()


class LeanTransport(httpx.AsyncBaseTransport):
    """``AsyncLeanTransport`` (``lean``: its pool, and ``exchange`` for calls built without httpx) under httpx."""

    def __init__(self, lean: AsyncLeanTransport | None = None) -> None:
        self.lean = lean if lean is not None else AsyncLeanTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send one request and return the response with its body still to read."""
        url = request.url
        scheme = url.scheme
        key = (scheme, url.host, url.port or (443 if scheme == "https" else 80))
        timeouts = request.extensions.get("timeout") or {}
        try:
            body = request.content
        except httpx.RequestNotRead:
            body = await request.aread()
        target = url.raw_path.decode("ascii")
        lines = [f"{request.method} {target} HTTP/1.1\r\n".encode()]
        has_host = False
        for name, value in request.headers.raw:
            low = name.lower()
            if low == b"host":
                has_host = True
            if low in (b"transfer-encoding", b"content-length", b"connection"):
                continue
            lines.append(name + b": " + value + b"\r\n")
        if not has_host:
            lines.append(b"Host: " + url.netloc + b"\r\n")
        lines.append(b"Content-Length: %d\r\n\r\n" % len(body))
        try:
            status, headers, body_stream = await self.lean.exchange(
                key,
                b"".join(lines),
                body,
                timeouts.get("connect"),
                timeouts.get("read"),
                head_only=request.method == "HEAD",
            )
        except OSError as exc:
            raise _httpx_error(exc) from exc
        stream = _Stream(body_stream)
        return httpx.Response(status, headers=headers, stream=stream, extensions={"http_version": b"HTTP/1.1"})

    async def aclose(self) -> None:
        """Close every idle connection."""
        await self.lean.aclose()


class DefaultAsyncTransport(httpx.AsyncBaseTransport):
    """The SDK ``AsyncClient``'s transport: ``LeanTransport`` when the event loop is asyncio's, httpx's own
    ``AsyncHTTPTransport`` otherwise (trio, through anyio), chosen per request."""

    def __init__(self, limits: httpx.Limits, lean: AsyncLeanTransport | None = None) -> None:
        self._owns_lean = lean is None  # given one, its owner closes it
        self.lean = LeanTransport(lean)
        self._limits = limits
        self._other: httpx.AsyncHTTPTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not running():  # not asyncio: trio
            if self._other is None:
                self._other = httpx.AsyncHTTPTransport(limits=self._limits)
            return await self._other.handle_async_request(request)
        return await self.lean.handle_async_request(request)

    async def aclose(self) -> None:
        if self._owns_lean:
            await self.lean.aclose()
        if self._other is not None:
            await self._other.aclose()


def redirect_request(request: httpx.Request, response: httpx.Response | Reply) -> httpx.Request:
    """The request a redirect asks for, by httpx's rules (303, 301/302 after a POST: a GET; auth stays home)."""
    url = request.url.join(response.headers["location"])
    method = request.method
    if (response.status_code == 303 and method != "HEAD") or (response.status_code in (301, 302) and method == "POST"):
        method = "GET"
    headers = httpx.Headers(request.headers)
    headers.pop("host", None)
    if (url.scheme, url.host, url.port) != (request.url.scheme, request.url.host, request.url.port):
        headers.pop("authorization", None)
    content = request.content if method == request.method else None
    if content is None:
        for name in ("content-length", "content-type", "transfer-encoding"):
            headers.pop(name, None)
    return httpx.Request(method, url, headers=headers, content=content, extensions=request.extensions)
