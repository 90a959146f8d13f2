"""``ocr``: GLM-OCR turns a PDF or an image into Markdown; long PDFs are parsed in page ranges and joined."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import Field

from glmkit.mcp_server.output import INLINE_MAX_CHARS, check_target, deliver
from glmkit.mcp_server.paths import megabytes, source
from glmkit.mcp_server.registry import tool
from glmkit.mcp_server.runtime import current_runtime, note, progress_reporter
from glmkit.media import limits

__all__ = ["ocr"]

_OCR = limits("ocr")


@tool("ocr")
async def ocr(
    file_source: Annotated[
        str,
        Field(
            description=f"A local PDF, PNG or JPEG (PDF up to {megabytes(_OCR['pdf_max_bytes'])}, image up to "
            f"{megabytes(_OCR['image_max_bytes'])}) or an http(s) URL of one.",
            min_length=1,
        ),
    ],
    start_page: Annotated[int | None, Field(description="Optional: first PDF page to read (1-based).", ge=1)] = None,
    end_page: Annotated[int | None, Field(description="Optional: last PDF page to read.", ge=1)] = None,
    save_to: Annotated[
        str | None,
        Field(
            description="Optional: write the whole Markdown to this file and return only a preview "
            "(for long documents)."
        ),
    ] = None,
    ctx: Context | None = None,
) -> str:
    """Read a scanned or digital document (PDF, or an image of a page) into Markdown with GLM-OCR.

    Keeps headings, tables (as HTML), formulas and reading order; long PDFs are read in page ranges. For text in
    an app or terminal screenshot, extract_text_from_screenshot is usually better.
    """
    params: dict[str, Any] = {}
    check_target(save_to)
    if start_page is not None:
        params["start_page_id"] = start_page
    if end_page is not None:
        params["end_page_id"] = end_page
    async with progress_reporter(ctx) as report:

        def on_progress(p: Any) -> None:
            report(p.pages_done, p.pages_total, f"{p.pages_done} of {p.pages_total} pages read")

        result = await current_runtime().client.layout_parsing.create(
            file=source(file_source), on_progress=on_progress, **params
        )
    usage = result.usage or {}
    note(
        model_requested="glm-ocr",
        model_used=result.model,
        input_tokens=int(usage.get("prompt_tokens") or 0),
        output_tokens=int(usage.get("completion_tokens") or 0),
        request_id=result.request_id or result.id,
    )
    markdown = (result.md_results or "").strip("\n")
    pages = result.data_info.num_pages if result.data_info and result.data_info.num_pages else None
    count = f"{pages} page{'s' if pages != 1 else ''}" if pages else ""
    if save_to or len(markdown) > INLINE_MAX_CHARS:
        what = f"Markdown ({count})" if count else "Markdown"
        return deliver(markdown, what=what, save_to=save_to, name=Path(file_source).stem or "ocr")
    head = f"({count})\n\n" if count else ""
    return head + (markdown if markdown.strip() else "(no text found)")
