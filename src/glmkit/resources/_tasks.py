"""What the media resources share: waiting on an async job (a flow), downloading a result URL, argument checks."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from typing_extensions import Unpack

from glmkit._errors import InputError, JobFailedError, JobTimeoutError, OperationCancelledError
from glmkit._flows import Flow, Request, Sleep
from glmkit._transport import Call
from glmkit.types._base import Endpoint
from glmkit.types.videos import TaskProgress, WaitParams

_DOWNLOAD = Endpoint("GET", "", "general")
R = TypeVar("R")
MAX_POLL_SECONDS = 30.0
BACKOFF = 1.5


def download_call(url: str) -> Call[bytes]:
    """A GET of a result URL (images, videos, files Z.AI hands out); no API key is sent with it."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise InputError(f"url must be an http(s) URL string (got {url!r}).", hint="Pass result.url.")
    return Call(_DOWNLOAD, url=url, auth=False, parse=bytes)


def require_id(value: Any, what: str) -> str:
    """``value`` if it is a non-empty string; else an ``InputError`` naming the argument."""
    if not isinstance(value, str) or not value:
        got = "nothing" if value is None or value == "" else f"a {type(value).__name__}"
        raise InputError(
            f"{what} is required as a non-empty string (got {got}).", hint=f"Pass the {what} the API returned."
        )
    return value


def check_options(options: Mapping[str, Any], allowed: Any, where: str) -> None:
    """Refuse keyword arguments a ``**options: Unpack[...]`` method does not know (Python would accept them).

    ``allowed`` is the ``TypedDict`` class (typed ``Any``: a type checker sees a TypedDict class as no ``type``).
    """
    known: frozenset[str] = allowed.__optional_keys__ | allowed.__required_keys__
    unknown = sorted(set(options) - known)
    if unknown:
        raise InputError(
            f"{where}() got unknown argument(s): {', '.join(unknown)}; it takes {', '.join(sorted(known))}.",
            hint="Check the spelling of the keyword.",
        )


def check_prompt(prompt: Any, max_chars: int, who_takes: str, *, shorten: str) -> None:
    """An optional prompt: a string of at most ``max_chars`` characters (``who_takes``: "GLM-ASR takes")."""
    if prompt is None:
        return
    if not isinstance(prompt, str):
        raise InputError(f"prompt must be a string (got a {type(prompt).__name__}).", hint="Pass the text itself.")
    if len(prompt) > max_chars:
        raise InputError(f"prompt is {len(prompt)} characters; {who_takes} at most {max_chars}.", hint=shorten)


def is_cancelled(cancel: Any) -> bool:
    """``cancel`` may be an event (``is_set()``) or a callable returning True to stop."""
    if cancel is None:
        return False
    is_set = getattr(cancel, "is_set", None)
    return bool(is_set() if callable(is_set) else cancel())


def _seconds(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise InputError(f"{name} must be a positive number of seconds (got {value!r}).")
    return float(value)


def waiting(
    task_id: Any,
    retrieve: Callable[[str], Call[R]],
    *,
    status_of: Callable[[R], str],
    what: str,
    defaults: tuple[float, float],
    error_of: Callable[[R], Any] = lambda r: getattr(r, "error", None),
    **options: Unpack[WaitParams],
) -> Flow[R]:
    """``wait_for_task`` with a resource's ``(poll, timeout)`` defaults and the caller's ``WaitParams``, checked now."""
    check_options(options, WaitParams, "wait")
    task_id = require_id(task_id, "task_id")
    poll = _seconds(options.get("poll", defaults[0]), "poll")
    timeout = _seconds(options.get("timeout", defaults[1]), "timeout")
    on_progress, cancel = options.get("on_progress"), options.get("cancel")
    if on_progress is not None and not callable(on_progress):
        raise InputError("on_progress must be a callable taking a TaskProgress.")
    return wait_for_task(
        task_id,
        retrieve,
        status_of=status_of,
        what=what,
        poll=poll,
        timeout=timeout,
        on_progress=on_progress,
        cancel=cancel,
        error_of=error_of,
    )


def wait_for_task(
    task_id: str,
    retrieve: Callable[[str], Call[R]],
    *,
    status_of: Callable[[R], str],
    what: str,
    poll: float = 5.0,
    timeout: float = 600.0,
    on_progress: Callable[[TaskProgress], Any] | None = None,
    cancel: Any = None,
    error_of: Callable[[R], Any] = lambda r: getattr(r, "error", None),
    clock: Callable[[], float] = time.monotonic,
) -> Flow[R]:
    """Poll until ``status_of(result)`` says ``done``; raise on ``failed``, on timeout, or when cancelled.

    Polls start ``poll`` seconds apart and back off by 1.5x up to 30 s. Elapsed time is the larger of
    the wall clock and the time slept, so a test's fake sleep still reaches the timeout.
    """
    require_id(task_id, "task_id")
    _seconds(poll, "poll")
    _seconds(timeout, "timeout")
    started, slept, delay, polls = clock(), 0.0, poll, 0
    result: R | None = None
    while True:
        if is_cancelled(cancel):
            raise OperationCancelledError(
                f"Stopped waiting for {what} {task_id}; the job goes on on the server.",
                partial=result,
                hint=f"Pick it up later with the task id {task_id}.",
            )
        got: R = yield Request(retrieve(task_id))
        result = got
        polls += 1
        elapsed = max(slept, clock() - started)
        status = status_of(got)
        if on_progress is not None:
            on_progress(TaskProgress(task_id, _raw_status(result, status), elapsed, polls, result))
        if status == "done":
            return got
        if status == "failed":
            raise _failed(what, task_id, error_of(got))
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


def _failed(what: str, task_id: str, error: Any) -> JobFailedError:
    detail = error.get("message") if isinstance(error, dict) else error
    return JobFailedError(
        f"{what[:1].upper() + what[1:]} {task_id} failed" + (f": {detail}" if detail else "."),
        task_id=task_id,
        error=error,
        hint="Change the prompt or inputs and submit again; failed jobs are not billed as successes.",
    )


def _raw_status(result: Any, status: str) -> str:
    for name in ("task_status", "status"):
        value = getattr(result, name, None)
        if isinstance(value, str):
            return value
    return status
