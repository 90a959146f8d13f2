"""Logic that waits, written once as generators and driven by a sync or an async driver.

A flow yields ``Attempt`` (send the request once), ``Request(call)`` (run a whole call, retries
included) or ``Sleep(seconds)``, and receives the result; failures are thrown into it. The drivers
in ``_transport.py`` are a dozen lines each, so retries, JWT refresh and job polling exist once.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from glmkit._auth import Auth
from glmkit._errors import AuthenticationError, GLMError
from glmkit._retry import RetryPolicy

T = TypeVar("T")
StepT = TypeVar("StepT")


@dataclass(frozen=True, slots=True)
class Attempt:
    """Send the current request once; the driver returns a successful response or raises."""

    number: int


@dataclass(frozen=True, slots=True)
class Request:
    """Run a whole call (with its own retries) and return its parsed result."""

    call: Any


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait this many seconds."""

    seconds: float


Step = Attempt | Request | Sleep
Flow = Generator[Step, Any, T]


def retrying(
    policy: RetryPolicy, auth: Auth | None, on_retry: Callable[[int, GLMError, float], None] | None = None
) -> Flow[Any]:
    """Send until success, backing off between retryable failures; refresh a JWT once on 1003."""
    attempt = 0
    refreshed = False
    while True:
        try:
            return (yield Attempt(attempt))
        except GLMError as error:
            if (
                isinstance(error, AuthenticationError)
                and error.code == "1003"
                and not refreshed
                and auth is not None
                and auth.refresh()
            ):
                refreshed = True
                continue
            delay = policy.delay_before_retry(attempt, error)
            if delay is None:
                raise
            if on_retry is not None:
                on_retry(attempt, error, delay)
            attempt += 1
            yield Sleep(delay)


def drive_sync(flow: Generator[StepT, Any, T], handle: Callable[[StepT], Any]) -> T:
    """Run a flow, answering each step with ``handle`` (errors are thrown back into the flow)."""
    try:
        step = next(flow)
        while True:
            try:
                value = handle(step)
            except GLMError as exc:
                step = flow.throw(exc)
            else:
                step = flow.send(value)
    except StopIteration as stop:
        return cast(T, stop.value)


async def drive_async(flow: Generator[StepT, Any, T], handle: Callable[[StepT], Any]) -> T:
    """The async twin of ``drive_sync``: ``handle`` returns an awaitable."""
    try:
        step = next(flow)
        while True:
            try:
                value = await handle(step)
            except GLMError as exc:
                step = flow.throw(exc)
            else:
                step = flow.send(value)
    except StopIteration as stop:
        return cast(T, stop.value)
