"""``glm mcp``: GLM's vision, search, reader, OCR, speech and image tools as one MCP server.

stdio by default (``claude mcp add glm -- glm mcp``); ``--http PORT`` serves streamable HTTP on
127.0.0.1, always behind a bearer token (``--token``, ``GLM_MCP_TOKEN``, ``[mcp] token`` in the config,
or one made up at start and printed). Tools read and write files only inside the client's roots or the
``--root`` folders (default: the working folder). Nothing but MCP messages may reach stdout in stdio
mode: notices go to stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from glmkit.cli._common import DEBUG, ENDPOINT, OFFLINE, PROFILE, handle_errors, listen

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def mcp(
    http: int = typer.Option(
        None, "--http", min=0, max=65535, help="Serve streamable HTTP on this port (0: any free port) instead of stdio."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address for --http (loopback by default)."),
    token: str | None = typer.Option(
        None,
        "--token",
        envvar="GLM_MCP_TOKEN",
        help="The bearer token --http requires ('Authorization: Bearer TOKEN'); default: [mcp] token in the "
        "config, else a new one printed at start.",
    ),
    roots: list[Path] = typer.Option(
        None,
        "--root",
        help="A folder the tools may read and write (repeatable); default: the working folder, plus the roots "
        "the client declares.",
    ),
    tools: str = typer.Option(
        None, "--tools", help="Tool groups to expose: vision,search,reader,ocr,speech,image,tokens (default: all)."
    ),
    vision_model: str = typer.Option(None, "--vision-model", help="Model for the vision tools (default glm-4.6v)."),
    no_ledger: bool = typer.Option(False, "--no-ledger", help="Do not record tool calls in the usage ledger."),
    list_tools: bool = typer.Option(False, "--list", help="Print the tools that would be served, and exit."),
    offline: bool = OFFLINE,
    profile: str = PROFILE,
    endpoint: str = ENDPOINT,
    debug: bool = DEBUG,
) -> None:
    """Run the MCP server: claude mcp add glm -- glm mcp   (or glm mcp --http 8765 for streamable HTTP)."""
    with handle_errors(debug):
        from glmkit.mcp_server.server import check_vision_model, parse_groups

        groups = parse_groups(tools)  # a typo fails here, before anything starts
        if vision_model and "vision" in groups:
            vision_model = check_vision_model(vision_model)
        if http is None and host != "127.0.0.1":
            from glmkit.cli._common import fail

            raise fail("--host only applies to --http (stdio has no address).", hint="Add --http PORT.", code=2)
        folders = _check_roots(roots or [])
        if http is not None and not token:
            token = _configured_token()
            if host not in _LOOPBACK and not token:
                from glmkit.cli._common import fail

                raise fail(
                    f"refusing to serve on {host} with a made-up token: set one that the remote client can be given.",
                    hint="Add --token SECRET (or GLM_MCP_TOKEN, or token in the [mcp] table of the config) and send "
                    "'Authorization: Bearer SECRET', or keep the default --host 127.0.0.1.",
                    code=2,
                )
        if list_tools:
            _print_tools(groups, vision_model)
            return
        sock = listen(host, http, option="--http") if http is not None else None
        import anyio

        anyio.run(_serve, groups, sock, token, vision_model, not no_ledger, offline, profile, endpoint, folders)


def _check_roots(roots: list[Path]) -> list[Path]:
    """The ``--root`` folders, absolute; one that is not a folder is a usage error."""
    from glmkit._errors import InputError

    folders = []
    for root in roots:
        folder = root.expanduser().resolve()
        if not folder.is_dir():
            raise InputError(f"--root {root}: no folder at {folder}.", hint="Give an existing folder.")
        folders.append(folder)
    return folders


def _configured_token() -> str | None:
    """``token`` in the config file's ``[mcp]`` table, if set."""
    from glmkit._config import config_path, load_config

    table = load_config(config_path()).get("mcp") or {}
    value = table.get("token") if isinstance(table, dict) else None
    return str(value) if value else None


def _print_tools(groups: list[str], vision_model: str | None) -> None:
    """One line per tool: name, group and the first line of its description (no key, no network needed)."""
    import anyio

    from glmkit import AsyncClient
    from glmkit.mcp_server.registry import TOOLS
    from glmkit.mcp_server.server import build_server

    server = build_server(AsyncClient(environ={}), groups=groups, vision_model=vision_model)
    group_of = {name: group for group in groups for name in TOOLS.get(group, {})}  # registered as it was built
    for tool in anyio.run(server.list_tools):
        summary = (tool.description or "").strip().splitlines()[0]
        typer.echo(f"{tool.name:<30} {group_of[tool.name]:<7} {summary}")
    for group in sorted(set(groups) - set(group_of.values())):
        typer.echo(f"glm mcp: the {group} tools are unavailable in this install.", err=True)


async def _serve(
    groups: list[str],
    sock: Any,
    token: str | None,
    vision_model: str | None,
    use_ledger: bool,
    offline: bool,
    profile: str | None,
    endpoint: str | None,
    roots: list[Path],
) -> None:
    from glmkit.cli._common import make_async_client
    from glmkit.mcp_server.server import build_server

    client = make_async_client(offline=offline, profile=profile, endpoint=endpoint)
    if client.auth is None:
        sys.stderr.write(
            "glm mcp: no API key (set ZAI_API_KEY or run `glm setup`); tools will answer with this error.\n"
        )
    writer = _ledger_writer() if use_ledger else None
    try:
        server = build_server(
            client,
            groups=groups,
            vision_model=vision_model or client.settings.options.get("vision_model"),
            ledger=writer,
            transport="stdio" if sock is None else "http",
            roots=roots,
        )
        if sock is None:
            await server.run_stdio_async()
        else:
            await _serve_http(server, sock, token)
    finally:
        await client.close()
        if writer is not None:
            writer.close()


def _ledger_writer() -> Any:
    """A background writer on the default ledger, or None (with a notice) when it cannot be opened."""
    try:
        from glmkit.ledger import BackgroundWriter, Ledger

        return BackgroundWriter(Ledger())
    except Exception as exc:  # the ledger is bookkeeping: serve without it
        hint = getattr(exc, "hint", None) or ""
        sys.stderr.write(f"glm mcp: tool calls will not be recorded. {exc} {hint}".rstrip() + "\n")
        return None


async def _serve_http(server: Any, sock: Any, token: str | None) -> None:
    import secrets

    import uvicorn

    from glmkit.mcp_server.server import http_app

    host, actual = sock.getsockname()[:2]
    made_up = not token
    token = token or secrets.token_urlsafe(24)
    app = http_app(server, host=host, token=token)
    shown = f"[{host}]" if ":" in host else host
    sys.stderr.write(f"glm mcp: serving streamable HTTP on http://{shown}:{actual}/mcp (bearer token required)\n")
    if made_up:  # the user has to see it to give it to the client; a token they chose they already know
        sys.stderr.write(
            f"  token: {token}\n  send 'Authorization: Bearer {token}'; keep one across restarts with --token, "
            "GLM_MCP_TOKEN or token in the [mcp] table of the config\n"
        )
    sys.stderr.flush()
    from glmkit._request_guard import server_config

    await uvicorn.Server(server_config(app, 10.0, lifespan="on")).serve(sockets=[sock])


def register(app: typer.Typer) -> None:
    """Add ``mcp`` to the app."""
    app.command("mcp")(mcp)
