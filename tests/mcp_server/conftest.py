"""`glm mcp` as a real subprocess, judged by the official `mcp` client, with the emulator as upstream.

One emulator and one server per transport per module (module-scoped), so the suite stays fast:
``glm_mcp`` yields a connected ``McpSession`` with the server's GLMKIT_HOME, its emulator and a
``call`` helper. The helpers live in ``mcp_harness.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from mcp_harness import McpSession, http_server, http_session, stdio_session

from glmkit.testing import EmulatorServer


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def upstream() -> Iterator[EmulatorServer]:
    """The emulator the MCP server talks to (faults armed through ``upstream.state.faults``)."""
    with EmulatorServer(job_seconds=0.0) as server:
        yield server


@pytest.fixture(scope="module", params=["stdio", "http"])
async def glm_mcp(
    request: pytest.FixtureRequest, upstream: EmulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[McpSession]:
    """`glm mcp` over stdio, then over streamable HTTP: every test using it runs once per transport."""
    transport = request.param
    home = tmp_path_factory.mktemp(f"mcp-home-{transport}")
    workdir = tmp_path_factory.mktemp(f"mcp-work-{transport}")
    if transport == "stdio":
        async with stdio_session(home, upstream, workdir) as session:
            yield McpSession(session, home, upstream, transport, workdir)
    else:
        with http_server(home, upstream, workdir) as url:
            async with http_session(url) as session:
                yield McpSession(session, home, upstream, transport, workdir)
