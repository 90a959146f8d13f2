"""What every command shares: global options, building a client, and turning errors into exit codes.

Exit codes: 0 ok, 1 other, 2 usage/bad input, 3 auth, 4 quota or rate limit, 5 server or network, 130 Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar, cast

import typer

if TYPE_CHECKING:
    from glmkit._client import AsyncClient, Client

T = TypeVar("T")

OFFLINE = typer.Option(False, "--offline", help="Run against the in-process emulator (no key, no network).")
PROFILE = typer.Option(None, "--profile", "-P", help="Config profile to use.")
ENDPOINT = typer.Option(
    None, "--endpoint", "-E", help="auto, general, coding, mainland-general, mainland-coding, or a URL."
)
DEBUG = typer.Option(False, "--debug", help="Show the traceback and request id on errors.")
JSON = typer.Option(False, "--json", help="Print machine-readable JSON.")


def stderr_console() -> Any:
    """A rich console on stderr (imported late)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def make_client(
    *, offline: bool = False, profile: str | None = None, endpoint: str | None = None, **kwargs: Any
) -> Client:
    """A ``Client`` from the CLI's options; ``--offline`` (or ``GLM_OFFLINE=1``) wires it to the in-process emulator."""
    return cast("Client", _make(False, offline=offline, profile=profile, endpoint=endpoint, **kwargs))


def make_async_client(
    *, offline: bool = False, profile: str | None = None, endpoint: str | None = None, **kwargs: Any
) -> AsyncClient:
    """The async twin of ``make_client``."""
    return cast("AsyncClient", _make(True, offline=offline, profile=profile, endpoint=endpoint, **kwargs))


def _make(is_async: bool, *, offline: bool, profile: str | None, endpoint: str | None, **kwargs: Any) -> Any:
    from glmkit._config import resolve_settings

    settings = resolve_settings(profile=profile, endpoint=endpoint, offline=offline or None, **kwargs)
    if settings.offline:
        from glmkit import testing

        offline_factory = testing.async_offline_client if is_async else testing.offline_client
        return _noting(lambda: offline_factory(settings=offline_settings(settings)))
    from glmkit._client import AsyncClient, Client

    factory = AsyncClient if is_async else Client
    return _noting(lambda: factory(settings=settings))


def _noting(build: Callable[[], T]) -> T:
    """Build a client; the SDK's notices (the coding-endpoint one) become ``note:`` lines on stderr, not warnings."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client = build()
    for w in caught:
        sys.stderr.write(f"note: {w.message}\n")
    return client


def offline_settings(settings: Any) -> Any:
    """``settings`` aimed at the in-process emulator, keeping the endpoint choice and the profile's options.

    The key is the emulator's own (sent as a plain key); a base URL outside Z.AI's ``/api/...`` layout falls
    back to the emulator's default for it.
    """
    from urllib.parse import urlsplit

    from glmkit._config import Settings
    from glmkit.testing import OFFLINE_BASE, TEST_KEY

    origin = OFFLINE_BASE[: OFFLINE_BASE.index("/api/")]
    defaults = Settings()

    def moved(field: str) -> str:
        path = urlsplit(str(getattr(settings, field))).path
        return origin + (path if path.startswith("/api/") else urlsplit(str(getattr(defaults, field))).path)

    return settings.with_changes(
        api_key=TEST_KEY,
        auth="key",
        **{f: moved(f) for f in ("base_url", "chat_base_url", "root_url", "anthropic_base_url")},
    )


def fail(message: str, *, hint: str | None = None, code: int = 1) -> typer.Exit:
    """Print one red line (and a hint) to stderr; return the ``Exit`` to raise."""
    console = stderr_console()
    console.print(f"[red]error:[/red] {_escape(message)}")
    if hint:
        console.print(f"[dim]hint: {_escape(hint)}[/dim]")
    return typer.Exit(code)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def fallback_hint(exc: BaseException) -> str:
    """The hint for an error that brought none of its own: every error line has one (docs/cli.md)."""
    import click

    from glmkit._errors import APIStatusError, InputError

    ctx = click.get_current_context(silent=True)
    command = ctx.command_path if ctx is not None else "glm"
    if isinstance(exc, InputError):
        return f"`{command} --help` lists the arguments and options and the values they take."
    if isinstance(exc, APIStatusError):
        return "Add --debug to see the request id (quote it to Z.AI support); `glm doctor` checks key and endpoint."
    return f"Add --debug to {command} for the details."


@contextlib.contextmanager
def handle_errors(debug: bool = False) -> Iterator[None]:
    """Turn a ``GLMError`` into its message, hint and exit code; Ctrl-C into 130."""
    from glmkit._errors import GLMError

    try:
        yield
    except GLMError as exc:
        if debug:
            import traceback

            traceback.print_exc()
            rid = getattr(exc, "request_id", None)
            if rid:
                sys.stderr.write(f"request id: {rid}\n")
        raise fail(str(exc), hint=exc.hint or fallback_hint(exc), code=exc.exit_code) from None
    except BrokenPipeError:  # the reader of our output went away: the caller decides, not an error to report
        raise
    except OSError as exc:  # a file or folder named on the command line could not be read or written
        if debug:
            import traceback

            traceback.print_exc()
        where = f": {exc.filename}" if exc.filename else ""
        raise fail(f"{exc.strerror or exc}{where}", hint="Check the path and its permissions.", code=1) from None
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted\n")
        raise typer.Exit(130) from None


def is_tty(stream: Any = None) -> bool:
    """Whether a stream (stdout by default) is a terminal."""
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)()) and os.environ.get("TERM") != "dumb"


def listen(host: str, port: int, *, option: str) -> Any:
    """A socket bound to ``host:port`` for a server, or one red line (port taken, address not this machine's).

    ``option`` is the flag that chose the port (``--port``, ``--http``), named in the hint.
    """
    import socket

    # IPPROTO_TCP spelled out: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and without it
    # every keep-alive reply waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        # listening now, not when uvicorn starts: once the address is printed, connections queue in the backlog
        # instead of being refused while the server is still importing (a race callers hit on a busy machine)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise fail(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}.",
            hint=f"Pick another port with {option} PORT, or {option} 0 for any free port.",
        ) from None
    return sock


def with_stdin(words: list[str] | None, *, sep: str = "\n\n") -> str:
    """The words of the command line, with piped stdin after them (its trailing newlines dropped)."""
    text = " ".join(words or [])
    if not sys.stdin.isatty():
        piped = sys.stdin.read().rstrip("\n")
        if piped.strip():
            text = f"{text}{sep}{piped}" if text else piped
    return text


def complete_model(incomplete: str) -> list[str]:
    """Shell completion for ``--model``: the chat models of the catalog."""
    from glmkit.catalog import all_models

    return [m.id for m in all_models() if m.kind == "chat" and m.id.startswith(incomplete)]


# `glm ask` and `glm chat` (the default named here is checked against the catalog by a test).
CHAT_MODEL = typer.Option(
    None,
    "--model",
    "-m",
    metavar="MODEL",
    autocompletion=complete_model,
    help="Model id (default: the profile's, else glm-5.3).",
)
SYSTEM = typer.Option(None, "--system", "-s", metavar="TEXT", help="A system prompt.")
