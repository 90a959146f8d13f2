"""`glm mcp --http` sits behind the same request guard as `glm serve` and `glm emulate`: a foreign Host, a web
Origin or a non-JSON post is refused as a JSON-RPC error, while the official `mcp` client is let in."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from glmkit.testing import EmulatorServer
from tests.mcp_server.mcp_harness import http_server, http_session

pytestmark = [pytest.mark.e2e, pytest.mark.anyio, pytest.mark.timeout(60)]
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
ACCEPT = {"Accept": "application/json, text/event-stream"}


async def test_refusals_are_json_rpc_errors_and_the_sdk_client_works(tmp_path: Path, upstream: EmulatorServer) -> None:
    with http_server(tmp_path, upstream, tmp_path, "--tools", "tokens") as url:
        port = url.split(":")[2].split("/")[0]
        refused = [
            httpx.post(url, json=INIT, headers={**ACCEPT, "Host": f"rebound.example:{port}"}),
            httpx.post(url, json=INIT, headers={**ACCEPT, "Origin": "https://evil.example"}),
            httpx.post(url, content=b"{}", headers={**ACCEPT, "Content-Type": "text/plain"}),
        ]
        async with http_session(url) as session:
            tools = await session.list_tools()
    assert [r.status_code for r in refused] == [421, 403, 415]
    for r in refused:
        body = r.json()
        assert body["jsonrpc"] == "2.0" and body["error"]["code"] == -32600
    assert "rebound.example" in refused[0].json()["error"]["message"]
    assert tools.tools
