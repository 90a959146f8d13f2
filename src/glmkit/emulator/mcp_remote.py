"""Z.AI's remote MCP servers for Coding Plan users (reference §1.1, §14.4, §17), with their quirks.

``POST /api/mcp/web_search_prime/mcp`` (tool ``webSearchPrime``) and ``POST /api/mcp/web_reader/mcp``
(tool ``webReader``), Streamable HTTP:

- the key is checked as on every surface (401 with a Z.AI error body when missing or refused);
- the client must accept both ``application/json`` and ``text/event-stream`` (else 406);
- ``initialize`` answers JSON with an ``Mcp-Session-Id`` header; every later request must echo it:
  without one (or with an unknown one) the answer is **HTTP 200** carrying JSON-RPC error ``-401``;
- notifications get 202; ``tools/list`` and ``tools/call`` answer as SSE (``event: message`` + ``data:``);
- a tool result is one text item whose text is a JSON *string*: the search hits are encoded twice,
  the reader page once (both forms are seen in the field);
- ``DELETE`` with the session header ends the session.
- each successful tool call counts against the plan's monthly MCP allowance (``quota.py``: ``search-prime``,
  ``web-reader``); once it is spent a tool call is a tool error carrying 1310 (the reference says
  "exhausted -> 1310" without the form; UNVERIFIED).

The hits and pages are the REST fixtures (``web_search.search_hits``, ``reader.read_page``), so a REST
answer and its MCP fallback carry identical results. Plan-only keys (see ``balance.py``) are served.
The ``/sse`` transport variant and ``zread`` are not emulated.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from glmkit.emulator.admission import admit
from glmkit.emulator.reader import check_reader, read_page
from glmkit.emulator.state import EmulatorState
from glmkit.emulator.web_search import check_search, search_hits, today
from glmkit.types.reader import READER_FLAGS, RETURN_FORMATS
from glmkit.types.web_search import CONTENT_SIZES, COUNT_RANGE, LOCATIONS, RECENCY_FILTERS

SUPPORTED_VERSIONS = ("2025-06-18", "2025-03-26", "2024-11-05")
SESSION_ERROR = -401

_SEARCH_SCHEMA = {
    "type": "object",
    "properties": {
        "search_query": {"type": "string", "description": "What to search for."},
        "count": {"type": "integer", "minimum": COUNT_RANGE[0], "maximum": COUNT_RANGE[1]},
        "content_size": {"type": "string", "enum": list(CONTENT_SIZES)},
        "location": {"type": "string", "enum": list(LOCATIONS)},
        "search_domain_filter": {"type": "string"},
        "search_recency_filter": {"type": "string", "enum": list(RECENCY_FILTERS)},
    },
    "required": ["search_query"],
}
_READER_SCHEMA = {
    "type": "object",
    "properties": {
        "url": {"type": "string"},
        "timeout": {"type": "integer"},
        "return_format": {"type": "string", "enum": list(RETURN_FORMATS)},
        **{flag: {"type": "boolean"} for flag in READER_FLAGS},
    },
    "required": ["url"],
}


def _search(state: EmulatorState, args: dict[str, Any]) -> tuple[str, bool]:
    if (bad := check_search(args)) is not None:
        return bytes(bad.body).decode(), True
    return json.dumps(json.dumps(search_hits(args, today(state)), ensure_ascii=False)), False


def _read(state: EmulatorState, args: dict[str, Any]) -> tuple[str, bool]:
    if (bad := check_reader(args)) is not None:
        return bytes(bad.body).decode(), True
    return json.dumps(read_page(args), ensure_ascii=False), False


SERVERS: dict[str, dict[str, Any]] = {
    "web_search_prime": {
        "name": "web-search-prime",
        "code": "search-prime",
        "tool": "webSearchPrime",
        "description": "Search the web (GLM Coding Plan).",
        "schema": _SEARCH_SCHEMA,
        "run": _search,
    },
    "web_reader": {
        "name": "web-reader",
        "code": "web-reader",
        "tool": "webReader",
        "description": "Read a web page as markdown (GLM Coding Plan).",
        "schema": _READER_SCHEMA,
        "run": _read,
    },
}


def _budget_spent(state: EmulatorState) -> str | None:
    """The 1310 tool error when the plan's monthly MCP allowance is spent (see ``quota.py``), else ``None``."""
    try:
        from glmkit.emulator.quota import LENGTH, quota_state
    except ImportError:  # the quota module has not landed
        return None
    qs = quota_state(state)
    month = qs.windows["month"]
    month.start(state.clock(), LENGTH["month"])
    if qs.level in ("none", "payg", "") or month.used < month.capacity:
        return None
    when = dt.datetime.fromtimestamp(month.reset, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    message = f"Weekly/Monthly Limit Exhausted. Your limit will reset at {when}"
    return json.dumps({"error": {"code": "1310", "message": message}})


def _rpc(rid: Any, *, result: Any = None, error: dict[str, Any] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": rid}
    if error is not None:
        message["error"] = error
    else:
        message["result"] = result
    return message


def _sse(message: dict[str, Any]) -> Response:
    data = json.dumps(message, ensure_ascii=False)
    return Response(f"event: message\ndata: {data}\n\n", media_type="text/event-stream")


def _sessions(state: EmulatorState) -> dict[str, str]:
    sessions: dict[str, str] = state.extra.setdefault("mcp_remote", {}).setdefault("sessions", {})
    return sessions


def _handle(state: EmulatorState, server: str, message: dict[str, Any], session: str | None) -> Response:
    spec = SERVERS[server]
    rid, method = message.get("id"), message.get("method")
    raw_params = message.get("params")
    params: dict[str, Any] = raw_params if isinstance(raw_params, dict) else {}
    if method == "initialize":
        sid = state.new_id("mcp-")
        _sessions(state)[sid] = server
        asked = params.get("protocolVersion")
        version = asked if asked in SUPPORTED_VERSIONS else SUPPORTED_VERSIONS[0]
        result = {
            "protocolVersion": version,
            "capabilities": {"tools": {"listChanged": False}},
            "serverInfo": {"name": spec["name"], "version": "1.0.0"},
        }
        return JSONResponse(_rpc(rid, result=result), headers={"mcp-session-id": sid})
    if session is None or _sessions(state).get(session) != server:
        return JSONResponse(
            _rpc(rid, error={"code": SESSION_ERROR, "message": "Unauthorized: invalid or missing session"})
        )
    if rid is None:  # a notification (notifications/initialized, cancelled, ...)
        return Response(status_code=202)
    if method == "ping":
        return _sse(_rpc(rid, result={}))
    if method == "tools/list":
        tool = {"name": spec["tool"], "description": spec["description"], "inputSchema": spec["schema"]}
        return _sse(_rpc(rid, result={"tools": [tool]}))
    if method == "tools/call":
        if params.get("name") != spec["tool"]:
            return _sse(_rpc(rid, error={"code": -32602, "message": f"Unknown tool: {params.get('name')}"}))
        args = params.get("arguments") if isinstance(params.get("arguments"), dict) else {}
        spent = _budget_spent(state)
        if spent is not None:
            return _sse(_rpc(rid, result={"content": [{"type": "text", "text": spent}], "isError": True}))
        text, failed = spec["run"](state, args)
        if not failed:
            state.record_usage({"surface": "mcp", "tool": spec["code"]})
        return _sse(_rpc(rid, result={"content": [{"type": "text", "text": text}], "isError": failed}))
    return _sse(_rpc(rid, error={"code": -32601, "message": f"Method not found: {method}"}))


def _endpoint(state: EmulatorState, server: str) -> Any:
    async def endpoint(request: Request) -> Response:
        early, _ = await admit(state, request)
        if early is not None:
            return early
        session = request.headers.get("mcp-session-id")
        if request.method == "DELETE":
            return Response(status_code=200 if _sessions(state).pop(session or "", None) else 404)
        if request.method == "GET":
            return Response(status_code=405, headers={"Allow": "POST, DELETE"})
        accept = request.headers.get("accept", "")
        if "application/json" not in accept or "text/event-stream" not in accept:
            error = {
                "code": -32600,
                "message": "Not Acceptable: Client must accept both application/json and text/event-stream",
            }
            return JSONResponse(_rpc(None, error=error), status_code=406)
        try:
            message = json.loads(await request.body())
        except ValueError:
            return JSONResponse(_rpc(None, error={"code": -32700, "message": "Parse error"}), status_code=400)
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0" or "method" not in message:
            return JSONResponse(_rpc(None, error={"code": -32600, "message": "Invalid Request"}), status_code=400)
        return _handle(state, server, message, session)

    return endpoint


def root_routes(state: EmulatorState) -> list[Route]:
    """The remote MCP endpoints below ``/api``."""
    return [
        Route(f"/mcp/{server}/mcp", _endpoint(state, server), methods=["POST", "GET", "DELETE"]) for server in SERVERS
    ]
