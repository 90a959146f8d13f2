"""The remote MCP client (glmkit._remote_mcp) and the emulator's remote MCP servers, with their quirks.

The official ``mcp`` client is the judge of the emulator's servers; our small client is tested
against the emulator through the public Client.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from glmkit import Client
from glmkit._errors import AuthenticationError, BadRequestError, QuotaExceededError
from glmkit._remote_mcp import MCPSessionError, RemoteMCP, adrive, decode_json_text, drive
from glmkit.emulator import EmulatorConfig, create_app
from glmkit.testing import TEST_KEY, EmulatorServer, EmulatorTransport, async_offline_client, offline_client

SEARCH = "/api/mcp/web_search_prime/mcp"
BOTH = "application/json, text/event-stream"
AUTH = {"Authorization": f"Bearer {TEST_KEY}"}


def raw(app) -> httpx.Client:  # type: ignore[no-untyped-def]
    return httpx.Client(transport=EmulatorTransport(app), base_url="http://emulator.invalid", headers=AUTH)


INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
}
CALL = {
    "jsonrpc": "2.0",
    "id": 2,
    "method": "tools/call",
    "params": {"name": "webSearchPrime", "arguments": {"search_query": "q", "count": 2}},
}


# -- the emulator's quirks, seen on the wire ---------------------------------------------------------


def test_a_call_without_session_gets_minus_401_inside_http_200(app) -> None:  # type: ignore[no-untyped-def]
    with raw(app) as http:
        r = http.post(SEARCH, json=CALL, headers={"Accept": BOTH})
    assert r.status_code == 200
    assert r.json()["error"]["code"] == -401 and r.json()["id"] == 2


def test_both_accept_types_are_required(app) -> None:  # type: ignore[no-untyped-def]
    with raw(app) as http:
        r = http.post(SEARCH, json=INIT, headers={"Accept": "application/json"})
    assert r.status_code == 406 and "text/event-stream" in r.json()["error"]["message"]


def test_session_then_sse_reply_with_json_in_a_string(app) -> None:  # type: ignore[no-untyped-def]
    with raw(app) as http:
        init = http.post(SEARCH, json=INIT, headers={"Accept": BOTH})
        sid = init.headers["mcp-session-id"]
        assert init.json()["result"]["serverInfo"]["name"] == "web-search-prime"
        note = http.post(
            SEARCH,
            json={"jsonrpc": "2.0", "method": "notifications/initialized"},
            headers={"Accept": BOTH, "Mcp-Session-Id": sid},
        )
        call = http.post(SEARCH, json=CALL, headers={"Accept": BOTH, "Mcp-Session-Id": sid})
        gone = http.delete(SEARCH, headers={"Mcp-Session-Id": sid})
        after = http.post(SEARCH, json=CALL, headers={"Accept": BOTH, "Mcp-Session-Id": sid})
    assert note.status_code == 202
    assert call.headers["content-type"].startswith("text/event-stream")
    data = json.loads(call.text.split("data: ", 1)[1])
    text = data["result"]["content"][0]["text"]
    assert isinstance(json.loads(text), str)  # encoded twice
    hits = json.loads(json.loads(text))
    assert [h["refer"] for h in hits] == ["ref_1", "ref_2"]
    assert gone.status_code == 200 and after.json()["error"]["code"] == -401


def test_a_session_belongs_to_its_server(app) -> None:  # type: ignore[no-untyped-def]
    with raw(app) as http:
        sid = http.post(SEARCH, json=INIT, headers={"Accept": BOTH}).headers["mcp-session-id"]
        r = http.post("/api/mcp/web_reader/mcp", json=CALL, headers={"Accept": BOTH, "Mcp-Session-Id": sid})
    assert r.json()["error"]["code"] == -401


def test_missing_key_is_a_401_before_any_session(app) -> None:  # type: ignore[no-untyped-def]
    with httpx.Client(transport=EmulatorTransport(app), base_url="http://emulator.invalid") as http:
        r = http.post(SEARCH, json=INIT, headers={"Accept": BOTH})
    assert r.status_code == 401 and r.json()["error"]["code"] == "1001"


# -- our client ------------------------------------------------------------------------------------------


def test_call_without_session_is_a_clear_error(sclient: Client) -> None:
    mcp = RemoteMCP("web_search_prime")
    with pytest.raises(MCPSessionError) as err:
        drive(sclient, mcp.rpc("tools/call", {"name": "webSearchPrime", "arguments": {"search_query": "q"}}))
    assert isinstance(err.value, AuthenticationError) and err.value.code == "-401"
    assert "no valid session" in str(err.value) and "initialize" in (err.value.hint or "")


def test_call_tool_opens_a_session_and_decodes_the_string(app, sclient: Client) -> None:  # type: ignore[no-untyped-def]
    mcp = RemoteMCP("web_search_prime")
    hits = drive(sclient, mcp.call_tool("webSearchPrime", {"search_query": "glm", "count": 3}))
    assert [h["refer"] for h in hits] == ["ref_1", "ref_2", "ref_3"]
    assert mcp.session_id and mcp.protocol_version == "2025-06-18"
    bodies = [r["path"] for r in app.state.emulator.requests]
    assert bodies == [SEARCH] * 3  # initialize, notifications/initialized, tools/call


def test_an_expired_session_is_reopened_once(app, sclient: Client) -> None:  # type: ignore[no-untyped-def]
    mcp = RemoteMCP("web_reader")
    mcp.session_id = "mcp-expired"
    page = drive(sclient, mcp.call_tool("webReader", {"url": "https://example.com/a"}))
    assert page["url"] == "https://example.com/a" and mcp.session_id != "mcp-expired"


def test_tool_error_maps_the_business_code(sclient: Client) -> None:
    mcp = RemoteMCP("web_search_prime")
    with pytest.raises(BadRequestError) as err:
        drive(sclient, mcp.call_tool("webSearchPrime", {"search_query": "q", "count": 99}))
    assert err.value.code == "1214" and "count" in err.value.message


def test_http_level_quota_error_from_the_mcp_server(sclient: Client) -> None:
    mcp = RemoteMCP("web_search_prime")
    options = {"extra_headers": {"X-Emulator-Fault": "code=1310"}}
    with pytest.raises(QuotaExceededError) as err:
        drive(sclient, mcp.initialize(options))
    assert err.value.code == "1310"


def test_unknown_tool_is_a_json_rpc_error(sclient: Client) -> None:
    mcp = RemoteMCP("web_search_prime")
    with pytest.raises(BadRequestError, match="-32602"):
        drive(sclient, mcp.call_tool("nope", {}))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('[{"a": 1}]', [{"a": 1}]),
        (json.dumps(json.dumps([{"a": 1}])), [{"a": 1}]),
        ('{"url": "u"}', {"url": "u"}),
        ("# plain markdown", "# plain markdown"),
        ('"just a string"', "just a string"),
    ],
)
def test_decode_json_text(text: str, value: object) -> None:
    assert decode_json_text(text) == value


@pytest.mark.anyio
async def test_async_client_speaks_the_same_protocol(app) -> None:  # type: ignore[no-untyped-def]
    async with async_offline_client(app) as ac:
        mcp = RemoteMCP("web_search_prime")
        with pytest.raises(MCPSessionError):
            await adrive(ac, mcp.rpc("tools/list", {}))
        await adrive(ac, mcp.initialize())
        listed = await adrive(ac, mcp.rpc("tools/list", {}))
        hits = await adrive(ac, mcp.call_tool("webSearchPrime", {"search_query": "async"}))
    assert [t["name"] for t in listed["tools"]] == ["webSearchPrime"]
    assert len(hits) == 10


# -- the official mcp client judges the emulator's servers -----------------------------------------------


@contextlib.asynccontextmanager
async def official_session(url: str) -> AsyncIterator[Any]:
    """An initialized session of the official ``mcp`` client with the MCP server at ``url``."""
    from mcp import ClientSession
    from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client

    async with (
        create_mcp_http_client(headers=AUTH) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


@pytest.mark.anyio
@pytest.mark.timeout(60)
async def test_official_mcp_client_calls_the_emulated_servers() -> None:
    with EmulatorServer() as server:
        async with official_session(f"{server.url}{SEARCH}") as session:
            tools = await session.list_tools()
            result = await session.call_tool("webSearchPrime", {"search_query": "official client", "count": 2})
        async with official_session(f"{server.url}/api/mcp/web_reader/mcp") as session:
            page = await session.call_tool("webReader", {"url": "https://example.com/x"})
    assert [t.name for t in tools.tools] == ["webSearchPrime"]
    assert not result.is_error
    assert [h["refer"] for h in decode_json_text(result.content[0].text)] == ["ref_1", "ref_2"]
    assert decode_json_text(page.content[0].text)["url"] == "https://example.com/x"


# -- the plan's monthly MCP allowance ----------------------------------------------------------------------


def test_tool_calls_count_against_the_plans_mcp_allowance(app, sclient: Client) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("glmkit.emulator.quota")
    with offline_client(app, plan="plan-only") as plan:
        plan.web_search(search_query="one")
        plan.web_search(search_query="two")
        plan.reader.read("https://example.com/a")
    with raw(app) as http:
        http.post("/api/_emulator/quota", json={"schema": "tokens"})  # token plans report the MCP pool (TIME_LIMIT)
        usage = http.get("/api/monitor/usage/quota/limit").json()["data"]["limits"]
    month = next(row for row in usage if row["type"] == "TIME_LIMIT")
    assert {d["modelCode"]: d["usage"] for d in month["usageDetails"]} == {"search-prime": 2, "web-reader": 1}


def test_spent_allowance_is_a_1310_quota_error() -> None:
    pytest.importorskip("glmkit.emulator.quota")
    app = create_app(EmulatorConfig(plan="lite", options={"quota": {"mcp": {"search-prime": 100}}}))
    with offline_client(app, plan="plan-only") as plan, pytest.raises(QuotaExceededError) as err:
        plan.web_search(search_query="one too many")
    assert err.value.code == "1310" and err.value.resets_at is not None
