"""Start times for the ledger's queries: ``24h``, ``7d``, ``today``, an ISO date, a datetime or a Unix time."""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any

__all__ = ["filters", "parse_since"]

_SINCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(value: str | float | datetime | None, *, now: float | None = None) -> float | None:
    """A start time as a Unix timestamp from ``24h``, ``7d``, ``30m``, an ISO date/time, a datetime or a number."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    match = _SINCE.match(value)
    if match:
        return (time.time() if now is None else now) - float(match.group(1)) * _UNITS[match.group(2)]
    if value.strip().lower() == "today":
        start = datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)
        return start.timestamp()
    try:
        return datetime.fromisoformat(value.strip()).timestamp()
    except ValueError:
        from glmkit._errors import InputError

        raise InputError(
            f"Cannot read {value!r} as a start time.",
            hint="Use a span like 30m, 24h, 7d, 2w, 'today' or a date like 2026-11-01.",
        ) from None


def filters(since: str | float | None, source: str | None) -> tuple[list[str], list[Any]]:
    """SQL conditions (and their arguments) for a start time and a source."""
    where, args = ["1=1"], []  # type: list[str], list[Any]
    start = parse_since(since)
    if start is not None:
        where.append("created >= ?")
        args.append(start)
    if source:
        where.append("source = ?")
        args.append(source)
    return where, args
