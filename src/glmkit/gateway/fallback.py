"""A spent plan window (1308 five-hour, 1310 weekly) without ending the session: the opt-in pay-as-you-go fallback.

With ``fallback_key`` and ``fallback_cap_usd`` set in ``[gateway]``, a chat request the plan refuses with 1308/1310
goes once to the general (pay-as-you-go) endpoint with that key, if its worst-case cost still fits under the cap
for the current UTC day. The request is never retried blindly (one go, one endpoint) and never billed silently:
the response carries ``x-glm-billed: payg``, the ledger row ``billed = 'payg'`` and ``cost_usd``, the log a line,
and ``glm usage`` the fallbacks with their cost. Without a fallback (or past the cap) the client gets the 429 with
the reset time in the message and ``retry-after`` (and ``x-should-retry: false``: waiting is the only fix).

Costs are estimates: token counts are the upstream's, prices come from ``data/models.toml`` ``[prices]`` (third-party
quotes of the pricing page, reference §3.1); a model without a price is charged at the highest known price.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["PLAN_SPENT", "Fallback", "cost_usd", "price_of", "reset_of"]

log = logging.getLogger("glmkit.gateway")
PLAN_SPENT = ("1308", "1310")
_RESET = re.compile(r"(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2})")


def price_of(model: str) -> tuple[float, float, float, bool]:
    """(input, cached input, output) USD per million tokens, and whether the model's own price is known."""
    from glmkit import data

    prices: dict[str, list[float]] = data.load("models").get("prices", {})
    row = prices.get(model.removesuffix("[1m]"))
    if row is not None:
        return float(row[0]), float(row[1]), float(row[2]), True
    top = max(prices.values(), key=lambda r: r[2])  # unknown: the dearest known price, so the cap holds
    return float(top[0]), float(top[1]), float(top[2]), False


def cost_usd(model: str, input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> float:
    """The estimated cost of one answer on the general endpoint."""
    pin, pcached, pout, _ = price_of(model)
    fresh = max(0, input_tokens - cached_tokens)
    return (fresh * pin + cached_tokens * pcached + output_tokens * pout) / 1_000_000


def reset_of(message: str, now: float | None = None) -> tuple[str, int] | None:
    """(ISO time, seconds from now) of the reset a 1308/1310 message names (``... will reset at 2026-08-25 07:41:44``).

    The message's time zone is not documented (reference §17 quotes the message only): read as UTC, UNVERIFIED."""
    match = _RESET.search(message or "")
    if match is None:
        return None
    at = dt.datetime.fromisoformat(match.group(1).replace(" ", "T")).replace(tzinfo=dt.UTC)
    seconds = int(at.timestamp() - (time.time() if now is None else now))
    return at.isoformat().replace("+00:00", "Z"), max(1, seconds)


@dataclass
class Fallback:
    """The pay-as-you-go spend of the current UTC day against the cap, with reservations for answers in flight."""

    cap_usd: float
    spent_usd: float = 0.0
    reserved_usd: float = 0.0
    day: str = ""

    def _roll(self) -> None:
        today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
        if today != self.day:
            self.day, self.spent_usd = today, 0.0

    def load(self, ledger: Any) -> None:
        """Today's spend so far, from the ledger (a restart does not reset the cap)."""
        self._roll()
        start = dt.datetime.strptime(self.day, "%Y-%m-%d").replace(tzinfo=dt.UTC).timestamp()
        try:
            self.spent_usd = float(ledger.payg_spent(start))
        except Exception:  # an unreadable ledger: start from zero, said in the log
            log.warning("could not read today's pay-as-you-go spend from the ledger; counting from $0")

    def reserve(self, worst_usd: float) -> bool:
        """Hold ``worst_usd`` of the cap for one answer; ``False`` when it does not fit."""
        self._roll()
        if self.spent_usd + self.reserved_usd + worst_usd > self.cap_usd:
            return False
        self.reserved_usd += worst_usd
        return True

    def settle(self, reserved_usd: float, actual_usd: float) -> None:
        """An answer is over: its reservation goes, its actual cost counts."""
        self._roll()
        self.reserved_usd = max(0.0, self.reserved_usd - reserved_usd)
        self.spent_usd += actual_usd

    @property
    def left_usd(self) -> float:
        """What the cap still allows today."""
        self._roll()
        return max(0.0, self.cap_usd - self.spent_usd - self.reserved_usd)
