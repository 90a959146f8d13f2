"""``client.web_search(...)``: Z.AI's web search, with the Coding Plan's MCP server as a fallback.

REST ``POST /web_search`` bills account balance. A Coding Plan key without balance gets 1113 there,
while its plan covers the same search through the ``web-search-prime`` remote MCP server. So:

- profile ``plan = "plan-only"`` (or ``plan_only = true`` in the profile): straight to MCP;
- otherwise REST first, and on 1113 the same query through MCP, transparently, with the same typed
  results (``response.served_by`` says which answered). ``mcp_fallback = false`` in the profile turns
  the fallback off. ``plan = "coding"`` alone does not skip REST: a plan holder may also have balance.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from typing_extensions import Unpack

from glmkit._errors import InputError
from glmkit._remote_mcp import MCPFlow, RemoteMCP, adrive, drive, rest_or_mcp
from glmkit._resource import AsyncResource, SyncResource
from glmkit._transport import Call, split_options, with_options
from glmkit.types import JSONObject
from glmkit.types.web_search import (
    CONTENT_SIZES,
    COUNT_RANGE,
    LOCATIONS,
    MAINLAND_QUERY_MAX,
    MAINLAND_SEARCH_ENGINES,
    MCP_SEARCH_ARGUMENTS,
    RECENCY_FILTERS,
    SEARCH_ENGINES,
    WEB_SEARCH,
    WebSearchParams,
    WebSearchResponse,
)

if TYPE_CHECKING:
    from glmkit._client import AsyncClient, Client

__all__ = ["AsyncWebSearch", "WebSearch", "check_bools", "check_ids", "web_search_call"]

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}$")
_MCP_ONLY = ("location",)


def check_ids(params: Mapping[str, Any]) -> None:
    """``request_id`` and ``user_id`` lengths as every Z.AI endpoint documents them (``data/limits.toml`` ``[ids]``)."""
    from glmkit import data

    ids = data.load("limits")["ids"]
    for name in ("request_id", "user_id"):
        value = params.get(name)
        lo, hi = ids[f"{name}_chars"]
        if value is not None and (not isinstance(value, str) or not lo <= len(value) <= hi):
            raise InputError(f"{name} must be a string of {lo} to {hi} characters (got {value!r}).")


def check_bools(params: Mapping[str, Any], names: tuple[str, ...]) -> None:
    """Flags must be real booleans (the API rejects "true" strings)."""
    for name in names:
        if name in params and not isinstance(params[name], bool):
            raise InputError(f"{name} must be True or False (got {params[name]!r}).")


def _check_choice(params: Mapping[str, Any], name: str, choices: tuple[str, ...]) -> None:
    value = params.get(name)
    if value is not None and value not in choices:
        raise InputError(f"{name} must be one of {', '.join(choices)} (got {value!r}).")


def prepare_search(params: dict[str, Any], region: str = "international") -> JSONObject:
    """Check every documented filter (reference §7) and fill in ``search_engine``. Returns the full body."""
    body = dict(params)
    query = body.get("search_query")
    if not isinstance(query, str) or not query.strip():
        raise InputError("search_query is required: the text to search for.", hint='e.g. search_query="GLM-5 release"')
    if region == "mainland" and len(query) > MAINLAND_QUERY_MAX:
        raise InputError(
            f"search_query is {len(query)} characters; the mainland API takes at most {MAINLAND_QUERY_MAX}.",
            hint="Shorten the query.",
        )
    engines = MAINLAND_SEARCH_ENGINES if region == "mainland" else SEARCH_ENGINES
    engine = body.setdefault("search_engine", engines[0])
    if engine not in engines:
        raise InputError(
            f"search_engine {engine!r} is not available on the {region} API; use {', '.join(engines)}.",
            hint="Or leave search_engine out: glmkit picks the region's default.",
        )
    count = body.get("count")
    lo, hi = COUNT_RANGE
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or not lo <= count <= hi):
        raise InputError(f"count must be an integer from {lo} to {hi} (got {count!r}).")
    domain = body.get("search_domain_filter")
    if domain is not None and (not isinstance(domain, str) or not _DOMAIN.match(domain)):
        raise InputError(
            f"search_domain_filter must be one bare domain name (got {domain!r}).",
            hint="Give the host only, without scheme or path, e.g. www.example.com.",
        )
    _check_choice(body, "search_recency_filter", RECENCY_FILTERS)
    _check_choice(body, "content_size", CONTENT_SIZES)
    _check_choice(body, "location", LOCATIONS)
    check_bools(body, ("search_intent", "include_image"))
    check_ids(body)
    return body


def web_search_call(
    params: dict[str, Any], region: str = "international"
) -> tuple[Call[WebSearchResponse], JSONObject]:
    """The REST ``Call`` and the ``webSearchPrime`` arguments for one search (both checked)."""
    params = dict(params)
    options = split_options(params)
    body = prepare_search(params, region)
    arguments = {k: body[k] for k in MCP_SEARCH_ARGUMENTS if k in body}
    rest = {k: v for k, v in body.items() if k not in _MCP_ONLY}
    call = with_options(Call(WEB_SEARCH, json=rest, parse=WebSearchResponse.model_validate_json), options)
    return call, arguments


def from_mcp(value: Any) -> WebSearchResponse:
    """The ``webSearchPrime`` tool's decoded text (a list of hits, or a REST-shaped object) as the REST model."""
    if isinstance(value, dict) and ("search_result" in value or "search_intent" in value):
        response = WebSearchResponse.model_validate(value)
    elif isinstance(value, list | dict):
        response = WebSearchResponse.model_validate({"search_result": value})
    else:
        from glmkit._errors import APIResponseValidationError

        raise APIResponseValidationError(
            f"The web-search-prime MCP server answered text that is not a result list: {str(value)[:200]!r}"
        )
    response._served_by = "mcp"
    return response


def search_flow(client: Client | AsyncClient, mcp: RemoteMCP, params: Mapping[str, Any]) -> MCPFlow[WebSearchResponse]:
    """Check a search (nothing is sent yet); the flow that sends it by REST or through MCP."""
    call, arguments = web_search_call(dict(params), client.settings.region)
    return rest_or_mcp(client.settings, call, mcp, "webSearchPrime", arguments, from_mcp)


class WebSearch(SyncResource):
    """``client.web_search(search_query=...)``: call it, or use ``.create``."""

    def __init__(self, client: Client) -> None:
        super().__init__(client)
        self._mcp = RemoteMCP("web_search_prime")

    def create(self, **params: Unpack[WebSearchParams]) -> WebSearchResponse:
        """Search the web (``POST /web_search``; the MCP server for Coding-Plan-only keys).

        Raises:
            InputError: a filter is out of range (before anything is sent).
            InsufficientBalanceError: 1113 and the MCP fallback is off or refused the key.
        """
        return drive(self._client, search_flow(self._client, self._mcp, params))

    __call__ = create


class AsyncWebSearch(AsyncResource):
    """``await client.web_search(search_query=...)`` on ``AsyncClient``."""

    def __init__(self, client: AsyncClient) -> None:
        super().__init__(client)
        self._mcp = RemoteMCP("web_search_prime")

    async def create(self, **params: Unpack[WebSearchParams]) -> WebSearchResponse:
        """Search the web (``POST /web_search``; the MCP server for Coding-Plan-only keys)."""
        return await adrive(self._client, search_flow(self._client, self._mcp, params))

    __call__ = create
