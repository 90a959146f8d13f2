"""glmkit: the toolkit for Z.AI's GLM models.

``import glmkit`` loads almost nothing: the public names are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from glmkit._version import __version__

if TYPE_CHECKING:  # ``X as X``: the names are this package's exports (mypy's no_implicit_reexport)
    from glmkit._client import AsyncClient as AsyncClient
    from glmkit._client import Client as Client
    from glmkit._errors import (
        AccountError as AccountError,
    )
    from glmkit._errors import (
        APIConnectionError as APIConnectionError,
    )
    from glmkit._errors import (
        APIResponseValidationError as APIResponseValidationError,
    )
    from glmkit._errors import (
        APIStatusError as APIStatusError,
    )
    from glmkit._errors import (
        APITimeoutError as APITimeoutError,
    )
    from glmkit._errors import (
        AuthenticationError as AuthenticationError,
    )
    from glmkit._errors import (
        BadRequestError as BadRequestError,
    )
    from glmkit._errors import (
        ConcurrencyLimitError as ConcurrencyLimitError,
    )
    from glmkit._errors import (
        ContentFilterError as ContentFilterError,
    )
    from glmkit._errors import (
        GLMError as GLMError,
    )
    from glmkit._errors import (
        InputError as InputError,
    )
    from glmkit._errors import (
        InsufficientBalanceError as InsufficientBalanceError,
    )
    from glmkit._errors import (
        InternalServerError as InternalServerError,
    )
    from glmkit._errors import (
        JobFailedError as JobFailedError,
    )
    from glmkit._errors import (
        JobTimeoutError as JobTimeoutError,
    )
    from glmkit._errors import (
        NotFoundError as NotFoundError,
    )
    from glmkit._errors import (
        OperationCancelledError as OperationCancelledError,
    )
    from glmkit._errors import (
        PermissionDeniedError as PermissionDeniedError,
    )
    from glmkit._errors import (
        QuotaExceededError as QuotaExceededError,
    )
    from glmkit._errors import (
        RateLimitError as RateLimitError,
    )
    from glmkit._errors import (
        StreamError as StreamError,
    )
    from glmkit.tools import Tool as Tool
    from glmkit.tools import tool as tool
    from glmkit.types._base import NOT_GIVEN as NOT_GIVEN
    from glmkit.types._base import NotGiven as NotGiven

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
