"""Starting `glm mcp` as a subprocess and connecting the official `mcp` client to it (stdio or HTTP)."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glmkit.testing import TEST_KEY, EmulatorServer, stop_process


def glm_command() -> list[str]:
    """The installed ``glm`` script beside this interpreter, else ``python -m glmkit.cli.app``."""
    script = Path(sys.executable).with_name("glm")
    return [str(script)] if script.exists() else [sys.executable, "-m", "glmkit.cli.app"]


def server_env(home: Path, upstream: EmulatorServer) -> dict[str, str]:
    """A clean environment: the emulator as ZAI_BASE_URL, the test key, a private GLMKIT_HOME."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR", "VIRTUAL_ENV")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(
        ZAI_BASE_URL=upstream.base_url,
        ZAI_API_KEY=TEST_KEY,
        GLMKIT_HOME=str(home),
        GLM_MAX_RETRIES="1",
        PYTHONUNBUFFERED="1",
    )
    return env


CLIENT_NAME = "glmkit-tests"
HTTP_TOKEN = "glmkit-test-mcp-token"  # what http_server starts the server with, unless the test gives --token

# The vision tools issue 7 asks for, by the names coding agents know from Z.AI's own MCP server.
VISION = {
    "analyze_image",
    "extract_text_from_screenshot",
    "diagnose_error_screenshot",
    "ui_to_code",
    "understand_diagram",
    "analyze_chart",
    "compare_ui_screenshots",
    "analyze_video",
}


def text_of(result: Any) -> str:
    """The text parts of a tool result, joined by newlines."""
    return "\n".join(c.text for c in result.content if c.type == "text")


def run_mcp(home: Path, upstream: EmulatorServer, *args: str) -> subprocess.CompletedProcess[str]:
    """``glm mcp ARGS`` to the end (for options that fail, or print, before serving); stdin closed."""
    return subprocess.run(
        [*glm_command(), "mcp", *args],
        env=server_env(home, upstream),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )


def CLIENT_INFO() -> Any:  # read as a constant; built late so `mcp` is imported only when used
    from mcp.types import Implementation

    return Implementation(name=CLIENT_NAME, version="1.0")


@dataclass
class McpSession:
    """A connected client session plus what the tests need to look behind it."""

    session: Any
    home: Path
    upstream: EmulatorServer
    transport: str
    workdir: Path

    async def call(self, name: str, arguments: dict[str, Any], **options: Any) -> Any:
        """Call a tool; fail loudly on a protocol error (tool errors come back as results)."""
        import anyio

        with anyio.fail_after(30):
            return await self.session.call_tool(name, arguments, **options)

    def ledger_rows(self, expect: int, since: float = 0.0, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The server's ``mcp`` ledger rows made after ``since``, once at least ``expect`` have been written."""
        from glmkit.ledger import Ledger

        deadline = time.monotonic() + timeout
        rows: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            db = self.home / "glmkit.db"
            if db.exists():
                ledger = Ledger(db)
                try:
                    rows = ledger.requests(source="mcp", since=since)
                finally:
                    ledger.close()
                if len(rows) >= expect:
                    return rows
            time.sleep(0.05)
        return rows


@contextlib.asynccontextmanager
async def stdio_session(home: Path, upstream: EmulatorServer, workdir: Path, *args: str) -> AsyncIterator[Any]:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    cmd = glm_command()
    params = StdioServerParameters(
        command=cmd[0], args=[*cmd[1:], "mcp", *args], env=server_env(home, upstream), cwd=str(workdir)
    )
    with (home / "stderr-stdio.log").open("w") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write, client_info=CLIENT_INFO()) as session,
        ):
            await session.initialize()
            yield session


@contextlib.contextmanager
def http_server(home: Path, upstream: EmulatorServer, workdir: Path, *args: str) -> Iterator[str]:
    """``glm mcp --http 0`` as a subprocess; yields its URL (read from its stderr); killed on exit.

    The server requires ``HTTP_TOKEN`` as its bearer token unless ``args`` name another (or ``--token ''``)."""
    log = home / "stderr-http.log"
    token = [] if "--token" in args else ["--token", HTTP_TOKEN]
    with log.open("w") as errlog:
        proc = subprocess.Popen(
            [*glm_command(), "mcp", "--http", "0", *token, *args],
            env=server_env(home, upstream),
            cwd=str(workdir),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errlog,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                found = re.search(r"(http://\S+/mcp)", log.read_text())
                if found:
                    break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"glm mcp --http did not start:\n{log.read_text()}")
                time.sleep(0.05)
            yield found.group(1)
        finally:
            stop_process(proc)


def authorized_transport(url: str, token: str = HTTP_TOKEN, *, scheme: str = "Bearer") -> Any:
    """The official client's streamable HTTP transport, sending ``Authorization: Bearer <token>``."""
    import httpx2  # the HTTP client the mcp package itself uses
    from mcp.client.streamable_http import streamable_http_client

    @contextlib.asynccontextmanager
    async def transport() -> AsyncIterator[Any]:
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"{scheme} {token}"}, timeout=30) as client,
            streamable_http_client(url, http_client=client) as streams,
        ):
            yield streams

    return transport()


@contextlib.asynccontextmanager
async def http_session(url: str, token: str = HTTP_TOKEN, **options: Any) -> AsyncIterator[Any]:
    from mcp import ClientSession

    async with (
        authorized_transport(url, token) as (read, write),
        ClientSession(read, write, client_info=CLIENT_INFO(), **options) as session,
    ):
        await session.initialize()
        yield session
