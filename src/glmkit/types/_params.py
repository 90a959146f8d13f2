"""Per-call options every ``...Params`` TypedDict accepts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from typing_extensions import TypedDict


class RequestOptions(TypedDict, total=False):
    """Options for one call, beside the API's own fields."""

    extra_headers: Mapping[str, str]
    """Headers added to this request."""
    extra_body: Mapping[str, Any]
    """Fields merged into the JSON body (for fields the API has and glmkit does not know yet)."""
    extra_query: Mapping[str, Any]
    """Query parameters added to this request."""
    timeout: float
    """Seconds for this request (overrides the client's)."""
    max_retries: int
    """Retries for this request (overrides the client's)."""
