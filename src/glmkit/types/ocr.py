"""OCR / layout parsing with GLM-OCR: ``POST {base}/layout_parsing`` (reference §11)."""

from __future__ import annotations

from typing import Any, Literal, Required

import pydantic

from glmkit.types._base import Endpoint
from glmkit.types._model import Model
from glmkit.types._params import RequestOptions

LAYOUT_PARSING = Endpoint("POST", "/layout_parsing", "general")
OCR_MODELS = ("glm-ocr",)


class LayoutParsingOptions(RequestOptions, total=False):
    """The optional fields of ``POST /layout_parsing``, with the per-call options."""

    return_crop_images: bool
    """Also return crops of image regions (default false)."""
    need_layout_visualization: bool
    """Also return page images with the layout drawn (default false)."""
    start_page_id: int
    """First PDF page to parse (1-based)."""
    end_page_id: int
    """Last PDF page to parse (inclusive)."""
    request_id: str
    """6-64 characters."""
    user_id: str
    """6-128 characters."""


class LayoutParsingParams(LayoutParsingOptions, total=False):
    """The body of ``POST /layout_parsing`` (``file`` as the API takes it: a URL or base64 text)."""

    model: Required[str]
    """``glm-ocr``."""
    file: Required[str]
    """An http(s) URL, or the base64 of a PDF, JPG or PNG."""


class LayoutElement(Model):
    """One region of a page."""

    index: int | None = None
    label: Literal["image", "text", "formula", "table"] | str | None = None
    bbox_2d: list[float] | None = None
    """``[x1, y1, x2, y2]`` as fractions of the page (0-1)."""
    content: str | None = None
    """Text, an image URL, or table HTML."""
    width: int | None = None
    height: int | None = None


class PageSize(Model):
    width: int | None = None
    height: int | None = None


class DataInfo(Model):
    num_pages: int | None = None
    pages: list[PageSize] = pydantic.Field(default_factory=list)


class LayoutParsingResult(Model):
    """The answer: the document as markdown plus the layout of each page."""

    id: str
    created: int
    model: str
    md_results: str = ""
    """The whole document as markdown."""
    layout_details: list[list[LayoutElement]] = pydantic.Field(default_factory=list)
    """One list of regions per page, in page order."""
    layout_visualization: list[str] = pydantic.Field(default_factory=list)
    data_info: DataInfo | None = None
    usage: dict[str, Any] | None = None
    request_id: str | None = None

    @property
    def markdown(self) -> str:
        """The document as markdown (``md_results``)."""
        return self.md_results
