"""What the media resources share: waiting on an async job (a flow) and downloading a result URL."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from glmkit._errors import JobFailedError, JobTimeoutError, OperationCancelled
from glmkit._flows import Flow, Request, Sleep
from glmkit._transport import Call
from glmkit.types._base import Endpoint
from glmkit.types.videos import TaskProgress

_DOWNLOAD = Endpoint("GET", "", "general")
MAX_POLL_SECONDS = 30.0
BACKOFF = 1.5


def download_call(url: str) -> Call:
    """A GET of a result URL (images, videos, files Z.AI hands out); no API key is sent with it."""
    return Call(_DOWNLOAD, url=url, auth=False, parse=bytes)


def is_cancelled(cancel: Any) -> bool:
    """``cancel`` may be an event (``is_set()``) or a callable returning True to stop."""
    if cancel is None:
        return False
    is_set = getattr(cancel, "is_set", None)
    return bool(is_set() if callable(is_set) else cancel())


def wait_for_task(
    task_id: str,
    retrieve: Callable[[str], Call],
    *,
    status_of: Callable[[Any], str],
    what: str,
    poll: float = 5.0,
    timeout: float = 600.0,
    on_progress: Callable[[TaskProgress], Any] | None = None,
    cancel: Any = None,
    error_of: Callable[[Any], Any] = lambda r: getattr(r, "error", None),
    clock: Callable[[], float] = time.monotonic,
) -> Flow[Any]:
    """Poll until ``status_of(result)`` says ``done``; raise on ``failed``, on timeout, or when cancelled.

    Polls start ``poll`` seconds apart and back off by 1.5x up to 30 s. Elapsed time is the larger of
    the wall clock and the time slept, so a test's fake sleep still reaches the timeout.
    """
    if not task_id:
        from glmkit._errors import InputError

        raise InputError("task_id is required.")
    if poll <= 0 or timeout <= 0:
        from glmkit._errors import InputError

        raise InputError("poll and timeout must be positive numbers of seconds.")
    started, slept, delay, polls = clock(), 0.0, poll, 0
    result: Any = None
    while True:
        if is_cancelled(cancel):
            raise OperationCancelled(
                f"Stopped waiting for {what} {task_id}; the job goes on on the server.",
                partial=result,
                hint=f"Pick it up later with the task id {task_id}.",
            )
        result = yield Request(retrieve(task_id))
        polls += 1
        elapsed = max(slept, clock() - started)
        status = status_of(result)
        if on_progress is not None:
            on_progress(TaskProgress(task_id, _raw_status(result, status), elapsed, polls, result))
        if status == "done":
            return result
        if status == "failed":
            error = error_of(result)
            detail = error.get("message") if isinstance(error, dict) else error
            raise JobFailedError(
                f"{what[:1].upper() + what[1:]} {task_id} failed" + (f": {detail}" if detail else "."),
                task_id=task_id,
                error=error,
                hint="Change the prompt or inputs and submit again; failed jobs are not billed as successes.",
            )
        if elapsed >= timeout:
            raise JobTimeoutError(
                f"{what[:1].upper() + what[1:]} {task_id} is still {_raw_status(result, status)} after {elapsed:.0f} s.",
                task_id=task_id,
                waited=elapsed,
                hint=f"It may still finish: wait again with the task id {task_id}, or raise timeout=.",
            )
        step = min(delay, max(timeout - elapsed, 0.0)) or delay
        yield Sleep(step)
        slept += step
        delay = min(delay * BACKOFF, max(MAX_POLL_SECONDS, poll))


def _raw_status(result: Any, status: str) -> str:
    for name in ("task_status", "status"):
        value = getattr(result, name, None)
        if isinstance(value, str):
            return value
    return status
