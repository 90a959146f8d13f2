"""``client.reader.read(url)``: a web page as markdown, with the Coding Plan's MCP server as a fallback.

The same routing as ``web_search`` (see its module docstring): REST ``POST /reader`` first, the
``web-reader`` MCP server on 1113 or straight away for a plan-only profile.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from typing_extensions import Unpack

from glmkit._errors import APIResponseValidationError, InputError
from glmkit._remote_mcp import MCPFlow, RemoteMCP, adrive, drive, rest_or_mcp
from glmkit._resource import AsyncResource, SyncResource
from glmkit._transport import Call, split_options, with_options
from glmkit.resources.web_search import check_bools, check_ids
from glmkit.types import JSONObject
from glmkit.types.reader import (
    MCP_READER_ARGUMENTS,
    READER,
    READER_FLAGS,
    RETURN_FORMATS,
    ReaderOptions,
    ReaderParams,
    ReaderResponse,
)

if TYPE_CHECKING:
    from glmkit._client import AsyncClient, Client

__all__ = ["AsyncReader", "Reader", "reader_call"]


def prepare_reader(params: dict[str, Any]) -> JSONObject:
    """Check a reader request (reference §8). Returns the body."""
    url = params.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(f"url must be an http(s) URL of a page (got {url!r}).", hint="e.g. https://docs.z.ai/")
    timeout = params.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0):
        raise InputError(
            f"timeout (the reader's fetch time) must be a positive whole number of seconds (got {timeout!r})."
        )
    fmt = params.get("return_format")
    if fmt is not None and fmt not in RETURN_FORMATS:
        raise InputError(f"return_format must be one of {', '.join(RETURN_FORMATS)} (got {fmt!r}).")
    check_bools(params, READER_FLAGS)
    check_ids(params)
    return dict(params)


def reader_call(params: dict[str, Any]) -> tuple[Call[ReaderResponse], JSONObject]:
    """The REST ``Call`` and the ``webReader`` arguments for one page.

    ``timeout`` here is the API's fetch timeout (a body field); the HTTP timeout of the call is
    ``request_timeout``.
    """
    params = dict(params)
    request_timeout = params.pop("request_timeout", None)
    fetch_timeout = params.pop("timeout", None)
    options = split_options(params)
    if request_timeout is not None:
        options["timeout"] = request_timeout
    if fetch_timeout is not None:
        params["timeout"] = fetch_timeout
    body = prepare_reader(params)
    arguments = {k: body[k] for k in MCP_READER_ARGUMENTS if k in body}
    call = with_options(Call(READER, json=body, parse=ReaderResponse.model_validate_json), options)
    return call, arguments


def _from_mcp(url: str) -> Any:
    def convert(value: Any) -> ReaderResponse:
        if isinstance(value, dict) and isinstance(value.get("reader_result"), dict):
            response = ReaderResponse.model_validate(value)
        elif isinstance(value, dict):
            response = ReaderResponse.model_validate({"reader_result": {"url": url, **value}})
        elif isinstance(value, str):
            # the reference does not fix webReader's text: plain markdown is taken as the content
            response = ReaderResponse.model_validate({"reader_result": {"url": url, "content": value}})
        else:
            raise APIResponseValidationError(f"The web-reader MCP server answered an unexpected value: {value!r:.200}")
        response._served_by = "mcp"
        return response

    return convert


def read_flow(
    client: Client | AsyncClient, mcp: RemoteMCP, url: Any, params: Mapping[str, Any]
) -> MCPFlow[ReaderResponse]:
    """Check a read (nothing is sent yet); the flow that sends it by REST or through MCP."""
    call, arguments = reader_call({**params, "url": url})
    return rest_or_mcp(client.settings, call, mcp, "webReader", arguments, _from_mcp(url))


class Reader(SyncResource):
    """``client.reader``."""

    def __init__(self, client: Client) -> None:
        super().__init__(client)
        self._mcp = RemoteMCP("web_reader")

    def read(self, url: str, **params: Unpack[ReaderOptions]) -> ReaderResponse:
        """Fetch a page as markdown or text (``POST /reader``; the MCP server for Coding-Plan-only keys).

        ``timeout`` is the reader's fetch timeout in seconds (an API field); pass ``request_timeout`` for
        the HTTP timeout.

        Raises:
            InputError: a bad URL or option (before anything is sent).
        """
        return drive(self._client, read_flow(self._client, self._mcp, url, params))

    def create(self, **params: Unpack[ReaderParams]) -> ReaderResponse:
        """``read`` with every field as a keyword, like the API body."""
        rest = dict(params)
        flow = read_flow(self._client, self._mcp, rest.pop("url", None), rest)
        return drive(self._client, flow)


class AsyncReader(AsyncResource):
    """``client.reader`` on ``AsyncClient``."""

    def __init__(self, client: AsyncClient) -> None:
        super().__init__(client)
        self._mcp = RemoteMCP("web_reader")

    async def read(self, url: str, **params: Unpack[ReaderOptions]) -> ReaderResponse:
        """Fetch a page as markdown or text (see ``Reader.read``)."""
        return await adrive(self._client, read_flow(self._client, self._mcp, url, params))

    async def create(self, **params: Unpack[ReaderParams]) -> ReaderResponse:
        """``read`` with every field as a keyword, like the API body."""
        rest = dict(params)
        flow = read_flow(self._client, self._mcp, rest.pop("url", None), rest)
        return await adrive(self._client, flow)
