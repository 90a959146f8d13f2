"""The exception tree. Every error glmkit raises is a ``GLMError``.

```
GLMError
├── InputError (also ValueError)   our own check failed, before any request: no key, file too big
├── APIConnectionError             the request did not get an answer (or a stream was cut: partial)
│   └── APITimeoutError
├── APIResponseValidationError     the server answered something we cannot read
├── StreamError                    a stream ended with an error event or finish_reason network_error; partial
├── JobFailedError                 an async job (video, agent, batch) ended FAIL; task_id
├── JobTimeoutError                waiting for an async job ran out of time; task_id
├── OperationCancelledError        a long operation was cancelled by the caller; partial
└── APIStatusError                 status_code, code (business), message, request_id, body, hint
    ├── BadRequestError            400; 1200-1231, 1261
    │   └── ContentFilterError     1300, 1301; finish_reason sensitive (partial)
    ├── AuthenticationError        401; 1000-1004
    ├── PermissionDeniedError      403, 434; 1220
    ├── NotFoundError              404; 1211, 1222
    ├── RateLimitError             429; 1303, 1305, 1312      retried with backoff
    │   └── ConcurrencyLimitError  1302                        retried; the gateway queues instead
    ├── QuotaExceededError         1304, 1308-1311, 1313       never retried; resets_at when known
    │   └── InsufficientBalanceError  1113                     never retried
    ├── AccountError               1100-1121                   1120 retried: the row decides
    └── InternalServerError        500; 1230, 1234             retried
```
``QuotaExceededError`` is on purpose not a ``RateLimitError``: code that catches rate limits to wait
and retry must never wait on an exhausted plan. The code -> class -> retry mapping lives in
``data/errors.toml``; the retry policy, the gateway and the CLI all read the same row.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = [
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AccountError",
    "AuthenticationError",
    "BadRequestError",
    "ConcurrencyLimitError",
    "ContentFilterError",
    "GLMError",
    "InputError",
    "InsufficientBalanceError",
    "InternalServerError",
    "JobFailedError",
    "JobTimeoutError",
    "NotFoundError",
    "OperationCancelledError",
    "PermissionDeniedError",
    "QuotaExceededError",
    "RateLimitError",
    "StreamError",
]


class GLMError(Exception):
    """Base of every glmkit error."""

    exit_code: ClassVar[int] = 1
    hint: str | None = None
    partial: Any = None
    """What a long operation had done when it failed (text so far, pages parsed), when it says."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        return self.message


class InputError(GLMError, ValueError):
    """Our own check failed before any request was sent (no key, bad argument, file too large)."""

    exit_code = 2


class APIConnectionError(GLMError):
    """The request got no answer: DNS, refused connection, dropped connection."""

    exit_code = 5

    def __init__(self, message: str = "Connection error.", *, hint: str | None = None, partial: Any = None) -> None:
        super().__init__(message, hint=hint or "Check the network, or the endpoint (`glm doctor`).")
        self.partial = partial


class APITimeoutError(APIConnectionError):
    """The request timed out."""

    def __init__(self, message: str = "Request timed out.", *, hint: str | None = None, partial: Any = None) -> None:
        super().__init__(
            message, hint=hint or "Raise the timeout (timeout=... or --timeout) or try again.", partial=partial
        )


class APIResponseValidationError(GLMError):
    """The server answered with data we cannot read as the documented shape."""

    exit_code = 5
    completion: Any = None
    """``chat.parse``: the last answer, which did not validate."""


class StreamError(GLMError):
    """A stream ended abnormally; ``partial`` holds what arrived before the end."""

    exit_code = 5

    def __init__(self, message: str, *, partial: Any = None, finish_reason: str | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.partial = partial
        self.finish_reason = finish_reason


class JobFailedError(GLMError):
    """An async job (video, agent, batch) ended in failure; ``task_id`` names it, ``error`` says why."""

    exit_code = 1

    def __init__(self, message: str, *, task_id: str, error: Any = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.task_id = task_id
        self.error = error


class JobTimeoutError(GLMError):
    """Waiting for an async job took longer than allowed; the job may still finish (``task_id``)."""

    exit_code = 5

    def __init__(self, message: str, *, task_id: str, waited: float, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.task_id = task_id
        self.waited = waited


class OperationCancelledError(GLMError):
    """A long operation (video wait, long transcription) was cancelled; ``partial`` holds what was done."""

    exit_code = 130

    def __init__(self, message: str = "Cancelled.", *, partial: Any = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.partial = partial


def __getattr__(name: str) -> Any:
    """``OperationCancelled``: the earlier name of ``OperationCancelledError``, with a ``DeprecationWarning``."""
    if name != "OperationCancelled":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import warnings

    warnings.warn(f"{name} is deprecated; use OperationCancelledError.", DeprecationWarning, stacklevel=2)
    return OperationCancelledError


class APIStatusError(GLMError):
    """The API answered with an error status.

    Attributes:
        status_code: the HTTP status.
        code: Z.AI's business code (a string such as ``"1302"``), when the body had one.
        request_id: the id of the request, for support.
        body: the decoded error body.
        retryable: whether the retry policy retries this error.
    """

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str | None = None,
        request_id: str | None = None,
        body: Any = None,
        hint: str | None = None,
        retryable: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status_code = status_code
        self.code = code
        self.request_id = request_id
        self.body = body
        self.retryable = retryable
        self.headers = headers or {}

    def __str__(self) -> str:
        where = f"HTTP {self.status_code}" + (f", code {self.code}" if self.code else "")
        return f"{self.message} ({where})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code}, code={self.code!r}, message={self.message!r})"


class BadRequestError(APIStatusError):
    """The request was malformed or named something that does not exist (400; 1200-1231, 1261)."""

    exit_code = 2


class ContentFilterError(BadRequestError):
    """The input or output was blocked as unsafe (1300, 1301), or a stream ended with ``sensitive``."""

    partial: Any = None
    """For a stream stopped by the filter: what arrived before it (a ``ChatCompletion``)."""


class AuthenticationError(APIStatusError):
    """The key was missing, invalid or expired (401; 1000-1004)."""

    exit_code = 3


class PermissionDeniedError(APIStatusError):
    """The key has no permission for this API (403, 434; 1220)."""

    exit_code = 3


class NotFoundError(APIStatusError):
    """The model, API or task does not exist (404; 1211, 1222)."""

    exit_code = 2


class RateLimitError(APIStatusError):
    """Requests are too frequent; waiting helps (429; 1303, 1305, 1312). Retried with backoff."""

    exit_code = 4


class ConcurrencyLimitError(RateLimitError):
    """Too many requests in flight for this plan (1302). Retried; the gateway queues instead."""


class QuotaExceededError(APIStatusError):
    """A quota is spent (1304, 1308-1311, 1313): waiting a few seconds does not help, so it is never retried.

    ``resets_at`` is the reset time when the message names one.
    """

    exit_code = 4

    @property
    def resets_at(self) -> _dt.datetime | None:
        """When the spent window resets, if the message says so."""
        return parse_reset_time(self.message)


class InsufficientBalanceError(QuotaExceededError):
    """The account balance is spent (1113). A Coding Plan key used on the general endpoint gets this."""


class AccountError(APIStatusError):
    """The account is inactive, missing or locked (1100-1121)."""

    exit_code = 3


class InternalServerError(APIStatusError):
    """The server failed (500; 1230, 1234). Retried with backoff."""

    exit_code = 5


# The classes ``data/errors.toml`` names: every APIStatusError of this module.
_CLASSES: dict[str, type[APIStatusError]] = {
    name: cls for name, cls in list(globals().items()) if isinstance(cls, type) and issubclass(cls, APIStatusError)
}


@dataclass(frozen=True, slots=True)
class CodeRow:
    """One row of the business-code table."""

    code: str | None
    cls: type[APIStatusError]
    status: int
    retry: str  # "yes" | "no" | "refresh"
    quota: bool
    message: str | None
    hint: str | None

    @property
    def retryable(self) -> bool:
        """Whether backoff-and-retry can help."""
        return self.retry == "yes"


def _row(code: str | None, raw: dict[str, Any], status: int) -> CodeRow:
    return CodeRow(
        code=code,
        cls=_CLASSES[raw["class"]],
        status=int(raw.get("status", status)),
        retry=raw.get("retry", "no"),
        quota=raw.get("kind") == "quota",
        message=raw.get("message"),
        hint=raw.get("hint"),
    )


def lookup(status: int, code: str | int | None) -> CodeRow:
    """The table row for a business code, falling back to the HTTP status, then to the status family."""
    from glmkit import data

    table = data.load("errors")
    if code is not None and str(code) in table["codes"]:
        return _row(str(code), table["codes"][str(code)], status)
    by_status = table["status"]
    if str(status) in by_status:
        return _row(None if code is None else str(code), by_status[str(status)], status)
    family = "InternalServerError" if status >= 500 else "APIStatusError"
    return _row(
        None if code is None else str(code), {"class": family, "retry": "yes" if status >= 500 else "no"}, status
    )


def code_row(code: str | int) -> CodeRow:
    """The row of a known business code (``KeyError`` if unknown). Used by the emulator and gateway."""
    from glmkit import data

    raw = data.load("errors")["codes"][str(code)]
    return _row(str(code), raw, int(raw["status"]))


def parse_error_body(body: Any) -> tuple[str | None, str | None]:
    """Pull (business code, message) out of any of the error envelopes Z.AI uses."""
    if not isinstance(body, dict):
        return None, None
    err = body.get("error")
    if isinstance(err, dict):
        code = err.get("code")
        return (None if code is None else str(code)), err.get("message")
    if "code" in body and ("msg" in body or "message" in body):  # monitor envelope
        return str(body["code"]), body.get("msg") or body.get("message")
    return None, body.get("message") if isinstance(body.get("message"), str) else None


def make_status_error(
    status: int,
    body: Any,
    *,
    request_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> APIStatusError:
    """Build the right exception for an error response."""
    code, message = parse_error_body(body)
    row = lookup(status, code)
    text = message or row.message or f"HTTP {status}"
    hint = row.hint
    if row.quota and (reset := parse_reset_time(text)) is not None:
        hint = f"{hint or 'The quota is spent.'} It resets at {reset:%Y-%m-%d %H:%M}."
    return row.cls(
        text,
        status_code=status,
        code=code,
        request_id=request_id,
        body=body,
        hint=hint,
        retryable=row.retryable,
        headers=headers,
    )


_RESET = re.compile(r"(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?)")


def parse_reset_time(message: str) -> _dt.datetime | None:
    """Find a ``2026-08-25 07:41:44``-style reset time in an error message."""
    m = _RESET.search(message or "")
    if not m:
        return None
    try:
        return _dt.datetime.fromisoformat(m.group(1).replace("T", " "))
    except ValueError:
        return None


def redact(secret: str | None) -> str:
    """Show a secret as ``abc…xyz`` at most (nothing for short ones)."""
    if not secret:
        return ""
    if len(secret) < 12:
        return "…"
    return f"{secret[:3]}…{secret[-3:]}"
