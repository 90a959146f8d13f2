"""`glm mcp` guards the user's quota and files: a bearer token on HTTP by default, and tools that read or write
only inside the client's roots or the `--root` folders (the working folder by default), symlinks included.

Judged by the official `mcp` client against real `glm mcp` processes (stdio and `--http`).
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp_harness import (
    CLIENT_INFO,
    glm_command,
    http_server,
    http_session,
    server_env,
    stdio_session,
    text_of,
)

from glmkit.testing import EmulatorServer, stop_process

pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.timeout(90)]

PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
ACCEPT = {"Accept": "application/json, text/event-stream"}


@pytest.fixture
def places(tmp_path: Path) -> dict[str, Path]:
    """A working folder with a file and two links out of it, and a folder outside it with a secret."""
    work, outside = tmp_path / "work", tmp_path / "outside"
    work.mkdir()
    outside.mkdir()
    (work / "notes.txt").write_text("inside words")
    (outside / "secret.txt").write_text("the secret words")
    (outside / "keep.txt").write_text("do not replace me")
    (work / "link.txt").symlink_to(outside / "secret.txt")
    (work / "out").symlink_to(outside)
    (tmp_path / "home").mkdir()
    return {"work": work, "outside": outside, "home": tmp_path / "home"}


@pytest.fixture
def started(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """`glm mcp --http 0` with no token given: (its URL, the token it printed)."""
    home = tmp_path / "home"
    home.mkdir()
    log = home / "stderr.log"
    with EmulatorServer(job_seconds=0.0) as upstream, log.open("w") as errlog:
        proc = subprocess.Popen(
            [*glm_command(), "mcp", "--http", "0", "--tools", "tokens"],
            env=server_env(home, upstream),
            cwd=str(tmp_path),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errlog,
        )
        try:
            deadline = time.monotonic() + 30
            while not (found := re.search(r"(http://\S+/mcp).*\n\s+token: (\S+)", log.read_text())):
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
            yield found.group(1), found.group(2)
        finally:
            stop_process(proc)


async def test_http_requires_the_printed_token_by_default(started: tuple[str, str]) -> None:
    url, token = started
    assert len(token) >= 32
    async with httpx.AsyncClient() as raw:
        for auth in (None, "Bearer", "Bearer wrong", f"Basic {token}", token):
            headers = {**ACCEPT, **({"Authorization": auth} if auth else {})}
            refused = await raw.post(url, json=PING, headers=headers)
            assert refused.status_code == 401, auth
        # any spelling of the scheme (RFC 9110: case-insensitive)
        for scheme in ("bearer", "BEARER", "Bearer"):
            ok = await raw.post(url, json=PING, headers={**ACCEPT, "Authorization": f"{scheme} {token}"})
            assert ok.status_code != 401, scheme
    async with http_session(url, token) as session:
        result = await session.call_tool("count_tokens", {"text": "let me in"})
        assert not result.is_error, text_of(result)


def test_http_token_from_the_config_file(tmp_path: Path) -> None:
    from glmkit._config import save_config

    home = tmp_path / "home"
    save_config(home / "config.toml", {"mcp": {"token": "from-the-config"}})
    with EmulatorServer(job_seconds=0.0) as upstream, http_server(home, upstream, tmp_path, "--token", "") as url:
        denied = httpx.post(url, json=PING, headers=ACCEPT, timeout=10)
        allowed = httpx.post(url, json=PING, headers={**ACCEPT, "Authorization": "Bearer from-the-config"}, timeout=10)
    assert denied.status_code == 401 and allowed.status_code != 401
    assert "from-the-config" not in (home / "stderr-http.log").read_text()  # a token the user chose is not echoed


def outside_error(result: Any, path: Path) -> str:
    text = text_of(result)
    assert result.is_error, text
    assert "outside the folders this MCP server may use" in text and "--root" in text, text
    assert str(path) in text
    return text


async def test_tools_stay_inside_the_working_folder(places: dict[str, Path]) -> None:
    work, outside = places["work"], places["outside"]
    with EmulatorServer(job_seconds=0.0) as upstream:
        async with stdio_session(places["home"], upstream, work, "--tools", "tokens,image,ocr,vision") as session:
            inside = await session.call_tool("count_tokens", {"path": "notes.txt"})
            assert not inside.is_error, text_of(inside)
            outside_error(await session.call_tool("count_tokens", {"path": str(outside / "secret.txt")}), outside)
            outside_error(await session.call_tool("count_tokens", {"path": "/etc/passwd"}), Path("/etc/passwd"))
            via_link = await session.call_tool("count_tokens", {"path": "link.txt"})
            assert "link.txt" in outside_error(via_link, outside / "secret.txt")
            outside_error(await session.call_tool("count_tokens", {"path": "out/secret.txt"}), outside)
            outside_error(await session.call_tool("ocr", {"file_source": f"file://{outside}/secret.txt"}), outside)
            image = {"image_source": str(outside / "secret.txt"), "prompt": "what is it"}
            outside_error(await session.call_tool("analyze_image", image), outside)
            before = len(upstream.state.requests)
            for target in (str(outside / "keep.txt"), "out/keep.txt", "out/new.png"):
                arguments = {"prompt": "a boat", "output_path": target, "overwrite": True}
                outside_error(await session.call_tool("generate_image", arguments), outside)
            assert len(upstream.state.requests) == before  # refused before anything was paid for
    assert (outside / "keep.txt").read_text() == "do not replace me"
    assert not (outside / "new.png").exists()


async def test_root_flag_allows_another_folder(places: dict[str, Path]) -> None:
    work, outside = places["work"], places["outside"]
    with EmulatorServer(job_seconds=0.0) as upstream:
        args = ("--tools", "tokens", "--root", str(outside), "--root", str(work))
        async with stdio_session(places["home"], upstream, work, *args) as session:
            for path in (str(outside / "secret.txt"), "link.txt", "notes.txt"):
                result = await session.call_tool("count_tokens", {"path": path})
                assert not result.is_error, text_of(result)
        async with stdio_session(
            places["home"], upstream, work, "--tools", "tokens", "--root", str(outside)
        ) as session:
            # --root replaces the default: the working folder is then not allowed
            outside_error(await session.call_tool("count_tokens", {"path": "notes.txt"}), work)


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_the_clients_declared_roots_are_the_allowed_folders(places: dict[str, Path], transport: str) -> None:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client
    from mcp.types import ListRootsResult, Root

    work, outside = places["work"], places["outside"]

    async def roots(context: Any) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=outside.as_uri(), name="outside")])

    async def check(session: Any) -> None:
        allowed = await session.call_tool("count_tokens", {"path": str(outside / "secret.txt")})
        assert not allowed.is_error, text_of(allowed)
        outside_error(await session.call_tool("count_tokens", {"path": "notes.txt"}), work)

    with EmulatorServer(job_seconds=0.0) as upstream:
        if transport == "http":
            with http_server(places["home"], upstream, work, "--tools", "tokens") as url:
                async with http_session(url, list_roots_callback=roots) as session:
                    await check(session)
            return
        cmd = glm_command()
        params = StdioServerParameters(
            command=cmd[0],
            args=[*cmd[1:], "mcp", "--tools", "tokens"],
            env=server_env(places["home"], upstream),
            cwd=str(work),
        )
        with open(os.devnull, "w") as errlog:
            async with (
                stdio_client(params, errlog=errlog) as (read, write),
                ClientSession(read, write, client_info=CLIENT_INFO(), list_roots_callback=roots) as session,
            ):
                await session.initialize()
                await check(session)
