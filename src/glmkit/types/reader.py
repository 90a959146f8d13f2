"""Web reader: ``POST {base}/reader`` (reference §8) and the ``webReader`` MCP tool (§14.4)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Required, get_args

import pydantic
from typing_extensions import TypedDict

from glmkit.types._base import Endpoint
from glmkit.types._model import Model

READER = Endpoint("POST", "/reader", "general")
ReturnFormat = Literal["markdown", "text"]
RETURN_FORMATS: tuple[str, ...] = get_args(ReturnFormat)
READER_FLAGS = (
    "no_cache",
    "retain_images",
    "no_gfm",
    "keep_img_data_url",
    "with_images_summary",
    "with_links_summary",
)
"""The reader's boolean options."""

MCP_READER_ARGUMENTS = ("url", "timeout", "return_format", *READER_FLAGS)
"""The REST fields the ``webReader`` MCP tool takes (beyond ``url`` UNVERIFIED, reference §14.4)."""


class ReaderOptions(TypedDict, total=False):
    """``client.reader.read(url, ...)``: the body of ``POST /reader`` but the URL, plus per-call options
    (``timeout`` here is the API's fetch timeout)."""

    timeout: int
    """Seconds the reader may spend fetching the page (API default 20)."""
    no_cache: bool
    """Fetch afresh instead of from Z.AI's cache (default false)."""
    return_format: ReturnFormat
    """``markdown`` (default) or ``text``."""
    retain_images: bool
    """Keep images in the content (default **true**)."""
    no_gfm: bool
    """Plain markdown instead of GitHub-flavoured (default false)."""
    keep_img_data_url: bool
    """Keep inline ``data:`` image URLs (default false)."""
    with_images_summary: bool
    """Also return the page's images as ``{alt: url}`` (default false)."""
    with_links_summary: bool
    """Also return the page's links as ``{text: url}`` (default false)."""
    request_id: str
    user_id: str
    request_timeout: float
    """Seconds for the HTTP call (the other resources' ``timeout`` option)."""
    max_retries: int
    extra_headers: Mapping[str, str]
    extra_body: Mapping[str, Any]
    extra_query: Mapping[str, Any]


class ReaderParams(ReaderOptions, total=False):
    """The body of ``POST /reader``, plus per-call options (``timeout`` here is the API's fetch timeout)."""

    url: Required[str]
    """The page to fetch (http or https)."""


class ReaderResult(Model):
    """The page as read."""

    title: str | None = None
    description: str | None = None
    url: str | None = None
    content: str = ""
    """The page in markdown (or text)."""
    published_time: str | None = pydantic.Field(default=None, alias="publishedTime")
    metadata: dict[str, Any] | None = None
    external: dict[str, Any] | None = None
    images: dict[str, str] | None = None
    links: dict[str, str] | None = None


class ReaderResponse(Model):
    """The answer of ``POST /reader`` (or of the ``webReader`` MCP tool, with the same ``reader_result``)."""

    id: str | None = None
    created: int | None = None
    request_id: str | None = None
    model: str | None = None
    reader_result: ReaderResult

    _served_by: str = pydantic.PrivateAttr(default="rest")

    @property
    def served_by(self) -> str:
        """``rest`` (``POST /reader``) or ``mcp`` (the Coding Plan's ``web-reader`` server)."""
        return self._served_by

    @property
    def content(self) -> str:
        """The page's content (``reader_result.content``)."""
        return self.reader_result.content
