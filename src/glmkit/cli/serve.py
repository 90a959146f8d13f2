"""``glm serve``: the local gateway (Anthropic Messages + OpenAI Chat) in front of the GLM coding endpoint."""

from __future__ import annotations

from typing import Any

import typer

from glmkit.cli._common import OFFLINE, PROFILE


def _upstream(offline: bool, profile: str | None) -> tuple[Any, Any, str]:
    """(settings, httpx transport or ``None``, a name for the upstream) for the gateway to call."""
    from glmkit._config import resolve_settings
    from glmkit.cli._common import fail

    settings = resolve_settings(profile=profile, offline=offline or None)
    if settings.offline:
        from glmkit.emulator import EmulatorConfig, create_app
        from glmkit.testing import OFFLINE_BASE, TEST_KEY, AsyncEmulatorTransport

        transport = AsyncEmulatorTransport(create_app(EmulatorConfig()))
        coding = OFFLINE_BASE.replace("/paas/", "/coding/paas/")
        return resolve_settings(api_key=TEST_KEY, base_url=coding, environ={}), transport, "the in-process emulator"
    if not settings.api_key:
        raise fail(
            "No Z.AI API key for the gateway's upstream.",
            hint="Set ZAI_API_KEY, run `glm setup`, or add --offline to serve the emulator.",
            code=2,  # InputError's code, as `glm ask` exits without a key
        )
    return settings, None, settings.chat_base_url


def banner(url: str, mode: str, upstream: str, token: bool, ledger: str | None) -> str:
    """What ``glm serve`` prints once it listens: the address, and how to point Claude Code and OpenAI tools at it."""
    key, note = ("$GLM_GATEWAY_TOKEN", "the gateway token") if token else ("glm", "any value: no gateway token is set")
    lines = [
        f"glm serve: listening on {url}  (mode {mode}, upstream {upstream})",
        f"  Claude Code:  ANTHROPIC_BASE_URL={url} ANTHROPIC_AUTH_TOKEN={key} claude   (key: {note})",
        f"  OpenAI tools: base URL {url}/v1, same key",
        f"  Usage ledger: {ledger}  (`glm usage`)" if ledger else "  Usage ledger: off",
        "  Ctrl-C stops (requests in flight get 5 s to finish; the ledger is flushed).",
    ]
    return "\n".join(lines)


def phase_line(config: Any) -> str:
    """The plan's price phase now, and what the gateway does with background requests in it."""
    import datetime as dt

    from glmkit.types.quota import price_phase

    now = dt.datetime.now(dt.UTC)
    phase = price_phase(now, config.peak_table())
    until = phase.changes_at.astimezone().strftime("%a %H:%M")
    most = config.hold_max_seconds
    limit = f"{most / 3600:g} h" if most >= 3600 else f"{most:g} s"
    held = f"held until off-peak (at most {limit})" if phase.peak else "sent at once (off-peak)"
    return (
        f"  Price phase: {phase.name} until {until} (peak hours {phase.hours}); background requests"
        f" (x-glm-priority: background) are {held}"
    )


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback by default; others need --token)."),
    port: int = typer.Option(8742, "--port", help="Port to listen on (0: any free port)."),
    token: str = typer.Option(
        None,
        "--token",
        envvar="GLM_GATEWAY_TOKEN",
        help="Gateway token clients must send as their API key (x-api-key or Bearer). Required off loopback.",
    ),
    mode: str = typer.Option(
        None,
        "--mode",
        help="Upstream for /v1/messages: translate (GLM's OpenAI-style coding endpoint; default) "
        "or passthrough (Z.AI's Anthropic endpoint, with its usage and empty-block quirks mended).",
    ),
    max_inflight: int = typer.Option(
        None, "--max-inflight", help="Upstream requests in flight per model (default 2); the rest queue fairly."
    ),
    log_bodies: bool = typer.Option(False, "--log-bodies", help="Log request bodies (keys redacted)."),
    offline: bool = OFFLINE,
    profile: str = PROFILE,
) -> None:
    """Serve the Anthropic Messages and OpenAI Chat APIs locally, in front of GLM.

    Point Claude Code at it with ANTHROPIC_BASE_URL=http://127.0.0.1:8742 (OpenAI tools: .../v1).
    Settings beyond these options live in the [gateway] table of the config file (model mapping,
    vision routing, per-route mode, queue limits). Every request is a row in the usage ledger.
    """
    import logging

    from glmkit.cli._common import handle_errors, listen

    with handle_errors():
        options = {"host": host, "port": port, "token": token, "mode": mode, "max_inflight": max_inflight}
        config = _gateway_config(options, log_bodies=log_bodies)
        settings, transport, upstream = _upstream(offline, profile)
        from glmkit.gateway.app import create_app

        logging.basicConfig(level=logging.INFO if log_bodies else logging.WARNING, format="%(name)s: %(message)s")
        app = create_app(config, settings, transport=transport)
        sock = listen(host, port, option="--port")
        where = f"[{host}]" if ":" in host else host
        url = f"http://{where}:{sock.getsockname()[1]}"
        from glmkit.ledger import default_path

        ledger = (config.ledger_path or str(default_path())) if config.ledger else None
        if app.state.gateway.ledger_problem:
            ledger = f"{ledger} is unusable: requests are not recorded (see above)"
        typer.echo(banner(url, config.mode, upstream, bool(config.token), ledger), err=True)
        typer.echo(phase_line(config), err=True)
        _run(app, sock, config.header_timeout)
        typer.echo("glm serve: stopped.", err=True)


def _gateway_config(options: dict[str, Any], *, log_bodies: bool) -> Any:
    """The ``[gateway]`` table of the config file with the command line's options over it."""
    import os

    from glmkit._config import config_path, load_config
    from glmkit._errors import InputError
    from glmkit.gateway.config import from_config

    path = config_path()
    table = load_config(path).get("gateway") or {}
    options["fallback_key"] = os.environ.get("GLM_FALLBACK_API_KEY") or None
    try:
        return from_config(table, log_bodies=log_bodies or None, **options)
    except InputError as exc:
        if not table:
            raise
        raise InputError(f"{exc} (in {path})", hint=exc.hint) from None


def _run(app: Any, sock: Any, header_timeout: float) -> None:
    """Serve ``app`` on ``sock`` with uvicorn until Ctrl-C (or a signal) stops it."""
    import contextlib

    import uvicorn

    from glmkit._request_guard import server_config

    # no access log: glm serve logs at warning level, and the ledger records every request
    server = uvicorn.Server(
        server_config(app, header_timeout, access_log=False, lifespan="on", timeout_graceful_shutdown=5)
    )
    # The cyclic garbage collector was 6% of the gateway's CPU (perf): with Python's default threshold a collection
    # ran every few requests and the older generations' ones walked every object the imports made. Those are frozen
    # (never scanned again) and the young generation is collected ten times less often: 13% less CPU per request
    # at 64 in flight (bench.gateway). Cycles a request leaves behind are still collected, a little later.
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(7000, 10, 10)
    # uvicorn re-raises Ctrl-C once it has shut down (lifespan done, ledger flushed): a normal stop, exit 0
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the app."""
    app.command("serve")(serve)
