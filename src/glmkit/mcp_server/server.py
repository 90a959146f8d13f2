"""The MCP server: GLM's vision, search, reader, OCR, speech, image and token tools over one ``AsyncClient``.

```python
server = build_server(client, groups=["vision", "search"], ledger=writer)
await server.run_stdio_async()
```
Tools are plain async functions (built per server by the group modules, closing over a ``Runtime``);
``build_server`` wraps each so that a failure becomes an MCP tool error carrying the SDK's message
and hint (the server never dies of a bad call), and so that each call leaves one row in the ledger.
Tools hold no API knowledge: limits, defaults and endpoints live in the SDK.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib
import importlib.util
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from glmkit._client import AsyncClient

__all__ = [
    "GROUPS",
    "BearerToken",
    "Runtime",
    "build_server",
    "check_vision_model",
    "http_app",
    "note",
    "note_usage",
    "parse_groups",
    "progress_reporter",
]

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
    "machine running this server; relative paths resolve against its working directory."
)

ToolFn = Callable[..., Awaitable[Any]]

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

# What the running tool learned about its call (model, tokens), for the ledger row.
_facts: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("glmkit_mcp_facts", default=None)


def note(**facts: Any) -> None:
    """Record facts about the current tool call (``model_requested``, ``model_used``, tokens) for the ledger."""
    current = _facts.get()
    if current is not None:
        current.update({k: v for k, v in facts.items() if v is not None})


def note_usage(model: str | None, response: Any) -> None:
    """Record the model and token usage of an SDK response (anything with ``.model`` and ``.usage``)."""
    usage = getattr(response, "usage", None)
    details = getattr(usage, "completion_tokens_details", None)
    current = _facts.get() or {}
    note(
        model_requested=model,
        model_used=getattr(response, "model", None) or model,
        input_tokens=current.get("input_tokens", 0) + (getattr(usage, "prompt_tokens", 0) or 0),
        output_tokens=current.get("output_tokens", 0) + (getattr(usage, "completion_tokens", 0) or 0),
        reasoning_tokens=current.get("reasoning_tokens", 0) + (getattr(details, "reasoning_tokens", 0) or 0),
        request_id=getattr(response, "request_id", None) or getattr(response, "id", None),
    )


ProgressFn = Callable[..., None]  # (progress, total=None, message=None)


@contextlib.asynccontextmanager
async def progress_reporter(ctx: Any) -> AsyncIterator[ProgressFn]:
    """A plain callback for the SDK's ``on_progress`` hooks that becomes MCP progress notifications.

    The SDK calls ``on_progress`` synchronously between requests; the notifications are sent by a
    task beside the tool, so a slow client never holds the work up. Without a context (a direct
    call) the callback does nothing.
    """
    if ctx is None:

        def ignore(progress: float, total: float | None = None, message: str | None = None) -> None:
            return None

        yield ignore
        return
    import math

    import anyio

    send, receive = anyio.create_memory_object_stream[tuple[float, float | None, str | None]](math.inf)

    async def pump() -> None:
        async with receive:
            async for progress, total, message in receive:
                try:
                    await ctx.report_progress(progress, total, message)
                except Exception:  # progress is a courtesy: never fail the tool over it
                    log.debug("progress notification failed", exc_info=True)

    def report(progress: float, total: float | None = None, message: str | None = None) -> None:
        send.send_nowait((progress, total, message))

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(pump)
            try:
                yield report
            finally:
                send.close()
    except BaseExceptionGroup as group:  # the tool's own error, not a group of them
        raise _unwrap(group) from None


def _unwrap(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


@dataclass
class Runtime:
    """What every tool shares: the client, the models to use, and where call records go."""

    client: AsyncClient
    vision_model: str
    ledger: Any = None  # a glmkit.ledger BackgroundWriter (``submit``) or Ledger (``add_request``)
    transport: str = "stdio"
    calls: dict[str, int] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)  # tool name -> its group

    def record(self, row: dict[str, Any]) -> None:
        """Count the call and write its row; a ledger failure never fails the tool."""
        self.calls[row["tool"]] = self.calls.get(row["tool"], 0) + 1
        if self.ledger is None:
            return
        try:
            submit = getattr(self.ledger, "submit", None)
            if submit is not None:
                submit(row)
            else:
                self.ledger.add_request(**row)
        except Exception:  # the ledger is bookkeeping: log and go on
            log.warning("could not record the %s call in the ledger", row["tool"], exc_info=True)


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


def error_result(exc: BaseException) -> Any:
    """A ``CallToolResult`` with ``is_error`` set, saying what went wrong and how to fix it."""
    from mcp.types import CallToolResult, TextContent

    from glmkit._errors import GLMError

    if isinstance(exc, GLMError):
        lines = [f"Error: {exc}"]
        if exc.hint:
            lines.append(f"Hint: {exc.hint}")
        rid = getattr(exc, "request_id", None)
        if rid:
            lines.append(f"Request id: {rid}")
    elif isinstance(exc, OSError):
        lines = [f"Error: {exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")]
    else:
        lines = [f"Error: glmkit failed unexpectedly ({type(exc).__name__}: {exc})."]
    return CallToolResult(content=[TextContent(type="text", text="\n".join(lines))], is_error=True)


def _status_of(exc: BaseException) -> tuple[int | None, str]:
    code = getattr(exc, "code", None)
    status = getattr(exc, "status_code", None)
    return status, str(code) if code else type(exc).__name__


def _client_name(ctx: Any) -> str | None:
    """The name the MCP client gave at ``initialize`` (``claude-code``, ``cursor``...), when it gave one."""
    try:
        return str(ctx.request_context.session.client_params.client_info.name) or None
    except Exception:  # no request context, or a 2026 client that sent no client info
        return None


def _with_context(fn: ToolFn, run: ToolFn) -> bool:
    """Give ``run`` ``fn``'s signature plus a ``ctx: Context`` the SDK fills in; True when ``fn`` takes ctx itself."""
    import inspect

    from mcp.server.mcpserver import Context

    sig = inspect.signature(fn, eval_str=True)
    if "ctx" in sig.parameters:
        return True
    extra = inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Context | None)
    run.__signature__ = sig.replace(parameters=[*sig.parameters.values(), extra])  # type: ignore[attr-defined]
    run.__annotations__ = {**fn.__annotations__, "ctx": Context | None}
    return False


def _guard(name: str, fn: ToolFn, rt: Runtime) -> ToolFn:
    """Wrap a tool: errors become tool errors, every call becomes a ledger row naming the calling client."""

    @functools.wraps(fn)
    async def run(**arguments: Any) -> Any:
        ctx = arguments.get("ctx") if takes_ctx else arguments.pop("ctx", None)
        facts: dict[str, Any] = {}
        token = _facts.set(facts)
        start = time.perf_counter()
        status: int | None = 200
        error_code: str | None = None
        try:
            return await fn(**arguments)
        except Exception as raised:
            exc = _unwrap(raised)
            status, error_code = _status_of(exc)
            if not isinstance(exc, OSError) and type(exc).__module__.split(".")[0] != "glmkit":
                log.exception("tool %s failed unexpectedly", name)
            return error_result(exc)
        except BaseException:  # cancelled by the client, or the server is stopping
            status, error_code = None, "cancelled"
            raise
        finally:
            _facts.reset(token)
            rt.record(
                {
                    "source": "mcp",
                    "client": _client_name(ctx) or rt.transport,
                    "route": f"tools/call ({rt.transport})",
                    "tool": name,
                    "latency_ms": round((time.perf_counter() - start) * 1000, 3),
                    "status": status,
                    "error_code": error_code,
                    **facts,
                }
            )

    takes_ctx = _with_context(fn, run)
    return run


class BearerToken:
    """ASGI middleware: every HTTP request must carry ``Authorization: Bearer <token>`` (else 401)."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    def __repr__(self) -> str:
        return "BearerToken(token=<hidden>)"

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        import hmac

        if scope["type"] == "http":
            given = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
            if not hmac.compare_digest(given, self._expected):
                headers = [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]
                await send({"type": "http.response.start", "status": 401, "headers": headers})
                await send({"type": "http.response.body", "body": b'{"error": "missing or wrong bearer token"}'})
                return
        await self.app(scope, receive, send)


def http_app(server: MCPServer, *, host: str = "127.0.0.1", token: str | None = None) -> Any:
    """The streamable HTTP ASGI app at ``/mcp``; with ``token``, only requests bearing it get in.

    The SDK turns on DNS-rebinding protection when ``host`` is a loopback address.
    """
    app = server.streamable_http_app(host=host)
    return BearerToken(app, token) if token else app


def _available(resource: str) -> bool:
    return importlib.util.find_spec(f"glmkit.resources.{resource}") is not None


def group_tools(group: str, rt: Runtime) -> list[ToolFn]:
    """The tool functions of one group (empty when its SDK resource is not installed)."""
    module_name, resource = GROUPS[group]
    if not _available(resource):
        log.warning("tool group %r needs glmkit.resources.%s, which is missing; skipped", group, resource)
        return []
    try:
        module = importlib.import_module(f"glmkit.mcp_server.{module_name}")
    except ModuleNotFoundError as exc:  # a part of the SDK this group stands on is not there
        log.warning("tool group %r skipped: %s", group, exc)
        return []
    return list(getattr(module, f"{group}_tools")(rt))


def build_server(
    client: AsyncClient,
    *,
    groups: str | Iterable[str] | None = None,
    vision_model: str | None = None,
    ledger: Any = None,
    transport: str = "stdio",
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

    Raises:
        InputError: an unknown group name, or a vision model that reads text only.
    """
    from mcp.server.mcpserver import MCPServer
    from mcp.types import ToolAnnotations

    from glmkit._version import __version__
    from glmkit.catalog import default_model

    chosen = parse_groups(groups)
    model = check_vision_model(vision_model) if "vision" in chosen else vision_model or default_model("vision")
    rt = Runtime(client=client, vision_model=model, ledger=ledger, transport=transport)
    server: MCPServer = MCPServer(
        "glm", title="GLM (Z.AI) tools", instructions=INSTRUCTIONS, version=__version__, log_level="WARNING"
    )
    for group in chosen:
        for fn in group_tools(group, rt):
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
                _guard(name, fn, rt), name=name, title=TITLES.get(name), annotations=hints, structured_output=False
            )
    server.runtime = rt  # type: ignore[attr-defined]  # for callers that want the call counts
    return server
