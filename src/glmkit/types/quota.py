"""The Coding Plan usage monitor: ``GET {root}/monitor/usage/...`` (reference §14.3, §17; undocumented).

The ``quota/limit`` schema has changed under every tool that reads it, so parsing is tolerant:
``TOKENS_LIMIT`` (token windows), ``CREDIT_LIMIT`` (credit plans, from ~Aug 2026) and ``TIME_LIMIT``
(the monthly MCP-call budget) rows, any field but ``type`` possibly missing, ``level`` and/or
``planName``. A window is identified by its ``unit``/``number`` pair, never by its position; a row
we cannot identify is kept (``QuotaInfo.unknown``) so callers can show it raw.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, TypeVar

import pydantic

from glmkit.types._base import Endpoint
from glmkit.types._model import Model

__all__ = [
    "MODEL_USAGE",
    "PEAK_HOURS",
    "PeakHours",
    "PricePhase",
    "QUOTA_LIMIT",
    "TOOL_USAGE",
    "WINDOWS",
    "ModelUsage",
    "QuotaInfo",
    "QuotaLimit",
    "ToolUsage",
    "parse_monitor",
    "price_phase",
]

QUOTA_LIMIT = Endpoint("GET", "/monitor/usage/quota/limit", "root")
MODEL_USAGE = Endpoint("GET", "/monitor/usage/model-usage", "root")
TOOL_USAGE = Endpoint("GET", "/monitor/usage/tool-usage", "root")

# (unit, number) -> (window name, label, length in seconds). Reference §14.3 / §17: (3, 5) = 5 hours,
# (6, 1) = 1 week, (5, 1) = 1 month. Other pairs are not attested: such rows are shown raw.
WINDOWS: dict[tuple[int, int], tuple[str, str, int]] = {
    (3, 5): ("5h", "5-hour", 5 * 3600),
    (6, 1): ("week", "weekly", 7 * 86400),
    (5, 1): ("month", "monthly", 30 * 86400),
}
MODEL_TYPES = ("TOKENS_LIMIT", "CREDIT_LIMIT")


@dataclass(frozen=True)
class PeakHours:
    """When the plan's peak hours are: weekdays (Monday = 0) from ``start`` to ``end`` o'clock at a UTC offset.

    The figures live in ``data/limits.toml`` ``[plan.peak_hours]`` (reference §14.1, UNVERIFIED against the page).
    """

    utc_offset_hours: int = 8
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    start: int = 14
    end: int = 18
    off_peak_cost: float = 0.5

    @classmethod
    def from_data(cls) -> PeakHours:
        """The peak hours of ``data/limits.toml``."""
        from glmkit import data

        row = data.load("limits")["plan"]["peak_hours"]
        return cls(
            utc_offset_hours=int(row["utc_offset_hours"]),
            weekdays=tuple(int(d) for d in row["weekdays"]),
            start=int(row["start_hour"]),
            end=int(row["end_hour"]),
            off_peak_cost=float(row["off_peak_cost"]),
        )

    @property
    def zone(self) -> dt.timezone:
        """The time zone the hours are given in."""
        return dt.timezone(dt.timedelta(hours=self.utc_offset_hours))

    def describe(self) -> str:
        """The hours in words, e.g. ``Mon-Fri 14:00-18:00 UTC+8``."""
        names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        days = list(self.weekdays)
        if days and days == list(range(days[0], days[-1] + 1)) and len(days) > 1:
            span = f"{names[days[0]]}-{names[days[-1]]}"
        else:
            span = ",".join(names[d] for d in days)
        return f"{span} {self.start:02d}:00-{self.end:02d}:00 UTC{self.utc_offset_hours:+d}"

    def contains(self, when: dt.datetime) -> bool:
        """Whether an aware datetime falls in peak hours."""
        local = when.astimezone(self.zone)
        return local.weekday() in self.weekdays and self.start <= local.hour < self.end

    def next_change(self, when: dt.datetime) -> dt.datetime:
        """When peak hours next start (outside them) or end (inside them)."""
        local = when.astimezone(self.zone)
        if self.contains(when):
            return local.replace(hour=self.end, minute=0, second=0, microsecond=0)
        day = local.replace(hour=self.start, minute=0, second=0, microsecond=0)
        for _ in range(8):
            if day.weekday() in self.weekdays and day > local:
                return day
            day += dt.timedelta(days=1)
        return day


PEAK_HOURS = PeakHours.from_data()


@dataclass(frozen=True)
class PricePhase:
    """The Coding Plan's price phase at one moment: peak or off-peak, and when that changes."""

    peak: bool
    """Whether it is peak hours now."""
    changes_at: dt.datetime
    """When the phase flips (aware, UTC): the end of peak hours, or the start of the next ones."""
    cost_factor: float
    """What usage costs now relative to peak (1.0 at peak; ``off_peak_cost`` of the table off-peak)."""
    hours: str
    """The peak hours in words, e.g. ``Mon-Fri 14:00-18:00 UTC+8``."""

    @property
    def name(self) -> str:
        """``peak`` or ``off-peak``."""
        return "peak" if self.peak else "off-peak"

    def seconds_left(self, now: dt.datetime) -> float:
        """Seconds from ``now`` until the phase changes."""
        return max(0.0, (self.changes_at - now).total_seconds())


def price_phase(now: dt.datetime | None = None, hours: PeakHours = PEAK_HOURS) -> PricePhase:
    """Peak or off-peak at ``now`` (default: the current time), and when it changes.

    Credit plans price by time of day (live evidence §3): off-peak usage costs less, so background work is
    best held for off-peak. The hours are data (``data/limits.toml`` ``[plan.peak_hours]``): reference §14.1
    gives Mon-Fri 14:00-18:00 UTC+8 and 50% off-peak, UNVERIFIED against Z.AI's page.

    Args:
        now: an aware datetime (a naive one is read as UTC).
        hours: the peak-hour table (the data file's by default).
    """
    now = dt.datetime.now(dt.UTC) if now is None else now
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    peak = hours.contains(now)
    return PricePhase(
        peak=peak,
        changes_at=hours.next_change(now).astimezone(dt.UTC),
        cost_factor=1.0 if peak else hours.off_peak_cost,
        hours=hours.describe(),
    )


class QuotaDetail(Model):
    """One tool's count inside the monthly MCP allowance (``usageDetails``)."""

    modelCode: str | None = None
    usage: float | None = None


class QuotaLimit(Model):
    """One row of ``limits``: a usage window or the monthly MCP budget."""

    type: str | None = None
    """``TOKENS_LIMIT``, ``CREDIT_LIMIT`` or ``TIME_LIMIT`` (others are kept as they come)."""
    unit: int | None = None
    number: int | None = None
    usage: float | None = None
    """The capacity of the window (tokens, credits or calls), when reported."""
    currentValue: float | None = None
    """How much of it is used."""
    remaining: float | None = None
    percentage: float | None = None
    """Used, in percent."""
    nextResetTime: int | None = None
    """Epoch milliseconds."""
    usageDetails: list[QuotaDetail] = []

    @property
    def window(self) -> str | None:
        """``5h``, ``week`` or ``month`` from the unit/number pair; ``None`` when the pair is unknown."""
        if self.unit is None or self.number is None:
            return None
        found = WINDOWS.get((self.unit, self.number))
        return found[0] if found else None

    @property
    def kind(self) -> str:
        """``model`` (token or credit window), ``mcp`` (the MCP-call budget) or ``unknown``."""
        if self.type in MODEL_TYPES:
            return "model"
        if self.type == "TIME_LIMIT":
            return "mcp"
        return "unknown"

    @property
    def label(self) -> str:
        """A human name such as ``5-hour tokens`` or ``monthly MCP calls``."""
        found = WINDOWS.get((self.unit or -1, self.number or -1))
        span = found[1] if found else f"unit {self.unit}/{self.number}"
        what = {"TOKENS_LIMIT": "tokens", "CREDIT_LIMIT": "credits", "TIME_LIMIT": "MCP calls"}.get(
            self.type or "", self.type or "?"
        )
        return f"{span} {what}"

    @property
    def used_percent(self) -> float | None:
        """Used in percent: ``percentage``, else computed from ``currentValue``/``usage``."""
        if self.percentage is not None:
            return float(self.percentage)
        if self.currentValue is not None and self.usage:
            return 100.0 * self.currentValue / self.usage
        return None

    @property
    def resets_at(self) -> dt.datetime | None:
        """When the window resets (aware, UTC)."""
        if not self.nextResetTime:
            return None
        return dt.datetime.fromtimestamp(self.nextResetTime / 1000, tz=dt.UTC)

    def forecast(self, now: dt.datetime) -> dt.datetime | None:
        """When the window runs out at the pace used so far in it (``None``: not before it resets, or unknown).

        The window is assumed to have started one window-length before its reset time; in its first
        minutes (2% of its length, at least 10 minutes) there is no forecast.
        """
        found = WINDOWS.get((self.unit or -1, self.number or -1))
        used, reset = self.used_percent, self.resets_at
        if found is None or used is None or reset is None or used <= 0:
            return None
        start = reset - dt.timedelta(seconds=found[2])
        elapsed = (now - start).total_seconds()
        if elapsed < max(600.0, 0.02 * found[2]):  # too early in the window for a pace to mean anything
            return None
        if used >= 100:
            return now
        runout = now + dt.timedelta(seconds=(100 - used) * elapsed / used)
        return runout if runout < reset else None


class QuotaInfo(Model):
    """``data`` of ``quota/limit``: plan level and usage rows."""

    level: str | None = None
    planName: str | None = None
    limits: list[QuotaLimit] = []

    @property
    def plan(self) -> str | None:
        """The plan level (``lite``, ``pro``, ``max``...), from ``level`` or ``planName``."""
        return self.level or self.planName

    @property
    def credits(self) -> bool:
        """Whether this is a credit plan (``CREDIT_LIMIT`` rows, live since about 2026-07-30): its windows count
        credits, and credits cost less off-peak (``price_phase``)."""
        return any(lim.type == "CREDIT_LIMIT" for lim in self.limits)

    def window(self, name: str) -> QuotaLimit | None:
        """The model-usage row of a window (``5h``, ``week``); for ``month``, the MCP budget."""
        kind = "mcp" if name == "month" else "model"
        return next((lim for lim in self.limits if lim.window == name and lim.kind == kind), None)

    @property
    def unknown(self) -> list[QuotaLimit]:
        """Rows whose type or unit/number pair is not known: show them raw."""
        return [lim for lim in self.limits if lim.kind == "unknown" or lim.window is None]


class ModelUsage(Model):
    """``data`` of ``model-usage``: hourly buckets (shape UNVERIFIED, reference §14.3)."""

    x_time: list[str] = []
    modelCallCount: list[int | None] = []
    tokensUsage: list[int | None] = []
    totalUsage: dict[str, Any] | None = None
    modelDataList: list[dict[str, Any]] = []


class ToolUsage(Model):
    """``data`` of ``tool-usage`` (shape UNVERIFIED, reference §14.3)."""

    totalUsage: dict[str, Any] | None = None


def _limit(row: Any) -> QuotaLimit:
    if not isinstance(row, dict):
        return QuotaLimit.model_construct(type=None, raw=row)
    try:
        return QuotaLimit.model_validate(row)
    except pydantic.ValidationError:
        kind = row.get("type") if isinstance(row.get("type"), str) else None
        return QuotaLimit.model_construct(type=f"{kind or 'UNREADABLE'}?", raw=row)


M = TypeVar("M", bound=Model)


def parse_monitor(content: bytes, model: type[M]) -> M:
    """Unwrap the monitor envelope ``{"code", "msg", "success", "data"}``; an error envelope raises."""
    import json

    from glmkit._errors import code_row, make_status_error

    body = json.loads(content)
    if isinstance(body, dict) and body.get("success") is False:
        try:
            status = code_row(str(body.get("code"))).status
        except KeyError:
            status = 400
        raise make_status_error(status, body)
    data = body.get("data", body) if isinstance(body, dict) else body
    limits = None
    if model is QuotaInfo:
        if isinstance(data, list):
            data = {"limits": data}
        data = dict(data or {})
        limits = [_limit(row) for row in data.pop("limits", None) or []]
    result = model.model_validate(data or {})
    if isinstance(result, QuotaInfo) and limits is not None:
        result.limits = limits
    return result
