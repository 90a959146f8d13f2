"""The server's own rules: tool subsets, bad options, crashes and missing keys as tool errors, no ledger."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from mcp_harness import VISION, authorized_transport, glm_command, http_server, run_mcp, stdio_session, text_of
from media_samples import png

from glmkit.emulator import EmulatorConfig, create_app
from glmkit.mcp_server import GROUPS, build_server, parse_groups
from glmkit.testing import OFFLINE_BASE, TEST_KEY, AsyncEmulatorTransport, EmulatorServer, async_offline_client

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]


def test_parse_groups() -> None:
    assert parse_groups(None) == list(GROUPS)
    assert parse_groups("all") == list(GROUPS)
    assert parse_groups(" Vision, tokens ,vision") == ["vision", "tokens"]
    from glmkit import InputError

    with pytest.raises(InputError, match="'telepathy'") as info:
        parse_groups("vision,telepathy")
    assert "vision, search, reader, ocr, speech, image, tokens" in (info.value.hint or "")


@pytest.mark.e2e
async def test_tools_flag_over_stdio_and_no_ledger(
    upstream: EmulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = tmp_path_factory.mktemp("subset-home")
    work = tmp_path_factory.mktemp("subset-work")
    async with stdio_session(home, upstream, work, "--tools", "vision,tokens", "--no-ledger") as session:
        names = {t.name for t in (await session.list_tools()).tools}
        assert names == VISION | {"count_tokens"}
        result = await session.call_tool("count_tokens", {"text": "subset"})
        assert not result.is_error
        missing = await session.call_tool("web_search", {"search_query": "x"})
        assert missing.is_error  # not exposed: the SDK answers with an unknown-tool error
    from glmkit.ledger import Ledger

    db = home / "glmkit.db"
    assert not db.exists() or Ledger(db).requests(source="mcp") == []


@pytest.mark.e2e
async def test_tools_flag_over_http_with_the_modern_client(
    upstream: EmulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from mcp import Client

    home = tmp_path_factory.mktemp("http-subset-home")
    work = tmp_path_factory.mktemp("http-subset-work")
    with http_server(home, upstream, work, "--tools", "search") as url:
        assert url.startswith("http://127.0.0.1:")
        async with Client(authorized_transport(url)) as client:  # "auto": the 2026 discover handshake, or fallback
            names = {t.name for t in (await client.list_tools()).tools}
            assert names == {"web_search"}
            result = await client.call_tool("web_search", {"search_query": "modern client", "count": 2})
            assert not result.is_error and text_of(result).startswith("2 results")


@pytest.mark.e2e
def test_unknown_group_fails_before_serving(upstream: EmulatorServer, tmp_path: Path) -> None:
    done = run_mcp(tmp_path, upstream, "--tools", "vision,telepathy")
    assert done.returncode == 2
    assert "telepathy" in done.stderr and "vision, search, reader" in done.stderr
    assert done.stdout == ""


@pytest.mark.e2e
def test_help_lists_the_options(tmp_path: Path) -> None:
    done = subprocess.run([*glm_command(), "mcp", "--help"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0
    for option in ("--http", "--host", "--tools", "--vision-model", "--no-ledger", "--list", "--offline"):
        assert option in done.stdout
    listed = subprocess.run(
        [*glm_command(), "mcp", "--list", "--tools", "search,tokens"],
        env={"PATH": "/usr/bin:/bin", "GLMKIT_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert [line.split()[:2] for line in lines] == [["web_search", "search"], ["count_tokens", "tokens"]]


async def test_a_crash_inside_a_tool_is_a_tool_error_and_a_ledger_row(tmp_path: Path) -> None:
    from mcp import Client

    from glmkit.ledger import Ledger

    class Broken:
        async def count(self, *args: Any, **params: Any) -> Any:
            raise RuntimeError("tokenizer exploded")

    client = async_offline_client(create_app(EmulatorConfig()))
    client.__dict__["tokenizer"] = Broken()
    ledger = Ledger(tmp_path / "ledger.db")
    server = build_server(client, groups="tokens,search", ledger=ledger, transport="test")
    from mcp.types import Implementation

    async with Client(server, client_info=Implementation(name="crash-test", version="1")) as mcp_client:
        result = await mcp_client.call_tool("count_tokens", {"text": "x"})
        assert result.is_error
        assert "RuntimeError: tokenizer exploded" in text_of(result)
        fine = await mcp_client.call_tool("web_search", {"search_query": "still serving", "count": 1})
        assert not fine.is_error
    rows = ledger.requests(source="mcp")
    assert [(r["tool"], r["status"], r["error_code"], r["client"], r["route"]) for r in rows] == [
        ("count_tokens", None, "RuntimeError", "crash-test", "tools/call (test)"),
        ("web_search", 200, None, "crash-test", "tools/call (test)"),
    ]
    assert server.runtime.calls == {"count_tokens": 1, "web_search": 1}  # type: ignore[attr-defined]
    await client.close()


async def test_no_api_key_is_a_tool_error_naming_the_fix() -> None:
    from mcp import Client

    from glmkit import AsyncClient

    client = AsyncClient(base_url="http://127.0.0.1:9/api/paas/v4", environ={})
    server = build_server(client, groups="tokens")
    async with Client(server) as mcp_client:
        result = await mcp_client.call_tool("count_tokens", {"text": "x"})
    assert result.is_error
    assert "ZAI_API_KEY" in text_of(result)
    await client.close()


async def test_tools_are_plain_functions_with_docstrings() -> None:
    client = async_offline_client(create_app(EmulatorConfig()))
    server = build_server(client)
    tools = {t.name: t for t in await server.list_tools()}
    assert set(tools) >= VISION | {"web_search", "web_read", "ocr", "transcribe", "generate_image", "count_tokens"}
    # Descriptions come from the docstrings and tell a model when to prefer another tool.
    assert "prefer extract_text_from_screenshot" in (tools["analyze_image"].description or "")
    assert "web_read" in (tools["web_search"].description or "")
    await client.close()


def test_long_answers_go_to_a_file_with_a_preview(tmp_path: Path) -> None:
    import os

    from glmkit.mcp_server.output import INLINE_MAX_CHARS, PREVIEW_CHARS, deliver

    short = "x" * 100
    assert deliver(short, what="transcript") == short
    text = "".join(f"line {i}\n" for i in range(INLINE_MAX_CHARS // 5))
    answer = deliver(text, what="Markdown (300 pages)", name="report")
    assert f"The Markdown (300 pages) is {len(text)} characters" in answer
    path = Path(answer.split(" all of it is in ")[1].split(" (read it")[0])
    assert path.parent == Path(os.environ["GLMKIT_HOME"]) / "mcp-output" and path.name.startswith("report-")
    assert path.read_text(encoding="utf-8") == text  # nothing lost
    assert text[:PREVIEW_CHARS] in answer and f"[... {len(text) - PREVIEW_CHARS} more characters" in answer


@pytest.mark.e2e
async def test_offline_with_another_vision_model(tmp_path: Path) -> None:
    import os

    from mcp import Client, StdioServerParameters

    cmd = glm_command()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "GLMKIT_HOME": str(tmp_path)}  # no key, no URL
    args = [*cmd[1:], "mcp", "--offline", "--tools", "vision", "--vision-model", "GLM-5.3-Flash"]
    (tmp_path / "ui.png").write_bytes(png(10, 10))
    async with Client(StdioServerParameters(command=cmd[0], args=args, env=env, cwd=str(tmp_path))) as client:
        result = await client.call_tool("ui_to_code", {"image_source": "ui.png"})
    assert not result.is_error, text_of(result)
    assert "This is glm-5.3-flash on the glmkit emulator" in text_of(result)


@pytest.mark.e2e
def test_a_text_only_vision_model_is_refused_at_start(upstream: EmulatorServer, tmp_path: Path) -> None:
    done = run_mcp(tmp_path, upstream, "--vision-model", "glm-5.3")
    assert done.returncode == 2
    assert "glm-5.3 reads text only" in done.stderr


@pytest.mark.e2e
def test_a_taken_port_is_a_clear_error(upstream: EmulatorServer, tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_mcp(tmp_path, upstream, "--http", str(port))
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "--http 0" in done.stderr
    assert "Traceback" not in done.stderr


async def test_search_and_read_work_for_a_plan_only_key() -> None:
    """A Coding Plan key without balance: REST answers 1113, the SDK falls back to the plan's MCP servers."""
    from mcp import Client

    app = create_app(EmulatorConfig())
    client = async_offline_client(app, api_key="0123456789abcdef0123456789abcdef.planonly00000001")
    server = build_server(client, groups="search,reader")
    async with Client(server) as mcp_client:
        found = await mcp_client.call_tool("web_search", {"search_query": "plan only", "count": 2})
        page = await mcp_client.call_tool("web_read", {"url": "https://docs.z.ai/devpack"})
    assert not found.is_error and text_of(found).startswith("2 results for 'plan only'")
    assert not page.is_error and "URL: https://docs.z.ai/devpack" in text_of(page)
    paths = [r["path"] for r in app.state.emulator.requests]
    assert any(p.endswith("/mcp/web_search_prime/mcp") for p in paths)
    assert any(p.endswith("/mcp/web_reader/mcp") for p in paths)
    await client.close()


class _Recording(AsyncEmulatorTransport):
    """The in-process emulator transport, keeping each request's JSON body."""

    def __init__(self) -> None:
        super().__init__(create_app(EmulatorConfig()))
        self.bodies: list[dict[str, Any]] = []

    async def handle_async_request(self, request: Any) -> Any:
        import json

        await request.aread()
        if request.headers.get("content-type", "").startswith("application/json"):
            self.bodies.append(json.loads(request.content))
        return await super().handle_async_request(request)


@pytest.mark.parametrize(
    ("tool", "fields", "expect"),
    [
        ("extract_text_from_screenshot", {"programming_language": "rust"}, "probably this programming language: rust"),
        ("diagnose_error_screenshot", {"context": "ran cargo build"}, "when the error appeared: ran cargo build"),
        ("ui_to_code", {"output_type": "spec", "framework": "SwiftUI"}, "design specification"),
        ("understand_diagram", {"diagram_type": "ER"}, "Diagram type: ER"),
        ("analyze_chart", {"analysis_focus": "Q3 revenue", "prompt": "is it growing?"}, "is it growing?"),
    ],
)
async def test_vision_request_carries_the_focused_prompt_and_the_image(
    tmp_path: Path, tool: str, fields: dict[str, Any], expect: str
) -> None:
    import base64

    from mcp import Client

    from glmkit import AsyncClient
    from glmkit.mcp_server.prompts import SYSTEM

    recording = _Recording()
    client = AsyncClient(api_key=TEST_KEY, base_url=OFFLINE_BASE, transport=recording, environ={})
    image = png(12, 9)
    (tmp_path / "shot.png").write_bytes(image)
    server = build_server(client, groups="vision", roots=[tmp_path])
    async with Client(server) as mcp_client:
        result = await mcp_client.call_tool(tool, {"image_source": str(tmp_path / "shot.png"), **fields})
    assert not result.is_error, text_of(result)
    (body,) = recording.bodies
    assert body["model"] == "glm-4.6v"
    system, user = body["messages"]
    assert system == {"role": "system", "content": SYSTEM[tool]}
    part, text = user["content"]
    assert part["type"] == "image_url"
    header, data = part["image_url"]["url"].split(",", 1)
    assert header == "data:image/png;base64" and base64.b64decode(data) == image
    assert text["type"] == "text" and expect in text["text"]
    for value in fields.values():
        if value not in ("spec",):
            assert value in text["text"]
    await client.close()


@pytest.mark.e2e
async def test_http_with_a_token_lets_only_its_bearer_in(
    upstream: EmulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    import httpx
    from mcp import ClientSession

    home = tmp_path_factory.mktemp("token-home")
    work = tmp_path_factory.mktemp("token-work")
    with http_server(home, upstream, work, "--tools", "tokens", "--token", "s3cret-token") as url:
        hello = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        accept = {"Accept": "application/json, text/event-stream"}
        async with httpx.AsyncClient() as raw:
            for auth in (None, "Bearer wrong", "s3cret-token"):
                headers = {**accept, **({"Authorization": auth} if auth else {})}
                refused = await raw.post(url, json=hello, headers=headers)
                assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        for scheme in ("Bearer", "bearer", "BEARER"):  # the scheme is case-insensitive (RFC 9110 11.1)
            async with (
                authorized_transport(url, "s3cret-token", scheme=scheme) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                result = await session.call_tool("count_tokens", {"text": "let me in"})
                assert not result.is_error
    assert "s3cret-token" not in (home / "stderr-http.log").read_text()


@pytest.mark.e2e
def test_beyond_loopback_needs_a_token(upstream: EmulatorServer, tmp_path: Path) -> None:
    done = run_mcp(tmp_path, upstream, "--http", "0", "--host", "0.0.0.0")
    assert done.returncode == 2
    assert "refusing to serve on 0.0.0.0 with a made-up token" in done.stderr and "--token" in done.stderr


async def test_generate_image_into_a_folder_says_so_first(tmp_path: Path) -> None:
    from mcp import Client

    client = async_offline_client(create_app(EmulatorConfig()))
    server = build_server(client, groups="image", roots=[tmp_path])
    async with Client(server) as mcp_client:
        result = await mcp_client.call_tool("generate_image", {"prompt": "a boat", "output_path": str(tmp_path)})
    assert result.is_error
    assert "is a folder" in text_of(result) and "overwrite" not in text_of(result)  # overwrite=true would not help
    await client.close()


async def test_count_tokens_of_a_folder_says_it_is_a_folder(tmp_path: Path) -> None:
    from mcp import Client

    client = async_offline_client(create_app(EmulatorConfig()))
    async with Client(build_server(client, groups="tokens", roots=[tmp_path])) as mcp_client:
        result = await mcp_client.call_tool("count_tokens", {"path": str(tmp_path)})
    assert result.is_error and "is a folder" in text_of(result)
    await client.close()


def test_host_without_http_is_a_usage_error() -> None:
    from typer.testing import CliRunner

    from glmkit.cli.app import app

    out = CliRunner().invoke(app, ["mcp", "--host", "0.0.0.0"])
    assert out.exit_code == 2 and "--http" in out.output


async def test_a_tool_is_a_plain_function_a_test_can_call() -> None:
    from glmkit.mcp_server.runtime import Runtime, use_runtime
    from glmkit.mcp_server.tokens import count_tokens
    from glmkit.mcp_server.vision import analyze_image

    client = async_offline_client(create_app(EmulatorConfig()))
    with use_runtime(Runtime(client=client, vision_model="glm-5v-turbo")):
        counted = await count_tokens(text="hello tokens")
        seen = await analyze_image("https://example.com/cat.png", "What is this?")
    await client.close()
    assert counted.endswith("tokens (12 characters).") and int(counted.split()[0]) > 0
    assert "glm-5v-turbo" in seen
    with pytest.raises(RuntimeError, match="use_runtime"):
        await count_tokens(text="no runtime")
