"""The MCP server: GLM's vision, search, reader, OCR, speech, image and token tools over one ``AsyncClient``.

```python
server = build_server(client, groups=["vision", "search"], ledger=writer)
await server.run_stdio_async()
```
Tools are plain module-level async functions, registered under their group by ``@tool`` (``registry.py``) and
reading the client from the ``Runtime`` of the call in progress; ``build_server`` wraps each (``runtime.guard``) so that a failure becomes an MCP tool error carrying the
SDK's message and hint (the server never dies of a bad call), and so that each call leaves one row in the ledger.
Tools hold no API knowledge: limits, defaults and endpoints live in the SDK.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glmkit.mcp_server.registry import TOOLS
from glmkit.mcp_server.runtime import Runtime, ToolFn, guard

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from glmkit._client import AsyncClient

__all__ = ["GROUPS", "BearerToken", "build_server", "check_vision_model", "group_tools", "http_app", "parse_groups"]

log = logging.getLogger("glmkit.mcp")

# Tool groups for ``--tools``: group -> (module in this package, the SDK resource module it needs).
GROUPS: dict[str, tuple[str, str]] = {
    "vision": ("vision", "chat"),
    "search": ("web", "web_search"),
    "reader": ("web", "reader"),
    "ocr": ("ocr", "ocr"),
    "speech": ("speech", "audio"),
    "image": ("images", "images"),
    "tokens": ("tokens", "tokenizer"),
}

INSTRUCTIONS = (
    "GLM (Z.AI) capabilities for a coding agent: vision tools read local images/screenshots/videos or URLs "
    "(UI to code, error screenshots, diagrams, charts, UI diffs, OCR of screenshots); web_search and web_read "
    "fetch current information from the web; ocr turns PDFs and scans into Markdown; transcribe turns audio "
    "into text; generate_image draws a picture to a file; count_tokens measures text. Paths are local to the "
    "machine running this server; relative paths resolve against its working directory, and only files inside "
    "your roots (or the server's --root folders, by default its working directory) can be read or written."
)

# Hints for clients deciding how to present a tool and whether to ask before running it.
TITLES = {
    "analyze_image": "Analyze an image",
    "extract_text_from_screenshot": "Extract text from a screenshot",
    "diagnose_error_screenshot": "Diagnose an error screenshot",
    "ui_to_code": "UI screenshot to code",
    "understand_diagram": "Understand a technical diagram",
    "analyze_chart": "Analyze a chart",
    "compare_ui_screenshots": "Compare two UI screenshots",
    "analyze_video": "Analyze a video",
    "web_search": "Search the web",
    "web_read": "Read a web page",
    "ocr": "OCR a document",
    "transcribe": "Transcribe audio",
    "generate_image": "Generate an image",
    "count_tokens": "Count tokens",
}
WRITES_FILES = {"ocr", "transcribe", "generate_image"}  # only where the agent names a path
OPEN_WORLD = {"web_search", "web_read"}


def parse_groups(spec: str | Iterable[str] | None) -> list[str]:
    """``"vision,search"`` -> ``["vision", "search"]``; None or ``"all"`` -> every group.

    Raises:
        InputError: a name that is not a group.
    """
    if spec is None:
        return list(GROUPS)
    names = [s.strip().lower() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    if not names or names == ["all"]:
        return list(GROUPS)
    unknown = [n for n in names if n not in GROUPS]
    if unknown:
        from glmkit._errors import InputError

        raise InputError(
            f"Unknown tool group {', '.join(map(repr, unknown))}.", hint=f"Pick from: {', '.join(GROUPS)} (or all)."
        )
    return list(dict.fromkeys(names))


def check_vision_model(model: str | None) -> str:
    """The vision model to use (default ``default_model("vision")``), refused if the catalog says it reads text only.

    Raises:
        InputError: a malformed id, or a text-only model.
    """
    from glmkit._errors import InputError
    from glmkit.catalog import default_model, get_model, normalize_model_id

    chosen = normalize_model_id(model or default_model("vision"))
    info = get_model(chosen)
    if info is not None and not info.vision:
        raise InputError(
            f"{chosen} reads text only, so it cannot serve the vision tools.",
            hint=f"Use a vision model such as {default_model('vision')} or {default_model('fast')}.",
        )
    return chosen


class BearerToken:
    """ASGI middleware: every HTTP request must carry ``Authorization: Bearer <token>`` (else 401).

    The scheme is matched without regard to case (RFC 9110 section 11.1: ``bearer x`` is as good as ``Bearer x``).
    """

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self._expected = token.encode()

    def __repr__(self) -> str:
        return "BearerToken(token=<hidden>)"

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        import hmac

        if scope["type"] == "http":
            header = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
            scheme, _, given = header.strip().partition(b" ")
            if scheme.lower() != b"bearer" or not hmac.compare_digest(given.strip(), self._expected):
                headers = [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]
                await send({"type": "http.response.start", "status": 401, "headers": headers})
                await send({"type": "http.response.body", "body": b'{"error": "missing or wrong bearer token"}'})
                return
        await self.app(scope, receive, send)


def http_app(server: MCPServer, *, host: str = "127.0.0.1", token: str | None = None) -> Any:
    """The streamable HTTP ASGI app at ``/mcp``; with ``token``, only requests bearing it get in.

    In front of it, the ``RequestGuard`` every glmkit server has (foreign ``Host``, non-loopback ``Origin``,
    non-JSON POST bodies refused; the SDK's own DNS-rebinding check stays behind it).
    """
    from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE

    from glmkit._request_guard import GuardPolicy, RequestGuard

    app = server.streamable_http_app(host=host)
    inner = BearerToken(app, token) if token else app
    policy = GuardPolicy.for_bind(host, max_body=DEFAULT_MAX_REQUEST_BODY_SIZE)  # the SDK's own cap, checked first
    return RequestGuard(inner, policy, _jsonrpc_refusal)


def _jsonrpc_refusal(scope: Any, status: int, message: str) -> Any:
    """A refused request as a JSON-RPC error (what the SDK answers a bad request with), under its HTTP status."""
    from starlette.responses import JSONResponse

    return JSONResponse({"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message}}, status)


def _available(resource: str) -> bool:
    return importlib.util.find_spec(f"glmkit.resources.{resource}") is not None


def group_tools(group: str) -> list[ToolFn]:
    """The tool functions of one group (empty when its SDK resource is not installed)."""
    module_name, resource = GROUPS[group]
    if not _available(resource):
        log.warning("tool group %r needs glmkit.resources.%s, which is missing; skipped", group, resource)
        return []
    try:
        importlib.import_module(f"glmkit.mcp_server.{module_name}")  # its ``@tool``s register on import
    except ModuleNotFoundError as exc:  # a part of the SDK this group stands on is not there
        log.warning("tool group %r skipped: %s", group, exc)
        return []
    return list(TOOLS.get(group, {}).values())


def build_server(
    client: AsyncClient,
    *,
    groups: str | Iterable[str] | None = None,
    vision_model: str | None = None,
    ledger: Any = None,
    transport: str = "stdio",
    roots: Iterable[str | Path] | None = None,
) -> MCPServer:
    """An ``MCPServer`` offering the chosen tool groups over ``client``.

    Args:
        client: the ``AsyncClient`` every tool calls (its settings pick the endpoint and key).
        groups: tool groups to expose (``"vision,search"`` or a list; default all): vision, search,
            reader, ocr, speech, image, tokens.
        vision_model: the model for the vision tools (default ``default_model("vision")``).
        ledger: a ``glmkit.ledger.BackgroundWriter`` or ``Ledger`` receiving one row per tool call.
        transport: ``stdio`` or ``http``, recorded in the ledger row's ``route`` (and as its ``client`` when
            the MCP client gave no name).
        roots: the folders the tools may read and write, besides the roots the MCP client declares (default:
            the working folder, when the client declares none). Paths elsewhere are tool errors.

    Raises:
        InputError: an unknown group name, or a vision model that reads text only.
    """
    from mcp.server.mcpserver import MCPServer
    from mcp.types import ToolAnnotations

    from glmkit._version import __version__
    from glmkit.catalog import default_model

    chosen = parse_groups(groups)
    model = check_vision_model(vision_model) if "vision" in chosen else vision_model or default_model("vision")
    folders = tuple(Path(r).expanduser().resolve() for r in roots or ())
    rt = Runtime(client=client, vision_model=model, ledger=ledger, transport=transport, roots=folders)
    server: MCPServer = MCPServer(
        "glm", title="GLM (Z.AI) tools", instructions=INSTRUCTIONS, version=__version__, log_level="WARNING"
    )
    for group in chosen:
        for fn in group_tools(group):
            name = fn.__name__
            rt.groups[name] = group
            hints = ToolAnnotations(
                title=TITLES.get(name),
                read_only_hint=name not in WRITES_FILES,
                destructive_hint=name == "generate_image",  # with overwrite=true it replaces a file
                idempotent_hint=name != "generate_image",
                open_world_hint=name in OPEN_WORLD,
            )
            server.add_tool(
                guard(name, fn, rt), name=name, title=TITLES.get(name), annotations=hints, structured_output=False
            )
    server.runtime = rt  # type: ignore[attr-defined]  # for callers that want the call counts
    return server
