"""``client.layout_parsing.create(model="glm-ocr", file=...)``: OCR and layout of a PDF or an image.

``file`` is a URL, a path, bytes, a file object or base64. Local files are checked before anything is
sent (``glmkit.media``, limits in ``data/limits.toml`` ``[ocr]``): PDF, PNG or JPEG only, images up to
10 MB, PDFs up to 50 MB. A PDF with more pages than one request takes (100, the GLM-OCR guide's figure;
the API page says 30, so requests above 30 pages warn) is parsed in page ranges with the API's own
``start_page_id``/``end_page_id`` and the results joined in page order; ``on_progress`` hears each range,
``cancel`` stops between ranges with ``OperationCancelledError`` whose ``partial`` holds the pages done.
URLs are passed through unchecked (the file is not downloaded).
"""

from __future__ import annotations

import base64
import warnings
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Required

from typing_extensions import Unpack

from glmkit._errors import InputError, InsufficientBalanceError, OperationCancelledError
from glmkit._flows import Request
from glmkit._remote_mcp import adrive, drive
from glmkit._resource import AsyncResource, SyncResource
from glmkit._transport import Call, split_options, with_options
from glmkit.resources.web_search import check_bools, check_ids
from glmkit.types.ocr import LAYOUT_PARSING, OCR_MODELS, LayoutParsingOptions, LayoutParsingResult

__all__ = ["AsyncLayoutParsing", "LayoutParsing", "OCRParams", "OCRPlan", "OCRProgress", "plan_ocr"]

_FLAGS = ("return_crop_images", "need_layout_visualization")
_NO_PIXEL_CAP = 1 << 30  # the reference gives OCR images a byte limit only


@dataclass(frozen=True)
class OCRProgress:
    """Where a (possibly split) OCR job is: pages done of the pages asked for, ranges done of the ranges."""

    pages_done: int
    pages_total: int
    ranges_done: int
    ranges_total: int
    last_range: tuple[int, int] | None


@dataclass(frozen=True)
class OCRPlan:
    """What will be sent: the body (``file`` filled in) and the page ranges (``None``: one plain request)."""

    body: dict[str, Any]
    options: dict[str, Any]
    pages: int | None
    ranges: list[tuple[int, int]] | None


def _limits() -> dict[str, Any]:
    from glmkit.media import limits

    return limits("ocr")


def _page_arg(params: dict[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise InputError(f"{name} must be a page number of 1 or more (got {value!r}).")
    return value


def _checked_file(source: Any, lim: dict[str, Any]) -> tuple[str, int | None]:
    """The ``file`` field to send and, for a local PDF, its page count."""
    from glmkit.media import check_image, check_pdf, load_input, sniff_format

    item = load_input(source)
    if item.url is not None:
        return item.url, None
    formats = lim["formats"]
    kind = item.extension or (sniff_format(item.data) if item.data else None)
    if kind is None:
        raise InputError(
            f"{item.label} is not a PDF, PNG or JPEG file (its first bytes match none of them).",
            hint="The file may be empty, corrupt or mislabeled; GLM-OCR reads PDF, PNG and JPEG.",
        )
    if kind not in formats:
        raise InputError(
            f"{item.label}: GLM-OCR reads {', '.join(formats)} files, not {kind}.",
            hint="Convert it to PDF, PNG or JPEG (e.g. print to PDF).",
        )
    if kind == "pdf":
        info = check_pdf(item, max_pages=0)
        return base64.b64encode(info.data).decode("ascii"), info.pages
    image = check_image(
        item,
        formats=[f for f in formats if f != "pdf"],
        max_bytes=lim["image_max_bytes"],
        max_width=_NO_PIXEL_CAP,
        max_height=_NO_PIXEL_CAP,
        what="GLM-OCR",
    )
    return base64.b64encode(image.data).decode("ascii"), None


def plan_ocr(params: dict[str, Any], *, split: bool = True, pages_per_request: int | None = None) -> OCRPlan:
    """Check an OCR request and plan its page ranges (nothing is sent).

    Raises:
        InputError: a wrong format, an oversized or corrupt file, a bad page range, or (with
            ``split=False``) more pages than one request takes.
    """
    params = dict(params)
    options = split_options(params)
    lim = _limits()
    model = str(params.get("model") or OCR_MODELS[0]).lower()
    if model not in OCR_MODELS:
        raise InputError(f"{model!r} does not do OCR; use model='glm-ocr'.")
    if params.get("file") in (None, "", b""):
        raise InputError("file is required: a URL, a path, bytes or base64 of a PDF, PNG or JPEG.")
    check_bools(params, _FLAGS)
    check_ids(params)
    start, end = _page_arg(params, "start_page_id"), _page_arg(params, "end_page_id")
    if start and end and start > end:
        raise InputError(f"start_page_id ({start}) is after end_page_id ({end}).")
    per = pages_per_request or lim["pdf_max_pages"]
    if isinstance(per, bool) or not isinstance(per, int) or not 1 <= per <= lim["pdf_max_pages"]:
        raise InputError(f"pages_per_request must be from 1 to {lim['pdf_max_pages']} (got {per!r}).")
    body = {**params, "model": model}
    body["file"], pages = _checked_file(params["file"], lim)
    if pages is None:
        return OCRPlan(body, options, None, None)
    first, last = start or 1, end or pages
    if last > pages:
        raise InputError(f"end_page_id is {last} but the PDF has {pages} pages.", hint=f"Use at most {pages}.")
    if first > pages:
        raise InputError(f"start_page_id is {first} but the PDF has {pages} pages.")
    wanted = last - first + 1
    if wanted <= per:
        _warn_pages(wanted, lim)
        return OCRPlan(body, options, pages, None)
    if not split:
        raise InputError(
            f"The PDF asks for {wanted} pages; GLM-OCR takes at most {per} pages per request.",
            hint="Leave split=True to parse it in page ranges, or pass start_page_id/end_page_id.",
        )
    ranges = [(a, min(a + per - 1, last)) for a in range(first, last + 1, per)]
    _warn_pages(max(b - a + 1 for a, b in ranges), lim)
    return OCRPlan(body, options, pages, ranges)


def _warn_pages(pages: int, lim: dict[str, Any]) -> None:
    if pages > lim["pdf_warn_pages"]:
        warnings.warn(
            f"Sending {pages} PDF pages in one GLM-OCR request: the API page says {lim['pdf_warn_pages']} pages, "
            f"the GLM-OCR guide {lim['pdf_max_pages']}. If the API refuses, pass pages_per_request="
            f"{lim['pdf_warn_pages']}.",
            UserWarning,
            stacklevel=5,  # _warn_pages, plan_ocr, create_flow, create: the caller of create
        )


def _call(body: dict[str, Any], options: dict[str, Any]) -> Call[LayoutParsingResult]:
    return with_options(Call(LAYOUT_PARSING, json=body, parse=LayoutParsingResult.model_validate_json), options)


def _send(call: Call[LayoutParsingResult]) -> Generator[Request, LayoutParsingResult, LayoutParsingResult]:
    """One request; a 1113 gets a hint fit for OCR (reference §15.15: OCR is a balance-billed model, UNVERIFIED)."""
    try:
        answer = yield Request(call)
        return answer
    except InsufficientBalanceError as exc:
        exc.hint = "GLM-OCR bills account balance (no Coding Plan page lists it): recharge at z.ai."
        raise


def _cancelled(cancel: Any) -> bool:
    if cancel is None:
        return False
    if hasattr(cancel, "is_set"):
        return bool(cancel.is_set())
    return bool(cancel())


def join_results(parts: list[LayoutParsingResult], pages: int | None = None) -> LayoutParsingResult:
    """One result from the results of consecutive page ranges, in order (usage summed)."""
    first = parts[0]
    if len(parts) == 1:
        return first
    usage: dict[str, Any] = {}
    for part in parts:
        for key, value in (part.usage or {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                usage[key] = usage.get(key, 0) + value
    page_sizes = [p for part in parts for p in (part.data_info.pages if part.data_info else [])]
    data = {
        **first.to_dict(),
        "md_results": "\n\n".join(p.md_results.strip("\n") for p in parts),
        "layout_details": [[e.to_dict() for e in page] for p in parts for page in p.layout_details],
        "layout_visualization": [url for p in parts for url in p.layout_visualization],
        "data_info": {"num_pages": pages or len(page_sizes), "pages": [p.to_dict() for p in page_sizes]},
        "usage": usage or None,
    }
    return LayoutParsingResult.model_validate(data)


def ocr_flow(
    plan: OCRPlan, on_progress: Callable[[OCRProgress], Any] | None = None, cancel: Any = None
) -> Generator[Request, LayoutParsingResult, LayoutParsingResult]:
    """The requests of a plan, one per page range, joined in order; written once for sync and async."""
    if plan.ranges is None:
        return (yield from _send(_call(plan.body, plan.options)))
    total = sum(b - a + 1 for a, b in plan.ranges)
    parts: list[LayoutParsingResult] = []
    done = 0
    for i, (a, b) in enumerate(plan.ranges):
        if _cancelled(cancel):
            raise OperationCancelledError(
                f"OCR cancelled after {done} of {total} pages.",
                partial=join_results(parts, done) if parts else None,
                hint="partial holds the pages parsed so far.",
            )
        parts.append((yield from _send(_call({**plan.body, "start_page_id": a, "end_page_id": b}, plan.options))))
        done += b - a + 1
        if on_progress is not None:
            on_progress(OCRProgress(done, total, i + 1, len(plan.ranges), (a, b)))
    return join_results(parts, total)


class OCRParams(LayoutParsingOptions, total=False):
    """What ``layout_parsing.create`` takes: the API's fields, ``file`` in any local form, and how to split."""

    file: Required[Any]
    """A URL, a path, bytes, a file object, or base64 of a PDF, PNG or JPEG."""
    model: str
    """``glm-ocr`` (the default)."""
    on_progress: Callable[[OCRProgress], Any]
    """Called with an ``OCRProgress`` after each page range of a split PDF."""
    cancel: Any
    """A ``threading.Event`` (or a callable returning True) checked between page ranges."""
    split: bool
    """Parse a PDF with more pages than one request takes in page ranges (default True; else InputError)."""
    pages_per_request: int
    """Pages per range (default and maximum from ``data/limits.toml``)."""


def create_flow(params: OCRParams) -> Generator[Request, LayoutParsingResult, LayoutParsingResult]:
    """Check ``create``'s arguments and plan the requests (nothing is sent yet); the flow that sends them."""
    p: dict[str, Any] = dict(params)
    on_progress, cancel = p.pop("on_progress", None), p.pop("cancel", None)
    split, per = p.pop("split", True), p.pop("pages_per_request", None)
    return ocr_flow(plan_ocr(p, split=split, pages_per_request=per), on_progress, cancel)


class LayoutParsing(SyncResource):
    """``client.layout_parsing``: GLM-OCR."""

    def create(self, **params: Unpack[OCRParams]) -> LayoutParsingResult:
        """Parse a PDF or image into markdown and page layouts (``POST /layout_parsing``).

        ``file`` is required; the other arguments are ``OCRParams``: ``model``, ``return_crop_images``,
        ``need_layout_visualization``, ``start_page_id``, ``end_page_id``, ``request_id``, ``user_id``,
        ``on_progress``, ``cancel``, ``split``, ``pages_per_request`` and the per-call options.

        Raises:
            InputError: a wrong format, an oversized or corrupt file (before anything is sent).
            OperationCancelledError: ``cancel`` was set; ``partial`` holds the pages parsed so far.
        """
        return drive(self._client, create_flow(params))


class AsyncLayoutParsing(AsyncResource):
    """``client.layout_parsing`` on ``AsyncClient`` (cancel with ``cancel=`` or an anyio cancel scope)."""

    async def create(self, **params: Unpack[OCRParams]) -> LayoutParsingResult:
        """Parse a PDF or image into markdown and page layouts (see ``LayoutParsing.create``)."""
        return await adrive(self._client, create_flow(params))
