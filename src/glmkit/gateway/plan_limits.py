"""The Coding Plan's limits as Anthropic's ``anthropic-ratelimit-unified-*`` response headers.

Claude Code reads these headers (5-hour and weekly utilisation, reset times, status) for its usage warnings and
the statusline's ``rate_limits``. ``PlanLimits.headers()`` is on the hot path, so it only returns the cached
set; when that is older than ``every`` seconds it starts one background refresh from the monitor
(``client.quota.limits()``), whose result the next answers carry. A monitor that fails leaves the last good
headers (none at first) and is tried again ``every`` seconds later.

Header values follow Anthropic's (UNVERIFIED in detail, taken from what Claude Code reads): utilisation as a
fraction 0..1, reset times as Unix seconds, status ``allowed``, ``allowed_warning`` (80 % or more used) or
``rejected`` (spent). ``-status`` and ``-reset`` without a window name speak for the most used window.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import warnings
from typing import Any

from glmkit.types.quota import QuotaInfo

__all__ = ["PlanLimits", "unified_headers"]

log = logging.getLogger("glmkit.gateway")
PREFIX = "anthropic-ratelimit-unified-"
WARN_AT = 80.0
WINDOWS = (("5h", "5h"), ("7d", "week"))


def _status(used: float) -> str:
    return "rejected" if used >= 100 else "allowed_warning" if used >= WARN_AT else "allowed"


def unified_headers(info: QuotaInfo) -> dict[str, str]:
    """The ``anthropic-ratelimit-unified-*`` headers for the plan's 5-hour and weekly windows."""
    out: dict[str, str] = {}
    worst: tuple[float, str, str | None] | None = None
    for name, window in WINDOWS:
        row = info.window(window)
        used = row.used_percent if row is not None else None
        if row is None or used is None:
            continue
        reset = str(int(row.resets_at.timestamp())) if row.resets_at is not None else None
        out[f"{PREFIX}{name}-utilization"] = f"{min(max(used / 100, 0.0), 1.0):.4g}"
        out[f"{PREFIX}{name}-status"] = _status(used)
        if reset is not None:
            out[f"{PREFIX}{name}-reset"] = reset
        if worst is None or used > worst[0]:
            worst = (used, name, reset)
    if worst is not None:
        out[f"{PREFIX}status"] = _status(worst[0])
        out[f"{PREFIX}representative-claim"] = "five_hour" if worst[1] == "5h" else "seven_day"
        if worst[2] is not None:
            out[f"{PREFIX}reset"] = worst[2]
    return out


class PlanLimits:
    """Cached plan-limit headers, refreshed in the background (never awaited by a request)."""

    def __init__(self, settings: Any, *, every: float = 60.0, transport: Any = None) -> None:
        self.settings = settings
        self.every = every
        self.transport = transport
        self._headers: dict[str, str] = {}
        self._checked = -float("inf")
        self._task: asyncio.Task[None] | None = None
        self._client: Any = None

    def headers(self) -> dict[str, str]:
        """The cached headers; starts a refresh when they are older than ``every`` seconds."""
        now = time.monotonic()
        if self.every > 0 and now - self._checked >= self.every and (self._task is None or self._task.done()):
            self._checked = now
            with contextlib.suppress(RuntimeError):  # no running loop (a sync caller): keep what we have
                self._task = asyncio.get_running_loop().create_task(self._refresh())
        return self._headers

    async def _refresh(self) -> None:
        try:
            if self._client is None:
                from glmkit._client import AsyncClient

                with warnings.catch_warnings():  # the coding-endpoint notice is for scripts; this is a coding tool
                    warnings.simplefilter("ignore")
                    self._client = AsyncClient(settings=self.settings, transport=self.transport)
            info = await self._client.quota.limits()
            self._headers = unified_headers(info)
        except Exception as exc:  # the monitor is a nicety: a failure never reaches a request
            log.debug("plan limits not refreshed: %s", type(exc).__name__)

    async def aclose(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if self._client is not None:
            await self._client.close()
