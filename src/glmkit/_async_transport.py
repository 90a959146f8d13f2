"""The async client's request pipeline: ``_transport``'s, sending with ``_aio_http`` under asyncio.

Plain JSON calls under asyncio go out as request bytes through glmkit's own HTTP/1.1 transport and come back as
a lean reply: httpx is not imported. httpx takes what that does not carry: a user's ``http_client`` or
``transport``, a proxy from the environment, multipart uploads, redirects, and trio.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from glmkit._aio_http import AsyncLeanTransport, AsyncReply, running
from glmkit._aio_http import sleep as default_sleep
from glmkit._auth import Auth
from glmkit._call import (
    Call,
    T,
    build_request,
    connection_error,
    error_from_response,
    lean_request,
    lean_timeouts,
    parse_body,
    transport_errors,
)
from glmkit._config import Settings
from glmkit._flows import Attempt, Flow, Request, Sleep, Step, drive_async, retrying
from glmkit._transport import _TransportBase, limits

if TYPE_CHECKING:
    import httpx

    from glmkit._http11 import DefaultAsyncTransport

__all__ = ["AsyncTransport"]


class AsyncTransport(_TransportBase):
    """Sends calls with glmkit's lean HTTP/1.1 transport (``_aio_http``), or an ``httpx.AsyncClient`` where needed.

    As the sync one: with no ``http_client`` or ``transport`` given, plain JSON calls under asyncio to a URL no
    proxy applies to go out through ``lean`` and httpx is never imported."""

    _http: httpx.AsyncClient | None

    def __init__(
        self,
        settings: Settings,
        auth: Auth | None,
        *,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        lean: AsyncLeanTransport | None = None,
    ) -> None:
        super().__init__(settings, auth, http_client, transport, lean)
        if self._owns_lean:  # httpx's async pool: ~1 ms of CPU a request, 5-6x fewer requests/s at 64 in flight
            lean = AsyncLeanTransport()
        self.lean: AsyncLeanTransport | None = lean  # plain JSON calls under asyncio, as request bytes
        self._direct: httpx.AsyncBaseTransport | None = None
        self._direct_made = False
        self._own_direct: DefaultAsyncTransport | None = None
        self.sleep: Callable[[float], Awaitable[None]] = sleep if sleep is not None else default_sleep

    @property
    def direct(self) -> httpx.AsyncBaseTransport | None:
        """Where httpx requests go straight, past ``httpx.AsyncClient.send`` (~60 us a request the API never needs);
        ``None``: through the client. Ours (over ``lean``'s pool) unless set; not handed to httpx, whose client
        mounts the proxies the environment names only when built without a transport."""
        if not self._direct_made:
            self._direct_made = True
            if self.lean is not None:
                from glmkit._http11 import DefaultAsyncTransport

                self._direct = self._own_direct = DefaultAsyncTransport(limits(), self.lean)
        return self._direct

    @direct.setter
    def direct(self, transport: httpx.AsyncBaseTransport | None) -> None:
        self._direct, self._direct_made = transport, True

    @property
    def http(self) -> httpx.AsyncClient:
        """The ``httpx.AsyncClient`` for what does not go straight to a transport (built on first use)."""
        if self._http is None:
            import httpx

            self._http = httpx.AsyncClient(
                transport=self._transport_arg, timeout=self._timeout(), limits=limits(), follow_redirects=True
            )
        return self._http

    async def close(self) -> None:
        """Close the connection pools (the ones we made)."""
        if self._owns and self._http is not None:
            await self._http.aclose()
        if self._own_direct is not None:
            await self._own_direct.aclose()  # httpx's own transport, where trio used one
        if self._owns_lean and self.lean is not None:
            await self.lean.aclose()

    async def _send(self, request: httpx.Request) -> httpx.Response:
        """Send one built request and return the open response."""
        if self.direct is None or not self._direct_for(request.url.scheme, request.url.host):
            return await self.http.send(request, stream=True)
        start = time.perf_counter()
        response = await self.direct.handle_async_request(request)
        response.request = request
        if response.is_redirect:  # the API does not redirect; httpx follows from where this one points
            from glmkit._http11 import redirect_request

            await response.aclose()
            return await self.http.send(redirect_request(request, response), stream=True)
        import datetime

        response.elapsed = datetime.timedelta(seconds=time.perf_counter() - start)  # to the headers
        return response

    async def _attempt(self, call: Call) -> Any:
        # plain JSON calls under asyncio skip httpx altogether (not even imported)
        lean = self.lean
        prepared = lean_request(self.settings, self.auth, call) if lean is not None else None
        try:
            if lean is None or prepared is None or not self._direct_for(*prepared[0].key[:2]) or not running():
                response = await self._send(build_request(self.http, self.settings, self.auth, call))
            else:
                response = await self._exchange(lean, call, *prepared)
        except transport_errors() as exc:
            raise connection_error(exc) from exc
        if response.status_code >= 400:
            try:
                await response.aread()
            except transport_errors() as exc:
                raise connection_error(exc) from exc
            finally:
                await response.aclose()
            raise error_from_response(response)
        return response

    async def _exchange(self, lean: AsyncLeanTransport, call: Call, target: Any, head: bytes, body: bytes) -> Any:
        """Send straight through the lean transport: a lean reply, no httpx request or response built."""

        connect, read = lean_timeouts(self.settings, call)
        start = time.perf_counter()
        status, headers, stream = await lean.exchange(target.key, head, body, connect, read)
        reply = AsyncReply(status, headers, stream, start)
        if reply.is_redirect:  # the API does not redirect; httpx follows from where this one points
            from glmkit._http11 import redirect_request

            await reply.aclose()
            request = redirect_request(build_request(self.http, self.settings, self.auth, call), reply)
            return await self.http.send(request, stream=True)
        return reply

    def _handle(self, call: Call) -> Callable[[Step], Awaitable[Any]]:
        def handle(step: Step) -> Awaitable[Any]:
            if isinstance(step, Attempt):
                return self._attempt(call)
            if isinstance(step, Sleep):
                return self.sleep(step.seconds)
            return self.request(step.call)

        return handle

    async def open(self, call: Call[Any]) -> Any:
        """Send with retries and return the open (unread) response: an ``httpx.Response`` or a lean reply."""
        return await drive_async(retrying(self.policy(call), self.auth), self._handle(call))

    async def request(self, call: Call[T]) -> T:
        """Send with retries and return the parsed result, or a stream for a streaming call."""
        response = await self.open(call)
        if call.stream is not None:
            return call.stream(response)
        try:
            content = await response.aread()
        except transport_errors() as exc:
            raise connection_error(exc) from exc
        finally:
            await response.aclose()
        return parse_body(call, response, content)

    async def run(self, flow: Flow[T]) -> T:
        """Drive a higher-level flow whose ``Request`` steps are whole calls."""

        def handle(step: Step) -> Awaitable[Any]:
            if isinstance(step, Sleep):
                return self.sleep(step.seconds)
            assert isinstance(step, Request)
            return self.request(step.call)

        return await drive_async(flow, handle)
