"""The gateway's ASGI entry: Starlette, with the hot routes served without its routing layers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from glmkit._request_guard import BODY, FIRST_HEADERS

__all__ = ["GatewayApp"]


class _Headers(Headers):
    """Starlette's request headers, looked up in the guard's table of first values: no scan of the list and no
    ``KeyError`` raised and caught per absent header (a hot request looks up about eight)."""

    def __init__(self, scope: Scope) -> None:
        super().__init__(scope=scope)
        self._first: dict[str, str] = scope[FIRST_HEADERS]

    def get(self, key: str, default: Any = None) -> Any:
        return self._first.get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return self._first[key.lower()]

    def __contains__(self, key: Any) -> bool:
        return isinstance(key, str) and key.lower() in self._first


class _HotRequest(Request):
    """A hot route's request: its headers from the guard's table, its body as the guard read it (not again
    through Starlette's stream of ``receive`` messages)."""

    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            read = self.scope.get(BODY)
            self._body = read if read is not None else await super().body()
        return self._body

    @property
    def headers(self) -> Headers:
        if not hasattr(self, "_headers"):
            self._headers = _Headers(self.scope)
        return self._headers


class GatewayApp(Starlette):
    """The Starlette app, with the hot routes served straight from ``__call__``.

    A ``POST`` to ``/v1/messages``, ``/v1/chat/completions`` or ``/v1/responses`` (the exact path) goes through
    ``RequestGuard`` to its handler and its response, and nothing else: no routing table, no exception middleware
    (``endpoint.endpoint`` answers every error itself): 6-7% of the instructions of a non-streamed request. Any other
    request, and the lifespan, take Starlette's whole stack, where the same guard stands first.
    """

    def __init__(self, *, hot: dict[str, Callable[[Request], Awaitable[Response]]], guard: Middleware, **kw: Any):
        super().__init__(middleware=[guard], **kw)
        self._hot = hot
        self._guarded_hot = guard.cls(self._serve_hot, *guard.args, **guard.kwargs)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in self._hot:
            scope["app"] = self
            await self._guarded_hot(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def _serve_hot(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self._hot[scope["path"]](_HotRequest(scope, receive, send))
        await response(scope, receive, send)
