"""``POST /web_search`` (reference §7): stable hits derived from the query, every filter honoured.

The same hits serve the ``webSearchPrime`` tool of the remote MCP emulator (``mcp_remote.py``), so a
REST answer and its MCP fallback carry identical results.

Plan-only keys get 1113 here (see ``balance.py``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from glmkit.emulator.admission import error_response
from glmkit.emulator.balance import billed_route
from glmkit.emulator.state import EmulatorState
from glmkit.types.web_search import (
    CONTENT_SIZES,
    COUNT_RANGE,
    MAINLAND_SEARCH_ENGINES,
    RECENCY_FILTERS,
    SEARCH_ENGINES,
)

_SITES = [
    ("Z.AI Docs", "docs.z.ai"),
    ("GitHub", "github.com"),
    ("Stack Overflow", "stackoverflow.com"),
    ("Wikipedia", "en.wikipedia.org"),
    ("Hacker News", "news.ycombinator.com"),
    ("Python.org", "www.python.org"),
    ("MDN", "developer.mozilla.org"),
    ("Medium", "medium.com"),
]
_RECENCY_DAYS = {"oneDay": 1, "oneWeek": 7, "oneMonth": 30, "oneYear": 365, "noLimit": 3650}


def _digest(*parts: Any) -> bytes:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()


def slug_of(query: str) -> str:
    """A URL path segment for a query: lowercase letters and digits joined by hyphens (``result`` when none)."""
    return re.sub(r"[^a-z0-9]+", "-", query.lower()).strip("-")[:48].strip("-") or "result"


def search_hits(args: dict[str, Any], today: dt.date) -> list[dict[str, Any]]:
    """The hits for a query: a pure function of the query, its filters and the day."""
    query = str(args["search_query"]).strip()
    count = int(args.get("count") or 10)
    domain = args.get("search_domain_filter")
    days = _RECENCY_DAYS[args.get("search_recency_filter") or "noLimit"]
    long = (args.get("content_size") or "medium") == "high"
    hits = []
    for n in range(1, count + 1):
        d = _digest(query, n)
        media, host = _SITES[d[0] % len(_SITES)]
        if domain:
            media, host = domain, domain
        slug = slug_of(query)
        content = f"{query}: result {n} explains {query} in context ({media}, {d[1] % 90 + 10} paragraphs)."
        if long:
            content += " " + " ".join(
                f"Section {i}: more detail on {query}, with examples and references." for i in range(1, 6)
            )
        hit: dict[str, Any] = {
            "title": f"{query} - {media} result {n}",
            "content": content,
            "link": f"https://{host}/{slug}/{d[2]:02x}{d[3]:02x}",
            "media": media,
            "icon": f"https://{host}/favicon.ico",
            "refer": f"ref_{n}",
            "publish_date": (today - dt.timedelta(days=(d[4] * 256 + d[5]) % days)).isoformat(),
        }
        if args.get("include_image"):
            hit["images"] = [f"https://{host}/images/{d[6]:02x}{d[7]:02x}.png"]
        hits.append(hit)
    return hits


def check_search(body: dict[str, Any]) -> Response | None:
    """The 400 the API gives for a missing or invalid field (``None`` when the body is fine)."""
    query = body.get("search_query")
    if not isinstance(query, str) or not query.strip():
        return error_response("1213", "The search_query field was not received properly")
    count = body.get("count")
    lo, hi = COUNT_RANGE
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or not lo <= count <= hi):
        return error_response("1214", f"count must be between {lo} and {hi}")
    recency = body.get("search_recency_filter")
    if recency is not None and recency not in RECENCY_FILTERS:
        return error_response("1214", f"search_recency_filter must be one of {', '.join(RECENCY_FILTERS)}")
    size = body.get("content_size")
    if size is not None and size not in CONTENT_SIZES:
        return error_response("1214", f"content_size must be one of {', '.join(CONTENT_SIZES)}")
    domain = body.get("search_domain_filter")
    if domain is not None and (not isinstance(domain, str) or "/" in domain or " " in domain):
        return error_response("1214", "search_domain_filter must be a domain name")
    return None


def today(state: EmulatorState) -> dt.date:
    """The emulator clock's date (UTC)."""
    return dt.datetime.fromtimestamp(state.now(), dt.UTC).date()


def answer(state: EmulatorState, request: Request, body: dict[str, Any]) -> Response:
    """The search results for an admitted request."""
    engine = body.get("search_engine")
    if not engine:
        return error_response("1213", "The search_engine field was not received properly")
    if engine not in SEARCH_ENGINES + MAINLAND_SEARCH_ENGINES:
        return error_response("1214", f"search_engine must be one of {', '.join(SEARCH_ENGINES)}")
    if (invalid := check_search(body)) is not None:
        return invalid
    rid = state.new_id("ws-")
    query = body["search_query"].strip()
    result: dict[str, Any] = {
        "id": rid,
        "created": state.now(),
        "request_id": body.get("request_id") or rid,
        "search_intent": [],
        "search_result": search_hits(body, today(state)),
    }
    if body.get("search_intent"):
        result["search_intent"] = [{"query": query, "intent": "SEARCH_ALWAYS", "keywords": query.lower()}]
    return JSONResponse(result)


def routes(state: EmulatorState) -> list[Route]:
    """The web search route."""
    return [billed_route(state, "/web_search", answer)]
