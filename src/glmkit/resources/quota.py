"""``client.quota``: the Coding Plan's usage windows and MCP allowance (reference §14.3).

The monitor takes the raw key in ``Authorization`` (the official plugin) and, per some reports, also
``Bearer <key>`` (§17): each call tries the raw key first and the Bearer form once on an auth error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Generator
from dataclasses import replace
from functools import partial
from typing import TypeVar

from glmkit._errors import AuthenticationError, InputError
from glmkit._flows import Request
from glmkit._resource import AsyncResource, SyncResource
from glmkit._transport import Call
from glmkit.types.quota import (
    MODEL_USAGE,
    QUOTA_LIMIT,
    TOOL_USAGE,
    ModelUsage,
    PricePhase,
    QuotaInfo,
    ToolUsage,
    parse_monitor,
    price_phase,
)

T = TypeVar("T")
U = TypeVar("U", ModelUsage, ToolUsage)

__all__ = ["AsyncQuota", "Quota"]


def _fmt(when: dt.datetime | str) -> str:
    return when if isinstance(when, str) else when.strftime("%Y-%m-%d %H:%M:%S")


def limit_call() -> Call[QuotaInfo]:
    """The ``Call`` reading plan level and windows."""
    return Call(QUOTA_LIMIT, parse=partial(parse_monitor, model=QuotaInfo))


def usage_call(model: type[U], start: dt.datetime | str, end: dt.datetime | str) -> Call[U]:
    """The ``Call`` for hourly model (``ModelUsage``) or tool (``ToolUsage``) usage between two local times."""
    endpoint = MODEL_USAGE if model is ModelUsage else TOOL_USAGE
    params = {"startTime": _fmt(start), "endTime": _fmt(end)}
    return Call(endpoint, params=params, parse=partial(parse_monitor, model=model))


def monitor_flow(call: Call[T], api_key: str | None) -> Generator[Request, T, T]:
    """Send with the raw key; on an auth error, once more as ``Bearer <key>``."""
    if not api_key:
        from glmkit._auth import MISSING_KEY, MISSING_KEY_HINT

        raise InputError(MISSING_KEY, hint=MISSING_KEY_HINT)
    try:
        answer = yield Request(replace(call, headers={"Authorization": api_key}))
    except AuthenticationError:
        answer = yield Request(replace(call, headers={"Authorization": f"Bearer {api_key}"}))
    return answer


class Quota(SyncResource):
    """``client.quota``."""

    def phase(self, now: dt.datetime | None = None) -> PricePhase:
        """Peak or off-peak hours at ``now`` (default: now) and when that changes; no request is sent.

        Credit plans price by time of day; see ``glmkit.types.quota.price_phase``.
        """
        return price_phase(now)

    def limits(self) -> QuotaInfo:
        """Plan level, the 5-hour and weekly windows, and the monthly MCP allowance."""
        flow = monitor_flow(limit_call(), self._client.settings.api_key)
        return self._client._run(flow)

    def model_usage(self, start: dt.datetime | str, end: dt.datetime | str) -> ModelUsage:
        """Hourly calls and tokens between two local times (``yyyy-MM-dd HH:mm:ss``)."""
        call = usage_call(ModelUsage, start, end)
        flow = monitor_flow(call, self._client.settings.api_key)
        return self._client._run(flow)

    def tool_usage(self, start: dt.datetime | str, end: dt.datetime | str) -> ToolUsage:
        """MCP tool calls (search, reader, zread) between two local times."""
        call = usage_call(ToolUsage, start, end)
        flow = monitor_flow(call, self._client.settings.api_key)
        return self._client._run(flow)


class AsyncQuota(AsyncResource):
    """``client.quota`` on ``AsyncClient``."""

    def phase(self, now: dt.datetime | None = None) -> PricePhase:
        """Peak or off-peak hours at ``now`` (default: now) and when that changes; no request is sent, so this
        is a plain method on the async client too."""
        return price_phase(now)

    async def limits(self) -> QuotaInfo:
        """Plan level, the 5-hour and weekly windows, and the monthly MCP allowance."""
        return await self._client._run(monitor_flow(limit_call(), self._client.settings.api_key))

    async def model_usage(self, start: dt.datetime | str, end: dt.datetime | str) -> ModelUsage:
        """Hourly calls and tokens between two local times."""
        call = usage_call(ModelUsage, start, end)
        return await self._client._run(monitor_flow(call, self._client.settings.api_key))

    async def tool_usage(self, start: dt.datetime | str, end: dt.datetime | str) -> ToolUsage:
        """MCP tool calls between two local times."""
        call = usage_call(ToolUsage, start, end)
        return await self._client._run(monitor_flow(call, self._client.settings.api_key))
