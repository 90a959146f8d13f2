"""``POST /reader`` (reference §8): a stable page derived from the URL, every option honoured.

The same page serves the ``webReader`` tool of the remote MCP emulator. Plan-only keys get 1113 here
(see ``balance.py``). A host ending in ``.invalid`` cannot be fetched (1214), like a dead link.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from glmkit.emulator.admission import error_response
from glmkit.emulator.balance import billed_route
from glmkit.emulator.state import EmulatorState
from glmkit.types.reader import READER_FLAGS, RETURN_FORMATS


def _title(url: str) -> str:
    parts = urlsplit(url)
    words = [w for w in parts.path.replace("-", " ").replace("_", " ").split("/") if w.strip()]
    return (words[-1].strip().title() if words else parts.netloc) or url


def read_page(args: dict[str, Any]) -> dict[str, Any]:
    """The ``reader_result`` for a URL: a pure function of the URL and the options."""
    url = str(args["url"])
    host = urlsplit(url).netloc
    title = _title(url)
    d = hashlib.sha256(url.encode("utf-8")).hexdigest()
    image = f"https://{host}/static/figure-{d[:6]}.png"
    link = f"https://{host}/related/{d[6:12]}"
    markdown = bool((args.get("return_format") or "markdown") == "markdown")
    images = args.get("retain_images", True)
    lines = [f"# {title}" if markdown else title, "", f"This page at {url} is about {title} (digest {d[:8]})."]
    if images:
        lines += ["", f"![Figure 1]({image})" if markdown else f"Figure 1: {image}"]
        if args.get("keep_img_data_url"):
            lines += ["", "![pixel](data:image/png;base64,iVBORw0KGgo=)" if markdown else "pixel: data:image/png"]
    if markdown and not args.get("no_gfm"):
        lines += ["", "| key | value |", "| --- | --- |", f"| digest | {d[:8]} |"]
    else:
        lines += ["", f"digest: {d[:8]}"]
    lines += ["", f"[Related]({link})" if markdown else f"Related: {link}"]
    result: dict[str, Any] = {
        "title": title,
        "description": f"About {title}.",
        "url": url,
        "content": "\n".join(lines),
        "publishedTime": f"2026-{int(d[12:14], 16) % 12 + 1:02d}-{int(d[14:16], 16) % 28 + 1:02d}T08:00:00Z",
        "metadata": {"keywords": title.lower(), "viewport": "width=device-width", "description": f"About {title}."},
        "external": {"stylesheet": {f"https://{host}/style.css": {"type": "text/css"}}},
    }
    if args.get("with_images_summary"):
        result["images"] = {"Figure 1": image} if images else {}
    if args.get("with_links_summary"):
        result["links"] = {"Related": link}
    return result


def check_reader(body: dict[str, Any]) -> Response | None:
    """The 400 the API gives for a bad field, or the fetch failure (``None`` when fine)."""
    url = body.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or not url:
        return error_response("1213", "The url field was not received properly")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return error_response("1214", "url must be an http(s) URL")
    if parts.hostname and parts.hostname.endswith(".invalid"):
        return error_response("1214", f"Failed to fetch url: {url}")
    timeout = body.get("timeout")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | str) or not str(timeout).isdigit()
    ):
        return error_response("1214", "timeout must be a whole number of seconds")  # the SDK sends it as a string
    fmt = body.get("return_format")
    if fmt is not None and fmt not in RETURN_FORMATS:
        return error_response("1214", f"return_format must be one of {', '.join(RETURN_FORMATS)}")
    for flag in READER_FLAGS:
        if flag in body and not isinstance(body[flag], bool):
            return error_response("1214", f"{flag} must be a boolean")
    return None


def answer(state: EmulatorState, request: Request, body: dict[str, Any]) -> Response:
    """The page for an admitted request."""
    if (invalid := check_reader(body)) is not None:
        return invalid
    rid = state.new_id("rd-")
    return JSONResponse(
        {
            "id": rid,
            "created": state.now(),
            "request_id": body.get("request_id") or rid,
            "model": "reader",
            "reader_result": read_page(body),
        }
    )


def routes(state: EmulatorState) -> list[Route]:
    """The reader route."""
    return [billed_route(state, "/reader", answer)]
