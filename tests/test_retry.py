"""The retry policy on its own: which outcomes are retried, after how long, and how many times."""

from __future__ import annotations

import email.utils

import pytest

from glmkit._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    InputError,
    make_status_error,
)
from glmkit._retry import RetryPolicy, parse_retry_after

NOW = 1_800_000_000.0


def status_error(status: int, code: str | None = None, **headers: str) -> APIStatusError:
    body = {"error": {"code": code, "message": "x"}} if code else {"error": {"message": "x"}}
    return make_status_error(status, body, headers={k.replace("_", "-"): v for k, v in headers.items()})


def test_retry_after_ms_comes_before_retry_after() -> None:
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5


def test_retry_after_in_seconds() -> None:
    assert parse_retry_after({"retry-after": "2.5"}) == 2.5


def test_retry_after_as_an_http_date_counts_from_now() -> None:
    when = email.utils.formatdate(NOW + 7, usegmt=True)
    assert parse_retry_after({"retry-after": when}, now=lambda: NOW) == pytest.approx(7.0)


@pytest.mark.parametrize(
    "headers",
    [{"retry-after": "-3"}, {"retry-after-ms": "-10"}, {"retry-after": email.utils.formatdate(NOW - 60, usegmt=True)}],
)
def test_a_retry_after_in_the_past_means_at_once(headers: dict[str, str]) -> None:
    assert parse_retry_after(headers, now=lambda: NOW) == 0.0


@pytest.mark.parametrize("headers", [{}, {"retry-after": "soon"}, {"retry-after": ""}])
def test_no_usable_retry_after_is_none(headers: dict[str, str]) -> None:
    assert parse_retry_after(headers) is None


def test_a_broken_retry_after_ms_falls_back_to_retry_after() -> None:
    assert parse_retry_after({"retry-after-ms": "abc", "retry-after": "4"}) == 4.0


@pytest.mark.parametrize(
    "error",
    [
        APIConnectionError("refused"),
        APITimeoutError("slow"),
        status_error(500),
        status_error(502),
        status_error(503),
        status_error(529),
        status_error(429),  # a plain rate limit
        status_error(429, "1302"),  # concurrency
        status_error(429, "1305"),  # overloaded
        status_error(408),
    ],
    ids=repr,
)
def test_retried_outcomes(error: BaseException) -> None:
    assert RetryPolicy().should_retry(error)


@pytest.mark.parametrize(
    "error",
    [
        status_error(400),
        status_error(401, "1002"),
        status_error(401, "1003"),  # an expired JWT is refreshed by the flow, not backed off
        status_error(404),
        status_error(429, "1113"),  # no balance
        status_error(429, "1308"),  # plan quota spent
        InputError("bad"),
        ValueError("not ours"),
    ],
    ids=repr,
)
def test_outcomes_never_retried(error: BaseException) -> None:
    assert not RetryPolicy().should_retry(error)


def test_x_should_retry_false_stops_a_retryable_error() -> None:
    assert not RetryPolicy().should_retry(status_error(503, x_should_retry="false"))


def test_x_should_retry_true_revives_a_5xx_but_not_a_4xx_nor_a_spent_quota() -> None:
    policy = RetryPolicy()
    assert policy.should_retry(status_error(500, "1100", x_should_retry="true"))  # a "no" row answered with 500
    assert not policy.should_retry(status_error(400, x_should_retry="true"))
    assert not policy.should_retry(status_error(429, "1113", x_should_retry="true"))
    assert not policy.should_retry(status_error(500, "1113", x_should_retry="true"))


def test_retry_after_is_honoured_before_backoff() -> None:
    policy = RetryPolicy(rng=lambda: 1.0)
    assert policy.delay_before_retry(0, status_error(429, retry_after="3")) == 3.0
    assert policy.delay_before_retry(0, status_error(503, retry_after_ms="250")) == 0.25


def test_a_retry_after_beyond_the_cap_falls_back_to_backoff() -> None:
    policy = RetryPolicy(rng=lambda: 1.0, initial_delay=0.5, max_retry_after=60.0)
    assert policy.delay_before_retry(1, status_error(503, retry_after="3600")) == 1.0


def test_a_retry_after_on_an_error_not_retried_is_ignored() -> None:
    assert RetryPolicy().delay_before_retry(0, status_error(400, retry_after="1")) is None


@pytest.mark.parametrize(
    ("attempt", "ceiling"), [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 8.0), (20, 8.0)]
)
def test_backoff_is_full_jitter_below_a_doubling_capped_ceiling(attempt: int, ceiling: float) -> None:
    assert RetryPolicy(rng=lambda: 1.0).backoff(attempt) == ceiling
    assert RetryPolicy(rng=lambda: 0.0).backoff(attempt) == 0.0
    assert RetryPolicy(rng=lambda: 0.5).backoff(attempt) == ceiling / 2


def test_backoff_stays_within_bounds_with_the_real_jitter() -> None:
    policy = RetryPolicy()
    for attempt in range(10):
        for _ in range(50):
            assert 0.0 <= policy.backoff(attempt) <= min(policy.max_delay, policy.initial_delay * 2**attempt)


def test_gives_up_after_max_retries() -> None:
    policy = RetryPolicy(max_retries=2, rng=lambda: 1.0)
    error = APIConnectionError("refused")
    assert policy.delay_before_retry(0, error) == 0.5
    assert policy.delay_before_retry(1, error) == 1.0
    assert policy.delay_before_retry(2, error) is None


def test_max_retries_zero_never_retries() -> None:
    assert RetryPolicy(max_retries=0).delay_before_retry(0, status_error(503, retry_after="0")) is None
