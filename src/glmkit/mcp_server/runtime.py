"""What a tool call runs inside: the shared ``Runtime``, the facts a tool notes for its ledger row, progress
notifications, and ``guard``, which turns any failure into an MCP tool error and every call into a row.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glmkit.mcp_server.paths import allowed_roots

if TYPE_CHECKING:
    from glmkit._client import AsyncClient

__all__ = [
    "ProgressFn",
    "Runtime",
    "ToolFn",
    "current_runtime",
    "error_result",
    "guard",
    "note",
    "note_usage",
    "progress_reporter",
    "use_runtime",
]

log = logging.getLogger("glmkit.mcp")

ToolFn = Callable[..., Awaitable[Any]]

# What the running tool learned about its call (model, tokens), for the ledger row.
_facts: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("glmkit_mcp_facts", default=None)
# The runtime of the tool call in progress: its client, vision model and allowed folders.
_runtime: contextvars.ContextVar[Runtime | None] = contextvars.ContextVar("glmkit_mcp_runtime", default=None)


def current_runtime() -> Runtime:
    """The ``Runtime`` of the tool call in progress (``guard`` sets it; a direct call sets it with ``use_runtime``).

    Raises:
        RuntimeError: called outside a tool call and outside ``use_runtime``.
    """
    rt = _runtime.get()
    if rt is None:
        raise RuntimeError("no glmkit MCP runtime here: call the tool through a server, or inside use_runtime(rt)")
    return rt


@contextlib.contextmanager
def use_runtime(rt: Runtime) -> Iterator[Runtime]:
    """Let the tool functions called inside use ``rt`` (its client and models), as a server's calls do."""
    token = _runtime.set(rt)
    try:
        yield rt
    finally:
        _runtime.reset(token)


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
    roots: tuple[Path, ...] = ()  # folders given with --root; none: the working folder

    async def folders(self, ctx: Any) -> tuple[Path, ...]:
        """The folders a tool call may use: the client's declared roots plus ``roots``, else ``roots`` or the cwd."""
        given = self.roots or (Path.cwd().resolve(),)
        declared = await client_roots(ctx)
        return (*declared, *self.roots) if declared else given

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


async def client_roots(ctx: Any) -> list[Path]:
    """The ``file://`` roots the MCP client declares (asked with ``roots/list`` on each call: they may change).

    Empty when there is no request context, the client declares no roots capability, or it does not answer
    within 5 s. The roots capability is deprecated in MCP 2026-07-28 but is what today's clients send.
    """
    if ctx is None:
        return []
    import warnings
    from urllib.parse import unquote, urlsplit

    import anyio

    try:
        session = ctx.request_context.session
        capabilities = session.client_capabilities
        if capabilities is None or capabilities.roots is None:
            return []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MCPDeprecationWarning: see the docstring
            with anyio.fail_after(5):
                result = await session.list_roots()
    except Exception:  # no back-channel, a timeout, an error from the client: fall back to --root
        log.debug("could not list the client's roots", exc_info=True)
        return []
    uris = (str(root.uri) for root in result.roots)
    return [Path(unquote(urlsplit(uri).path)).resolve() for uri in uris if uri.lower().startswith("file://")]


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
    except (ValueError, AttributeError):  # no request context (ValueError), or a client that sent no client info
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


def guard(name: str, fn: ToolFn, rt: Runtime) -> ToolFn:
    """Wrap a tool: errors become tool errors, every call becomes a ledger row naming the calling client."""

    @functools.wraps(fn)
    async def run(**arguments: Any) -> Any:
        ctx = arguments.get("ctx") if takes_ctx else arguments.pop("ctx", None)
        facts: dict[str, Any] = {}
        token = _facts.set(facts)
        start = time.perf_counter()
        status: int | None = 200
        error_code: str | None = None
        confined = allowed_roots.set(await rt.folders(ctx))
        bound = _runtime.set(rt)
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
            _runtime.reset(bound)
            allowed_roots.reset(confined)
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
