"""The gateway's upstream: the SDK's async transport with the gateway's retry policy (1302 left to the shaper)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from glmkit._async_transport import AsyncTransport
from glmkit._errors import ConcurrencyLimitError
from glmkit._retry import RetryPolicy
from glmkit._transport import Call

__all__ = ["GatewayRetryPolicy", "Upstream"]


@dataclass(frozen=True)
class GatewayRetryPolicy(RetryPolicy):
    """The SDK's policy, minus 1302: the shaper queues those instead of sleeping on them."""

    def should_retry(self, error: BaseException) -> bool:
        """Retry what the SDK retries, except a concurrency 429."""
        if isinstance(error, ConcurrencyLimitError):
            return False
        return super().should_retry(error)


class Upstream(AsyncTransport):
    """The SDK's async transport with the gateway's retry policy.

    Requests are built and sent as the SDK sends them. On the lean transport a JSON call, streamed or not, goes as
    the SDK's ``AsyncClient`` sends it, as request bytes answered by a lean reply (no httpx objects); every call
    given another transport (the in-process emulator) is built by the SDK's ``build_request`` and
    go straight to the transport past ``httpx.AsyncClient.send`` (auth, redirect, cookie and event-hook handling
    the gateway never uses: ~60 us a request); without a transport (a proxy applies, or ``lean_upstream =
    false``), through httpx, which reads the proxy settings of the environment. Retries and the error check are
    the SDK's.
    """

    policy_type = GatewayRetryPolicy  # retries as configured, 1302 excepted

    def __init__(self, *args: Any, transport: httpx.AsyncBaseTransport | None = None, **options: Any) -> None:
        from glmkit._http11 import LeanTransport

        super().__init__(*args, transport=transport, **options)
        self.direct = transport  # given one, httpx would route every URL to it anyway; None: httpx decides
        self.lean = transport.lean if isinstance(transport, LeanTransport) else None

    async def open(self, call: Call[Any]) -> httpx.Response:
        """Send with retries and return the open response: httpx's, or for a JSON call on the lean transport its
        reply, which has what the gateway reads of a response (``aread``, ``aiter_raw``, ``aclose``, ``headers``,
        ``status_code``)."""
        response: httpx.Response = await super().open(call)
        return response
