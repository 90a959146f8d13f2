"""``web_search`` and ``web_read``: Z.AI's search engine and page reader (REST, or the plan's MCP servers).

The SDK picks the route (REST, or the Coding Plan's remote MCP server for plan-only keys) and checks
every filter; these tools only shape the answer for a model to read.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from glmkit.mcp_server.registry import tool
from glmkit.mcp_server.runtime import current_runtime, note
from glmkit.types.reader import RETURN_FORMATS
from glmkit.types.web_search import CONTENT_SIZES, COUNT_RANGE, RecencyFilter

__all__ = ["format_hits", "web_read", "web_search"]

_HIT_CHARS = 1500  # a longer hit is cut (and says so): ten hits stay readable in one answer


def format_hits(response: Any, query: str) -> str:
    """Search hits as a numbered Markdown list: title, link, date, source, then the text."""
    hits = list(response.search_result)
    if not hits:
        return f"No results for {query!r}. Try fewer or different words, or drop the filters."
    lines = [f"{len(hits)} results for {query!r}:", ""]
    for i, hit in enumerate(hits, 1):
        meta = " · ".join(x for x in (hit.media, hit.publish_date) if x)
        lines.append(f"{i}. **{hit.title or hit.link}**" + (f" ({meta})" if meta else ""))
        if hit.link:
            lines.append(f"   {hit.link}")
        text = " ".join((hit.content or "").split())
        if len(text) > _HIT_CHARS:
            text = text[:_HIT_CHARS] + " [...] (cut; use web_read on the link for the whole page)"
        if text:
            lines.append(f"   {text}")
        lines.append("")
    return "\n".join(lines).rstrip()


@tool("search")
async def web_search(
    search_query: Annotated[str, Field(description="What to search for, as you would type it.", min_length=1)],
    count: Annotated[int, Field(description="How many results (1-50).", ge=COUNT_RANGE[0], le=COUNT_RANGE[1])] = 10,
    search_domain_filter: Annotated[
        str | None, Field(description="Only results from this one domain, e.g. 'docs.python.org'.")
    ] = None,
    search_recency_filter: Annotated[
        RecencyFilter | None, Field(description="Only pages published within this period (default: no limit).")
    ] = None,
    content_size: Annotated[
        Literal[CONTENT_SIZES] | None,  # type: ignore[valid-type]
        Field(description="'medium' for short summaries (default), 'high' for longer extracts per result."),
    ] = None,
) -> str:
    """Search the web for current information: docs, release notes, error messages, news, APIs.

    Returns titles, links, dates and text extracts. Follow up with web_read on a link to read a whole page.
    """
    params: dict[str, Any] = {"search_query": search_query, "count": count}
    for name, value in (
        ("search_domain_filter", search_domain_filter),
        ("search_recency_filter", search_recency_filter),
        ("content_size", content_size),
    ):
        if value is not None:
            params[name] = value
    response = await current_runtime().client.web_search(**params)
    note(model_requested="search-prime", request_id=response.request_id or response.id)
    return format_hits(response, search_query)


@tool("reader")
async def web_read(
    url: Annotated[str, Field(description="The http(s) URL of the page to read.", min_length=1)],
    return_format: Annotated[
        Literal[RETURN_FORMATS],  # type: ignore[valid-type]
        Field(description="'markdown' keeps headings, lists, tables and links; 'text' is plain text."),
    ] = "markdown",
    with_links_summary: Annotated[bool, Field(description="Also list the page's links at the end.")] = False,
    no_cache: Annotated[bool, Field(description="Fetch the page fresh instead of from the reader's cache.")] = False,
    start_char: Annotated[
        int, Field(description="Where to start in the page text (to read on after a cut answer).", ge=0)
    ] = 0,
    max_chars: Annotated[
        int, Field(description="The most characters to return in this call.", ge=1000, le=200_000)
    ] = 40_000,
) -> str:
    """Read a web page (docs, README, article, issue) and return its main content as Markdown.

    Use after web_search, or for any URL you were given. Long pages come in pieces: the answer says where to
    continue with start_char.
    """
    params: dict[str, Any] = {"return_format": return_format}
    if with_links_summary:
        params["with_links_summary"] = True
    if no_cache:
        params["no_cache"] = True
    response = await current_runtime().client.reader.read(url, **params)
    note(request_id=response.request_id or response.id)
    return _page(response.reader_result, url, start_char, max_chars)


def _page(result: Any, url: str, start: int, size: int) -> str:
    content = result.content or ""
    head = [f"# {result.title}" if result.title else f"# {url}", f"URL: {result.url or url}"]
    if result.description:
        head.append(f"Description: {result.description}")
    piece = content[start : start + size]
    if start >= len(content) and content:
        return "\n".join(head) + f"\n\n(The page has {len(content)} characters; start_char={start} is past the end.)"
    body = piece
    if result.links:
        links = "\n".join(f"- {name}: {href}" for name, href in result.links.items())
        if start + size >= len(content):
            body += f"\n\n## Links\n{links}"
    end = start + len(piece)
    if start or end < len(content):
        more = f"; call web_read again with start_char={end} for the rest" if end < len(content) else ""
        head.append(f"(Characters {start}-{end} of {len(content)}{more}.)")
    return "\n".join(head) + "\n\n" + (body or "(the page has no readable text)")
