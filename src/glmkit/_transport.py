"""The request pipeline shared by the sync and async clients.

A ``Call`` (``_call``: what to send, how to read the answer) goes out through one of the two ``*Transport``
classes (``SyncTransport`` here, ``AsyncTransport`` in ``_async_transport``), which differ only in how they
send, read and sleep: everything they decide (retries, JWT refresh) is in ``_flows``.

Each sends a plain JSON call through glmkit's own HTTP/1.1 transport (``_sync_http``, ``_aio_http``) and answers
it with a lean reply (``_wire.Reply``); httpx takes what those do not: a user's ``http_client`` or
``transport``, a proxy from the environment, multipart uploads, redirects, and trio. The sync client so never
imports httpx on its default path (the import alone costs a fresh process more than its first request), nor
does the async one under asyncio.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

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
    lean_request,
    lean_timeouts,
    parse_body,
    request_id_of,
    split_options,
    transport_errors,
    with_options,
)
from glmkit._config import Settings
from glmkit._flows import Attempt, Flow, Request, Sleep, Step, drive_sync, retrying
from glmkit._retry import RetryPolicy
from glmkit._wire import proxied

if TYPE_CHECKING:
    import httpx

    from glmkit._sync_http import SyncLeanTransport

__all__ = [  # Call and its helpers are re-exported: resources import them from here
    "OPTION_KEYS",
    "USER_AGENT",
    "Call",
    "RawResponse",
    "SyncTransport",
    "connection_error",
    "request_id_of",
    "split_options",
    "with_options",
]

_POLICIES: dict[tuple[type[RetryPolicy], int], RetryPolicy] = {}


def limits() -> httpx.Limits:
    """The pool limits of the httpx clients glmkit makes."""
    import httpx

    return httpx.Limits(max_connections=100, max_keepalive_connections=20)


class _TransportBase:
    lean: Any  # glmkit's own transport for plain JSON calls; None: httpx sends every call
    sleep: Callable[[float], Any]

    def __init__(self, settings: Settings, auth: Auth | None, http_client: Any, transport: Any, lean: Any) -> None:
        self.settings = settings
        self.auth = auth
        self._no_proxy: dict[tuple[str, str], bool] = {}  # (scheme, host) -> sent direct: no proxy applies
        self._lock = threading.Lock()
        self._owns = http_client is None
        self._http = http_client
        self._transport_arg = transport
        self._owns_lean = lean is None and http_client is None and transport is None  # then the subclass makes one

    @property
    def http(self) -> Any:
        """The httpx client for what the lean transport does not send (built on first use)."""
        raise NotImplementedError

    def shared(self) -> dict[str, Any]:
        """What a client clone (``with_options``) shares of this transport: the pools and the sleep."""
        if self.lean is not None:  # the httpx client only if made: the lean pool may be all the clone needs
            return {"http_client": self._http, "lean": self.lean, "sleep": self.sleep}
        return {"http_client": self.http, "sleep": self.sleep}

    policy_type: type[RetryPolicy] = RetryPolicy
    """The retry policy's class (the gateway's leaves 1302 to its queue)."""

    def policy(self, call: Call) -> RetryPolicy:
        """Retries as configured for the call, or for the client."""
        retries = self.settings.max_retries if call.max_retries is None else call.max_retries
        key = (self.policy_type, retries)
        policy = _POLICIES.get(key)
        if policy is None:  # frozen, so one per class and retry count serves every call
            policy = _POLICIES[key] = self.policy_type(max_retries=retries)
        return policy

    def _direct_for(self, scheme: str, host: str) -> bool:
        """Whether a URL may go to a lean transport: no proxy in the environment applies to it (those are httpx's)."""
        key = (scheme, host)
        found = self._no_proxy.get(key)
        if found is None:
            found = self._no_proxy[key] = not proxied(f"{scheme}://{host}/")
        return found

    def _timeout(self) -> httpx.Timeout:
        import httpx

        return httpx.Timeout(self.settings.timeout, connect=self.settings.connect_timeout)


class SyncTransport(_TransportBase):
    """Sends calls with glmkit's lean sync transport, or an ``httpx.Client`` where one is given or needed.

    The ``httpx.Client`` (``http``) is built on first use: with no ``http_client`` or ``transport`` given, plain
    JSON calls to a URL no proxy applies to go out through ``lean`` and httpx is never imported.
    """

    _http: httpx.Client | None

    def __init__(
        self,
        settings: Settings,
        auth: Auth | None,
        *,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        lean: SyncLeanTransport | None = None,
    ) -> None:
        super().__init__(settings, auth, http_client, transport, lean)
        if self._owns_lean:
            from glmkit._sync_http import SyncLeanTransport

            lean = SyncLeanTransport()
        self.lean: SyncLeanTransport | None = lean
        self.sleep = sleep

    @property
    def http(self) -> httpx.Client:
        """The ``httpx.Client`` for what the lean transport does not send (built on first use)."""
        if self._http is None:
            with self._lock:
                if self._http is None:
                    import httpx

                    self._http = httpx.Client(
                        transport=self._transport_arg, timeout=self._timeout(), limits=limits(), follow_redirects=True
                    )
        return self._http

    def close(self) -> None:
        """Close the connection pools (the ones we made)."""
        if self._owns and self._http is not None:
            self._http.close()
        if self._owns_lean and self.lean is not None:
            self.lean.close()

    def _attempt(self, call: Call) -> Any:
        lean = self.lean
        prepared = lean_request(self.settings, self.auth, call) if lean is not None else None
        if lean is None or prepared is None or not self._direct_for(*prepared[0].key[:2]):
            return self._checked(self._send_httpx(call))
        target, head, body = prepared
        connect, read = lean_timeouts(self.settings, call)
        try:
            reply = lean.send(target.key, head, body, connect_timeout=connect, read_timeout=read)
        except OSError as exc:
            raise connection_error(exc) from exc
        if reply.is_redirect:  # the API does not redirect; httpx follows from where this one points
            from glmkit._http11 import redirect_request

            reply.close()
            return self._checked(self._send_httpx(call, lambda request: redirect_request(request, reply)))
        return self._checked(reply)

    def _send_httpx(self, call: Call, redirect: Callable[[httpx.Request], httpx.Request] | None = None) -> Any:
        request = build_request(self.http, self.settings, self.auth, call)
        if redirect is not None:
            request = redirect(request)
        try:
            return self.http.send(request, stream=True)
        except transport_errors() as exc:
            raise connection_error(exc) from exc

    @staticmethod
    def _checked(response: Any) -> Any:
        if response.status_code >= 400:
            try:
                response.read()
            except transport_errors() as exc:
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

    def open(self, call: Call[Any]) -> Any:
        """Send with retries and return the open (unread) response: an ``httpx.Response`` or a lean reply."""
        return drive_sync(retrying(self.policy(call), self.auth), self._handle(call))

    def request(self, call: Call[T]) -> T:
        """Send with retries and return the parsed result, or a stream for a streaming call."""
        response = self.open(call)
        if call.stream is not None:
            return call.stream(response)
        try:
            content = response.read()
        except transport_errors() as exc:
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
