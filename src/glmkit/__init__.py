"""glmkit: the toolkit for Z.AI's GLM models.

``import glmkit`` loads almost nothing: the public names are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from glmkit._version import __version__

if TYPE_CHECKING:
    from glmkit._client import AsyncClient, Client
    from glmkit._errors import (
        AccountError,
        APIConnectionError,
        APIResponseValidationError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        ConcurrencyLimitError,
        ContentFilterError,
        GLMError,
        InputError,
        InsufficientBalanceError,
        InternalServerError,
        JobFailedError,
        JobTimeoutError,
        NotFoundError,
        OperationCancelledError,
        PermissionDeniedError,
        QuotaExceededError,
        RateLimitError,
        StreamError,
    )
    from glmkit.tools import Tool, tool
    from glmkit.types._base import NOT_GIVEN, NotGiven

_LAZY: dict[str, str] = {
    "Client": "glmkit._client",
    "AsyncClient": "glmkit._client",
    "NOT_GIVEN": "glmkit.types._base",
    "NotGiven": "glmkit.types._base",
    "Tool": "glmkit.tools",
    "tool": "glmkit.tools",
    **dict.fromkeys(
        (
            "AccountError",
            "APIConnectionError",
            "APIResponseValidationError",
            "APIStatusError",
            "APITimeoutError",
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
        ),
        "glmkit._errors",
    ),
}

# Earlier releases' names: still there, with a DeprecationWarning, and left out of __all__.
_DEPRECATED = {"OperationCancelled": "glmkit._errors"}

__all__ = sorted([*_LAZY, "__version__"])


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name) or _DEPRECATED.get(name)
    if module is None:
        raise AttributeError(f"module 'glmkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
