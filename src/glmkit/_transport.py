"""The request pipeline shared by the sync and async clients.

A ``Call`` (``_call``: what to send, how to read the answer) goes out through one of the two ``*Transport``
classes, which differ only in how they send, read and sleep: everything they decide (retries, JWT refresh) is
in ``_flows``.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
import httpx

from glmkit._auth import Auth
from glmkit._call import (
    OPTION_KEYS,
    USER_AGENT,
    Call,
    RawResponse,
    T,
    build_request,
    connection_error,
    error_from_response,
    parse_body,
    request_id_of,
    split_options,
    with_options,
)
from glmkit._config import Settings
from glmkit._flows import Attempt, Flow, Request, Sleep, Step, drive_async, drive_sync, retrying
from glmkit._retry import RetryPolicy

if TYPE_CHECKING:
    pass

__all__ = [  # Call and its helpers are re-exported: resources import them from here
    "OPTION_KEYS",
    "USER_AGENT",
    "AsyncTransport",
    "Call",
    "RawResponse",
    "SyncTransport",
    "connection_error",
    "request_id_of",
    "split_options",
    "with_options",
]

_POLICIES: dict[int, RetryPolicy] = {}
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


class _TransportBase:
    def __init__(self, settings: Settings, auth: Auth | None) -> None:
        self.settings = settings
        self.auth = auth

    def policy(self, call: Call) -> RetryPolicy:
        retries = self.settings.max_retries if call.max_retries is None else call.max_retries
        policy = _POLICIES.get(retries)
        if policy is None:  # frozen, so one per retry count serves every call
            policy = _POLICIES[retries] = RetryPolicy(max_retries=retries)
        return policy


class SyncTransport(_TransportBase):
    """Sends calls with an ``httpx.Client``."""

    def __init__(
        self,
        settings: Settings,
        auth: Auth | None,
        *,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(settings, auth)
        self._owns = http_client is None
        self.http = http_client or httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(settings.timeout, connect=settings.connect_timeout),
            limits=LIMITS,
            follow_redirects=True,
        )
        self.sleep = sleep

    def close(self) -> None:
        """Close the connection pool (when we made it)."""
        if self._owns:
            self.http.close()

    def _attempt(self, call: Call) -> httpx.Response:
        request = build_request(self.http, self.settings, self.auth, call)
        try:
            response = self.http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise connection_error(exc) from exc
        if response.status_code >= 400:
            try:
                response.read()
            except httpx.HTTPError as exc:
                raise connection_error(exc) from exc
            finally:
                response.close()
            raise error_from_response(response)
        return response

    def _handle(self, call: Call) -> Callable[[Step], Any]:
        def handle(step: Step) -> Any:
            if isinstance(step, Attempt):
                return self._attempt(call)
            if isinstance(step, Sleep):
                return self.sleep(step.seconds)
            return self.request(step.call)

        return handle

    def open(self, call: Call[Any]) -> httpx.Response:
        """Send with retries and return the open (unread) response."""
        response: httpx.Response = drive_sync(retrying(self.policy(call), self.auth), self._handle(call))
        return response

    def request(self, call: Call[T]) -> T:
        """Send with retries and return the parsed result, or a stream for a streaming call."""
        response = self.open(call)
        if call.stream is not None:
            return call.stream(response)
        try:
            content = response.read()
        except httpx.HTTPError as exc:
            raise connection_error(exc) from exc
        finally:
            response.close()
        return parse_body(call, response, content)

    def run(self, flow: Flow[T]) -> T:
        """Drive a higher-level flow (polling, splitting) whose ``Request`` steps are whole calls."""

        def handle(step: Step) -> Any:
            if isinstance(step, Sleep):
                return self.sleep(step.seconds)
            assert isinstance(step, Request)
            return self.request(step.call)

        return drive_sync(flow, handle)


class AsyncTransport(_TransportBase):
    """Sends calls with an ``httpx.AsyncClient``."""

    def __init__(
        self,
        settings: Settings,
        auth: Auth | None,
        *,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        super().__init__(settings, auth)
        self._owns = http_client is None
        self.direct: httpx.AsyncBaseTransport | None = None
        """A transport requests go to straight, past ``httpx.AsyncClient.send`` (its auth, cookie, redirect and
        event-hook handling, ~60 us a request that the API never needs); ``None``: through the client."""
        self._owns_direct = http_client is None and transport is None
        if self._owns_direct:
            from glmkit._http11 import DefaultAsyncTransport

            # httpx's async pool costs ~1 ms of CPU a request: 5-6x fewer requests/s at 64 in flight (bench/).
            # Not handed to httpx: a client built without a transport mounts the proxies the environment names.
            self.direct = DefaultAsyncTransport(LIMITS)
        self._no_proxy: dict[tuple[str, str], bool] = {}  # (scheme, host) -> sent direct: no proxy applies
        self.http = http_client or httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(settings.timeout, connect=settings.connect_timeout),
            limits=LIMITS,
            follow_redirects=True,
        )
        self.sleep = sleep

    async def close(self) -> None:
        """Close the connection pool (when we made it)."""
        if self._owns:
            await self.http.aclose()
        if self._owns_direct and self.direct is not None:
            await self.direct.aclose()

    def _direct_for(self, url: httpx.URL) -> bool:
        """Whether ``url`` may go to ``direct``: no proxy in the environment applies to it (those are httpx's)."""
        key = (url.scheme, url.host)
        found = self._no_proxy.get(key)
        if found is None:
            from glmkit._http11 import proxied

            found = self._no_proxy[key] = not proxied(str(url))
        return found

    async def _send(self, request: httpx.Request) -> httpx.Response:
        """Send one built request and return the open response."""
        if self.direct is None or not self._direct_for(request.url):
            return await self.http.send(request, stream=True)
        start = time.perf_counter()
        response = await self.direct.handle_async_request(request)
        response.request = request
        if response.is_redirect:  # the API does not redirect; httpx follows from where this one points
            from glmkit._http11 import redirect_request

            await response.aclose()
            return await self.http.send(redirect_request(request, response), stream=True)
        response.elapsed = datetime.timedelta(seconds=time.perf_counter() - start)  # to the headers
        return response

    async def _attempt(self, call: Call) -> httpx.Response:
        request = build_request(self.http, self.settings, self.auth, call)
        try:
            response = await self._send(request)
        except httpx.HTTPError as exc:
            raise connection_error(exc) from exc
        if response.status_code >= 400:
            try:
                await response.aread()
            except httpx.HTTPError as exc:
                raise connection_error(exc) from exc
            finally:
                await response.aclose()
            raise error_from_response(response)
        return response

    def _handle(self, call: Call) -> Callable[[Step], Awaitable[Any]]:
        def handle(step: Step) -> Awaitable[Any]:
            if isinstance(step, Attempt):
                return self._attempt(call)
            if isinstance(step, Sleep):
                return self.sleep(step.seconds)
            return self.request(step.call)

        return handle

    async def open(self, call: Call[Any]) -> httpx.Response:
        """Send with retries and return the open (unread) response."""
        return await drive_async(retrying(self.policy(call), self.auth), self._handle(call))

    async def request(self, call: Call[T]) -> T:
        """Send with retries and return the parsed result, or a stream for a streaming call."""
        response = await self.open(call)
        if call.stream is not None:
            return call.stream(response)
        try:
            content = await response.aread()
        except httpx.HTTPError as exc:
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
