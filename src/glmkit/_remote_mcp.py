"""A small MCP-over-HTTP client for Z.AI's remote MCP servers (reference §14.4, §17).

Coding Plan keys reach web search and the web reader only through the ``web-search-prime`` and
``web-reader`` MCP servers. This speaks just enough Streamable-HTTP MCP to call one tool, through the
client's own transport (same retries, auth and timeouts), without importing the ``mcp`` package:

1. ``initialize`` -> the server answers with an ``Mcp-Session-Id`` header, echoed on every later request;
   then the ``notifications/initialized`` notification.
2. ``tools/call`` -> a JSON-RPC result whose ``content[0].text`` is a JSON *string* (sometimes encoded twice).

Quirks handled (reference §14.4, §17): every POST must accept both ``application/json`` and
``text/event-stream``; replies come as plain JSON or as SSE ``data:`` lines; a call without a valid
session is answered with HTTP 200 carrying a JSON-RPC error ``-401`` (the issue's field report; the
reference does not give the message), which opens a new session once and then raises ``MCPSessionError``.
A tool error (``isError``) carrying a Z.AI business code (1302, 1310, ...) becomes that code's exception.

The protocol is one generator per operation (``RemoteMCP.call_tool``): it yields ``Exchange(call)``
steps, which ``drive`` / ``adrive`` answer with the client's sync or async transport.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from glmkit._errors import (
    APIResponseValidationError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    GLMError,
    make_status_error,
)
from glmkit._flows import Request, Sleep, drive_async, drive_sync
from glmkit._transport import Call
from glmkit._version import __version__
from glmkit.types._base import Endpoint

if TYPE_CHECKING:
    from glmkit._client import AsyncClient, Client

__all__ = [
    "MCP_SERVERS",
    "Exchange",
    "MCPSessionError",
    "RemoteMCP",
    "Reply",
    "adrive",
    "decode_json_text",
    "drive",
]

MCP_SERVERS = {
    "web_search_prime": Endpoint("POST", "/mcp/web_search_prime/mcp", "root"),
    "web_reader": Endpoint("POST", "/mcp/web_reader/mcp", "root"),
    "zread": Endpoint("POST", "/mcp/zread/mcp", "root"),
}
"""The remote servers below ``https://api.z.ai/api`` (reference §1.1, §14.4)."""

PROTOCOL_VERSION = "2025-06-18"
ACCEPT = "application/json, text/event-stream"
SESSION_HEADER = "Mcp-Session-Id"
SESSION_ERROR = -401
_BUSINESS_CODE = re.compile(r"\b(1[0-9]{3}|500)\b")


class MCPSessionError(AuthenticationError):
    """A remote MCP server refused a call for want of a valid session (JSON-RPC -401 inside HTTP 200)."""


@dataclass(frozen=True, slots=True)
class Exchange:
    """Send one request (with the transport's retries) and return the whole ``Reply``."""

    call: Call


@dataclass(frozen=True, slots=True)
class Reply:
    """An answered request: status, headers and body bytes."""

    status: int
    headers: Mapping[str, str]
    body: bytes


T = TypeVar("T")
MCPFlow = Generator[Exchange | Request | Sleep, Any, T]


def decode_json_text(text: str) -> Any:
    """The value in a tool's text item: JSON, possibly a JSON string holding JSON again; else the text itself."""
    value: Any = text
    for _ in range(3):
        if not isinstance(value, str):
            break
        stripped = value.strip()
        if not stripped or stripped[0] not in '[{"':
            break
        try:
            value = json.loads(stripped)
        except ValueError:
            break
    return value


def _messages(reply: Reply) -> list[dict[str, Any]]:
    """The JSON-RPC messages in a reply, whether plain JSON or SSE ``data:`` events."""
    ctype = reply.headers.get("content-type", "")
    if not reply.body.strip():
        return []
    try:
        if "text/event-stream" in ctype:
            from glmkit._sse import SSEDecoder

            decoder = SSEDecoder()
            events = decoder.feed(reply.body) + decoder.flush()
            raw = [e.json() for e in events if e.data.strip()]
        else:
            raw = [json.loads(reply.body)]
    except ValueError as exc:
        raise APIResponseValidationError(
            f"The MCP server answered something that is not JSON-RPC: {exc}",
            hint="Check the endpoint (`glm doctor`); report it with --debug output.",
        ) from exc
    out: list[dict[str, Any]] = []
    for item in raw:
        out.extend(m for m in (item if isinstance(item, list) else [item]) if isinstance(m, dict))
    return out


def _rpc_error(error: Mapping[str, Any], server: str) -> GLMError:
    code = error.get("code")
    message = str(error.get("message") or "error")
    if code == SESSION_ERROR:
        return MCPSessionError(
            f"The {server} MCP server refused the call: no valid session ({message}; JSON-RPC -401 in HTTP 200).",
            status_code=401,
            code=str(code),
            body=dict(error),
            hint="A remote MCP call needs `initialize` first and its Mcp-Session-Id header on every request "
            "(RemoteMCP.call_tool does both). If it persists, the key may have no GLM Coding Plan.",
        )
    business = _BUSINESS_CODE.search(message)
    if business:
        return _business_error(business.group(1), message)
    return BadRequestError(
        f"The {server} MCP server answered JSON-RPC error {code}: {message}", status_code=400, code=str(code)
    )


def _business_error(code: str, message: str) -> APIStatusError:
    from glmkit._errors import lookup

    row = lookup(400, code)
    return make_status_error(row.status, {"error": {"code": code, "message": message}})


def _tool_error(text: str, server: str, tool: str) -> GLMError:
    decoded = decode_json_text(text)
    if isinstance(decoded, dict) and isinstance(decoded.get("error"), dict):
        err = decoded["error"]
        return _business_error(str(err.get("code")), str(err.get("message") or text))
    business = _BUSINESS_CODE.search(text)
    if business:
        return _business_error(business.group(1), text.strip())
    return BadRequestError(f"The {server} MCP tool {tool} failed: {text.strip()[:500]}", status_code=400)


class RemoteMCP:
    """A session with one remote MCP server; ``call_tool`` opens it on first use and reopens it once if it expired.

    Safe to share between threads: a race costs at most one extra ``initialize``.
    """

    def __init__(self, server: str) -> None:
        self.server = server
        self.endpoint = MCP_SERVERS[server]
        self.session_id: str | None = None
        self.protocol_version = PROTOCOL_VERSION
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def _call(self, message: dict[str, Any], options: Mapping[str, Any]) -> Call:
        headers = {"Accept": ACCEPT, "MCP-Protocol-Version": self.protocol_version}
        if self.session_id is not None:
            headers[SESSION_HEADER] = self.session_id
        return Call(self.endpoint, json=message, headers=headers, **options)

    def _next_id(self) -> int:
        with self._lock:
            return next(self._ids)

    def _answer(self, reply: Reply, rid: int) -> Any:
        for message in _messages(reply):
            if message.get("id") != rid:
                continue  # server notifications or requests on the stream
            if "error" in message:
                raise _rpc_error(message["error"], self.server)
            return message.get("result")
        raise APIResponseValidationError(
            f"The {self.server} MCP server sent no answer to request {rid}.",
            hint="The server may have closed the stream early; try again.",
        )

    def rpc(self, method: str, params: Mapping[str, Any], options: Mapping[str, Any] | None = None) -> MCPFlow[Any]:
        """One JSON-RPC request with the current session (none before ``initialize``); returns its result."""
        rid = self._next_id()
        message = {"jsonrpc": "2.0", "id": rid, "method": method, "params": dict(params)}
        reply = yield Exchange(self._call(message, options or {}))
        return self._answer(reply, rid)

    def initialize(self, options: Mapping[str, Any] | None = None) -> MCPFlow[Any]:
        """Open a session: ``initialize``, keep the ``Mcp-Session-Id``, then send ``notifications/initialized``."""
        self.session_id = None
        rid = self._next_id()
        params = {
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "glmkit", "version": __version__},
        }
        reply = yield Exchange(
            self._call({"jsonrpc": "2.0", "id": rid, "method": "initialize", "params": params}, options or {})
        )
        result = self._answer(reply, rid) or {}
        session = reply.headers.get(SESSION_HEADER.lower()) or reply.headers.get(SESSION_HEADER)
        if not session:
            raise APIResponseValidationError(
                f"The {self.server} MCP server answered initialize without an Mcp-Session-Id header.",
                hint="Check that the endpoint is Z.AI's remote MCP server.",
            )
        self.session_id = session
        self.protocol_version = str(result.get("protocolVersion") or PROTOCOL_VERSION)
        yield Exchange(self._call({"jsonrpc": "2.0", "method": "notifications/initialized"}, options or {}))
        return result

    def call_tool(
        self, name: str, arguments: Mapping[str, Any], options: Mapping[str, Any] | None = None
    ) -> MCPFlow[Any]:
        """Call a tool and return its decoded text result (JSON-in-a-string unwrapped)."""
        for attempt in range(2):
            if self.session_id is None:
                yield from self.initialize(options)
            try:
                result = yield from self.rpc("tools/call", {"name": name, "arguments": dict(arguments)}, options)
            except MCPSessionError:
                if attempt:
                    raise
                self.session_id = None  # expired or unknown session: open a new one, once
                continue
            return self._tool_result(name, result)
        raise AssertionError("unreachable")

    def _tool_result(self, name: str, result: Any) -> Any:
        if not isinstance(result, dict):
            raise APIResponseValidationError(f"The {self.server} MCP tool {name} returned no result object.")
        texts = [
            c.get("text", "") for c in result.get("content") or [] if isinstance(c, dict) and c.get("type") == "text"
        ]
        text = "".join(texts)
        if result.get("isError"):
            raise _tool_error(text, self.server, name)
        if "structuredContent" in result and not texts:
            return result["structuredContent"]
        return decode_json_text(text)


def _reply_of(response: Any, body: bytes) -> Reply:
    return Reply(response.status_code, response.headers, body)


def drive(client: Client, flow: MCPFlow[T]) -> T:
    """Run an MCP flow (or any flow of ``Exchange``/``Request``/``Sleep`` steps) on a sync client."""
    from glmkit._call import transport_errors
    from glmkit._transport import connection_error

    client._require_auth()
    transport = client._transport

    def handle(step: Any) -> Any:
        if isinstance(step, Exchange):
            response = transport.open(step.call)
            try:
                body = response.read()
            except transport_errors() as exc:
                raise connection_error(exc) from exc
            finally:
                response.close()
            return _reply_of(response, body)
        if isinstance(step, Sleep):
            return transport.sleep(step.seconds)
        return transport.request(step.call)

    return drive_sync(flow, handle)


async def adrive(client: AsyncClient, flow: MCPFlow[T]) -> T:
    """The async twin of ``drive``."""
    from glmkit._call import transport_errors
    from glmkit._transport import connection_error

    client._require_auth()
    transport = client._transport

    async def handle(step: Any) -> Any:
        if isinstance(step, Exchange):
            response = await transport.open(step.call)
            try:
                body = await response.aread()
            except transport_errors() as exc:
                raise connection_error(exc) from exc
            finally:
                await response.aclose()
            return _reply_of(response, body)
        if isinstance(step, Sleep):
            return await transport.sleep(step.seconds)
        return await transport.request(step.call)

    return await drive_async(flow, handle)


def plan_only(settings: Any) -> bool:
    """Whether REST search/reader are skipped for the MCP servers: ``plan="plan-only"`` or the profile's ``plan_only = true``."""
    return settings.plan == "plan-only" or bool(settings.options.get("plan_only"))


def fallback_enabled(settings: Any) -> bool:
    """Whether a REST 1113 (no balance) falls back to the MCP servers (profile ``mcp_fallback = false`` turns it off)."""
    return bool(settings.options.get("mcp_fallback", True))


def rest_or_mcp(
    settings: Any,
    call: Call[T],
    mcp: RemoteMCP,
    tool: str,
    arguments: Mapping[str, Any],
    to_result: Callable[[Any], T],
) -> MCPFlow[T]:
    """REST first; on 1113 (no balance), or straight away for a plan-only profile, the same call through MCP.

    ``to_result`` turns the tool's decoded value into the REST response model. If the MCP server refuses
    the key too, the REST 1113 is raised (the balance is the first thing to fix), chained to the MCP error.
    """
    from glmkit._errors import InsufficientBalanceError, PermissionDeniedError

    options = {k: v for k, v in (("timeout", call.timeout), ("max_retries", call.max_retries)) if v is not None}
    if plan_only(settings):
        return to_result((yield from mcp.call_tool(tool, arguments, options)))
    try:
        answer: T = yield Request(call)
        return answer
    except InsufficientBalanceError as exc:
        if not fallback_enabled(settings):
            exc.hint = (
                f"{call.endpoint.path} bills account balance. A GLM Coding Plan reaches it through the "
                f"{mcp.server} MCP server: drop mcp_fallback = false from the profile, or recharge."
            )
            raise
        try:
            value = yield from mcp.call_tool(tool, arguments, options)
        except (AuthenticationError, PermissionDeniedError) as mcp_exc:
            if isinstance(mcp_exc, MCPSessionError):
                raise
            exc.hint = (
                f"{call.endpoint.path} bills account balance, and the Coding Plan's {mcp.server} MCP server "
                "refused this key too. Recharge, or check the key's plan (`glm usage`)."
            )
            raise exc from mcp_exc
        return to_result(value)
