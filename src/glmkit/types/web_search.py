"""Web search: ``POST {base}/web_search`` (reference §7) and the ``webSearchPrime`` MCP tool (§14.4)."""

from __future__ import annotations

from typing import Any, Literal, Required, get_args

import pydantic

from glmkit.types._base import Endpoint
from glmkit.types._model import Model
from glmkit.types._params import RequestOptions

WEB_SEARCH = Endpoint("POST", "/web_search", "general")

SEARCH_ENGINES = ("search-prime",)
"""Engines on api.z.ai (``search-prime`` is the only documented value)."""
MAINLAND_SEARCH_ENGINES = ("search_std", "search_pro", "search_pro_sogou", "search_pro_quark")
"""Engines on open.bigmodel.cn ([3P] zai-rs)."""
RecencyFilter = Literal["oneDay", "oneWeek", "oneMonth", "oneYear", "noLimit"]
ContentSize = Literal["medium", "high"]
Location = Literal["cn", "us"]
RECENCY_FILTERS: tuple[str, ...] = get_args(RecencyFilter)
CONTENT_SIZES: tuple[str, ...] = get_args(ContentSize)
LOCATIONS: tuple[str, ...] = get_args(Location)
COUNT_RANGE = (1, 50)
MAINLAND_QUERY_MAX = 70
"""The mainland API caps the query at 70 characters ([3P] zai-rs); api.z.ai documents no cap."""


class WebSearchParams(RequestOptions, total=False):
    """The body of ``POST /web_search``."""

    search_query: Required[str]
    """What to search for."""
    search_engine: str
    """``search-prime`` (the default; required by the API, glmkit fills it in)."""
    count: int
    """How many results, 1-50 (the API's default is 10)."""
    search_domain_filter: str
    """Only results from this one domain, e.g. ``www.example.com`` (no scheme, no path)."""
    search_recency_filter: RecencyFilter
    """``oneDay``, ``oneWeek``, ``oneMonth``, ``oneYear`` or ``noLimit`` (default)."""
    content_size: ContentSize
    """How much page text each result carries (SDK extra; UNVERIFIED on api.z.ai)."""
    search_intent: bool
    """Also return the recognised search intent (SDK extra)."""
    include_image: bool
    """Also return images per result (SDK extra)."""
    location: Location
    """Region hint; only the ``webSearchPrime`` MCP tool takes it (dropped from the REST body)."""
    sensitive_word_check: dict[str, Any]
    request_id: str
    """6-64 characters; the platform makes one when absent."""
    user_id: str
    """6-128 characters."""


MCP_SEARCH_ARGUMENTS = (
    "search_query",
    "count",
    "content_size",
    "location",
    "search_domain_filter",
    "search_recency_filter",
)
"""The REST fields the ``webSearchPrime`` MCP tool takes (beyond ``search_query`` UNVERIFIED, reference §14.4)."""


def _as_list(value: Any) -> Any:
    """The SDK types these fields as one object while the docs say arrays: accept both, keep lists."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


class SearchIntent(Model):
    """What the engine understood the query to mean."""

    query: str | None = None
    intent: str | None = None
    keywords: str | None = None


class SearchResult(Model):
    """One hit."""

    title: str = ""
    content: str = ""
    """A text snippet (longer with ``content_size='high'``)."""
    link: str = ""
    media: str | None = None
    """The site's name."""
    icon: str | None = None
    refer: str | None = None
    """A reference tag such as ``ref_1``."""
    publish_date: str | None = None
    images: list[str] | None = None


class WebSearchResponse(Model):
    """The answer of ``POST /web_search`` (or of the ``webSearchPrime`` MCP tool, with the same results)."""

    id: str | None = None
    created: int | None = None
    request_id: str | None = None
    search_intent: list[SearchIntent] = pydantic.Field(default_factory=list)
    search_result: list[SearchResult] = pydantic.Field(default_factory=list)

    _served_by: str = pydantic.PrivateAttr(default="rest")

    _wrap = pydantic.field_validator("search_intent", "search_result", mode="before")(_as_list)

    @property
    def served_by(self) -> str:
        """``rest`` (``POST /web_search``) or ``mcp`` (the Coding Plan's ``web-search-prime`` server)."""
        return self._served_by
