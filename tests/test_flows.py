"""The flows written once as generators (retry, JWT refresh, job polling), each run by the sync and the async driver.

A flow's peer is the driver's ``handle``: here a script that answers each step the way a transport would
(a response, or an error it raises) and records what it was asked. Every test runs under both drivers and
expects the same steps and the same outcome.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from glmkit._auth import ApiKeyAuth, JWTAuth
from glmkit._errors import (
    APIConnectionError,
    AuthenticationError,
    GLMError,
    JobFailedError,
    JobTimeoutError,
    OperationCancelledError,
    make_status_error,
)
from glmkit._flows import Attempt, Flow, Request, Sleep, Step, drive_async, drive_sync, retrying
from glmkit._retry import RetryPolicy
from glmkit.resources._tasks import wait_for_task
from glmkit.types.videos import TaskProgress

POLICY = RetryPolicy(max_retries=3, rng=lambda: 1.0)  # no jitter: backoff is 0.5, 1, 2, ...
EXPIRED = make_status_error(401, {"error": {"code": "1003", "message": "Authorization Token has expired"}})
BUSY = make_status_error(503, {"error": {"message": "busy"}})


class Script:
    """Answers steps from a list of outcomes (an exception is raised, anything else returned); records the steps."""

    def __init__(self, outcomes: Iterable[Any], on_step: Callable[[Step], None] | None = None) -> None:
        self.outcomes = iter(outcomes)
        self.steps: list[Step] = []
        self.on_step = on_step

    def __call__(self, step: Step) -> Any:
        self.steps.append(step)
        if self.on_step is not None:
            self.on_step(step)
        if isinstance(step, Sleep):
            return None
        outcome = next(self.outcomes)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    @property
    def sleeps(self) -> list[float]:
        return [s.seconds for s in self.steps if isinstance(s, Sleep)]

    @property
    def sends(self) -> int:
        return sum(not isinstance(s, Sleep) for s in self.steps)


Driver = Callable[[Flow[Any], Script], Any]


def run_sync(flow: Flow[Any], script: Script) -> Any:
    return drive_sync(flow, script)


def run_async(flow: Flow[Any], script: Script) -> Any:
    async def handle(step: Step) -> Any:
        await asyncio.sleep(0)  # a real suspension, as a transport's send has
        return script(step)

    return asyncio.run(drive_async(flow, handle))


@pytest.fixture(params=[run_sync, run_async], ids=["sync", "async"])
def drive(request: pytest.FixtureRequest) -> Driver:
    return request.param  # type: ignore[no-any-return]


# retrying


def test_the_first_success_is_the_result(drive: Driver) -> None:
    script = Script(["response"])
    assert drive(retrying(POLICY, None), script) == "response"
    assert script.steps == [Attempt(0)]


def test_retryable_failures_are_retried_after_backoff_sleeps(drive: Driver) -> None:
    script = Script([BUSY, APIConnectionError("reset"), "response"])
    assert drive(retrying(POLICY, None), script) == "response"
    assert script.steps == [Attempt(0), Sleep(0.5), Attempt(1), Sleep(1.0), Attempt(2)]


def test_retry_after_sets_the_sleep(drive: Driver) -> None:
    limited = make_status_error(429, {"error": {"code": "1302", "message": "busy"}}, headers={"retry-after": "7"})
    script = Script([limited, "response"])
    assert drive(retrying(POLICY, None), script) == "response"
    assert script.sleeps == [7.0]


def test_the_last_error_is_raised_after_max_retries(drive: Driver) -> None:
    errors = [make_status_error(503, {"error": {"message": f"busy {n}"}}) for n in range(5)]
    script = Script(errors)
    with pytest.raises(GLMError) as caught:
        drive(retrying(POLICY, None), script)
    assert caught.value is errors[3]  # the first try and three retries
    assert script.sends == 4
    assert script.sleeps == [0.5, 1.0, 2.0]


def test_an_error_not_worth_retrying_is_raised_at_once(drive: Driver) -> None:
    bad = make_status_error(400, {"error": {"code": "1214", "message": "bad"}})
    script = Script([bad, "never"])
    with pytest.raises(GLMError) as caught:
        drive(retrying(POLICY, None), script)
    assert caught.value is bad
    assert script.steps == [Attempt(0)]


def test_on_retry_hears_each_retry_before_its_sleep(drive: Driver) -> None:
    heard: list[tuple[int, GLMError, float]] = []
    script = Script([BUSY, BUSY, "response"], on_step=lambda step: heard.append(("step", step)))  # type: ignore[arg-type]
    drive(retrying(POLICY, None, on_retry=lambda n, e, d: heard.append((n, e, d))), script)
    assert heard == [
        ("step", Attempt(0)),
        (0, BUSY, 0.5),
        ("step", Sleep(0.5)),
        ("step", Attempt(1)),
        (1, BUSY, 1.0),
        ("step", Sleep(1.0)),
        ("step", Attempt(2)),
    ]


def test_an_error_that_is_not_ours_leaves_the_flow(drive: Driver) -> None:
    script = Script([KeyError("a bug"), "never"])
    with pytest.raises(KeyError):
        drive(retrying(POLICY, None), script)
    assert script.sends == 1


# JWT refresh on 1003


def jwt_auth() -> JWTAuth:
    ticks = itertools.count(1_800_000_000, 1)  # each header is signed at a new second: a new token
    return JWTAuth("a1b2c3d4e5f6.a1b2c3d4e5f6g7h8", clock=lambda: float(next(ticks)))


def test_an_expired_jwt_is_refreshed_once_and_resent_without_sleeping(drive: Driver) -> None:
    auth = jwt_auth()
    headers: list[str] = []
    script = Script([EXPIRED, "response"], on_step=lambda step: headers.append(auth.header()))
    assert drive(retrying(POLICY, auth), script) == "response"
    assert script.steps == [Attempt(0), Attempt(0)]
    assert headers[0] != headers[1]  # the resend carries a newly signed token


def test_a_second_1003_is_raised_not_refreshed_again(drive: Driver) -> None:
    second = make_status_error(401, {"error": {"code": "1003", "message": "still expired"}})
    script = Script([EXPIRED, second, "never"])
    with pytest.raises(AuthenticationError) as caught:
        drive(retrying(POLICY, jwt_auth()), script)
    assert caught.value is second
    assert script.sleeps == []
    assert script.sends == 2


def test_the_refresh_is_spent_even_when_the_1003_comes_after_retries(drive: Driver) -> None:
    script = Script([EXPIRED, BUSY, EXPIRED, "never"])
    with pytest.raises(AuthenticationError):
        drive(retrying(POLICY, jwt_auth()), script)
    assert script.steps == [Attempt(0), Attempt(0), Sleep(0.5), Attempt(1)]


@pytest.mark.parametrize("auth", [None, ApiKeyAuth("a1b2c3d4e5f6.a1b2c3d4e5f6g7h8")], ids=["no-auth", "api-key"])
def test_a_1003_without_a_jwt_to_refresh_is_raised(drive: Driver, auth: ApiKeyAuth | None) -> None:
    script = Script([EXPIRED, "never"])
    with pytest.raises(AuthenticationError):
        drive(retrying(POLICY, auth), script)
    assert script.sends == 1


def test_other_auth_errors_are_not_refreshed(drive: Driver) -> None:
    invalid = make_status_error(401, {"error": {"code": "1002", "message": "invalid"}})
    script = Script([invalid, "never"])
    with pytest.raises(AuthenticationError):
        drive(retrying(POLICY, jwt_auth()), script)
    assert script.sends == 1


# job polling


class Job:
    def __init__(self, status: str, error: Any = None) -> None:
        self.status = status
        self.error = error


def status_of(job: Job) -> str:
    return {"PROCESSING": "running", "SUCCESS": "done", "FAIL": "failed"}[job.status]


def retrieve(task_id: str) -> Any:
    return ("retrieve", task_id)  # the flow hands it back in a Request step, unread


def polling(**kwargs: Any) -> Flow[Any]:
    return wait_for_task("task-1", retrieve, status_of=status_of, what="video", **kwargs)


def test_polls_until_done_backing_off(drive: Driver) -> None:
    done = Job("SUCCESS")
    script = Script([Job("PROCESSING")] * 3 + [done])
    assert drive(polling(poll=2.0, timeout=600.0), script) is done
    assert [s.call for s in script.steps if isinstance(s, Request)] == [("retrieve", "task-1")] * 4
    assert script.sleeps == [2.0, 3.0, 4.5]


def test_the_poll_interval_is_capped(drive: Driver) -> None:
    script = Script([Job("PROCESSING")] * 12 + [Job("SUCCESS")])
    drive(polling(poll=10.0, timeout=10_000.0), script)
    assert max(script.sleeps) == 30.0
    assert script.sleeps[-3:] == [30.0, 30.0, 30.0]


def test_a_failed_job_raises_with_its_error(drive: Driver) -> None:
    script = Script([Job("PROCESSING"), Job("FAIL", error={"message": "bad prompt"})])
    with pytest.raises(JobFailedError, match="bad prompt") as caught:
        drive(polling(poll=1.0), script)
    assert caught.value.task_id == "task-1"
    assert caught.value.error == {"message": "bad prompt"}


def test_time_slept_counts_toward_the_timeout(drive: Driver) -> None:
    script = Script(itertools.repeat(Job("PROCESSING")))
    with pytest.raises(JobTimeoutError) as caught:
        drive(polling(poll=5.0, timeout=12.0), script)
    assert caught.value.task_id == "task-1"
    assert sum(script.sleeps) == pytest.approx(12.0)  # the last sleep is cut to end at the timeout
    assert script.sleeps == [5.0, 7.0]
    assert caught.value.waited >= 12.0


def test_progress_is_reported_after_each_poll(drive: Driver) -> None:
    seen: list[TaskProgress] = []
    script = Script([Job("PROCESSING"), Job("SUCCESS")])
    drive(polling(poll=1.0, on_progress=seen.append), script)
    assert [(p.task_id, p.status, p.polls) for p in seen] == [("task-1", "PROCESSING", 1), ("task-1", "SUCCESS", 2)]


def test_cancelling_stops_before_the_next_poll(drive: Driver) -> None:
    cancelled = threading.Event()  # anything with is_set() will do
    first = Job("PROCESSING")

    def cancel_while_sleeping(step: Step) -> None:
        if isinstance(step, Sleep):
            cancelled.set()

    script = Script([first, "never"], on_step=cancel_while_sleeping)
    with pytest.raises(OperationCancelledError) as caught:
        drive(polling(poll=1.0, cancel=cancelled), script)
    assert caught.value.partial is first
    assert script.sends == 1
