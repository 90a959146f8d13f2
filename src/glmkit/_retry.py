"""Retry policy as pure functions: retry this outcome? after how long? (``Retry-After`` first).

Retried: connection errors and timeouts, 5xx, and the rows of ``data/errors.toml`` marked ``retry = "yes"``
(1120, 1230, 1234, 1302, 1303, 1305, 1312). Never: other 4xx, and the quota/balance 429s (1113, 1304,
1308-1311, 1313), whatever ``x-should-retry`` says about them.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from glmkit._errors import APIStatusError

__all__ = ["RetryPolicy", "parse_retry_after"]


def parse_retry_after(headers: Mapping[str, str], *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date), if present."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now())


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, capped; honours ``Retry-After`` up to ``max_retry_after``."""

    max_retries: int = 3
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    rng: Callable[[], float] = field(default=random.random, repr=False)

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, initial * 2**attempt)]."""
        return float(self.rng() * min(self.max_delay, self.initial_delay * (2**attempt)))

    def should_retry(self, error: BaseException) -> bool:
        """Whether an error is worth another attempt."""
        from glmkit._errors import APIConnectionError

        if isinstance(error, APIStatusError):
            hint = error.headers.get("x-should-retry")
            if error.retryable and hint == "false":
                return False
            if not error.retryable and hint == "true":
                # the server may ask for a retry, but never on a spent quota
                from glmkit._errors import QuotaExceededError

                return not isinstance(error, QuotaExceededError) and error.status_code >= 500
            return error.retryable
        return isinstance(error, APIConnectionError)

    def delay_before_retry(self, attempt: int, error: BaseException) -> float | None:
        """Seconds to sleep before attempt ``attempt + 1``, or ``None`` to give up and raise."""
        if attempt >= self.max_retries or not self.should_retry(error):
            return None
        if isinstance(error, APIStatusError):
            after = parse_retry_after(error.headers)
            if after is not None and after <= self.max_retry_after:
                return after
        return self.backoff(attempt)
