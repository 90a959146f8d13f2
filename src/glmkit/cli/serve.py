"""``glm serve``: the local gateway (Anthropic Messages + OpenAI Chat) in front of the GLM coding endpoint."""

from __future__ import annotations

import typer

from glmkit.cli._common import OFFLINE, PROFILE


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback by default; others need --token)."),
    port: int = typer.Option(8742, "--port", help="Port to listen on (0: any free port)."),
    token: str = typer.Option(
        None, "--token", envvar="GLM_GATEWAY_TOKEN", help="Gateway token clients must send as their API key."
    ),
    mode: str = typer.Option(
        None,
        "--mode",
        help="Upstream for /v1/messages: translate (coding endpoint) or passthrough (Z.AI's Anthropic endpoint).",
    ),
    max_inflight: int = typer.Option(None, "--max-inflight", help="Upstream requests in flight per model (default 2)."),
    log_bodies: bool = typer.Option(False, "--log-bodies", help="Log request bodies (keys redacted)."),
    offline: bool = OFFLINE,
    profile: str = PROFILE,
) -> None:
    """Serve Anthropic and OpenAI APIs locally: point Claude Code's ANTHROPIC_BASE_URL at http://127.0.0.1:8742."""
    import logging
    import socket

    from glmkit.cli._common import fail, handle_errors

    with handle_errors():
        from glmkit._config import config_path, load_config, resolve_settings
        from glmkit.gateway.config import from_config

        settings = resolve_settings(profile=profile, offline=offline or None)
        table = load_config(config_path()).get("gateway") or {}
        config = from_config(
            table,
            host=host,
            port=port,
            token=token,
            mode=mode,
            max_inflight=max_inflight,
            log_bodies=log_bodies or None,
        )
        transport = None
        if settings.offline:
            from glmkit.emulator import EmulatorConfig, create_app
            from glmkit.testing import OFFLINE_BASE, TEST_KEY, AsyncEmulatorTransport

            transport = AsyncEmulatorTransport(create_app(EmulatorConfig()))
            settings = resolve_settings(
                api_key=TEST_KEY, base_url=OFFLINE_BASE.replace("/paas/", "/coding/paas/"), environ={}
            )
        elif not settings.api_key:
            raise fail(
                "No Z.AI API key for the gateway's upstream.",
                hint="Set ZAI_API_KEY, run `glm setup`, or add --offline to serve the emulator.",
                code=3,
            )
        import uvicorn

        from glmkit.gateway.app import create_app as create_gateway

        logging.basicConfig(level=logging.INFO if log_bodies else logging.WARNING, format="%(name)s: %(message)s")
        app = create_gateway(config, settings, transport=transport)
        # IPPROTO_TCP spelled out: asyncio sets TCP_NODELAY only then; without it keep-alive replies wait ~40 ms (Nagle)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise fail(
                f"Cannot bind {host}:{port}: {exc.strerror}.", hint="Pick another --port (0: any free one).", code=2
            ) from None
        actual = sock.getsockname()[1]
        upstream = "the in-process emulator" if settings.offline or transport else settings.chat_base_url
        typer.echo(
            f"glm serve: http://{host}:{actual}  (ANTHROPIC_BASE_URL=http://{host}:{actual}, "
            f"OpenAI base http://{host}:{actual}/v1) -> {upstream} [{config.mode}]",
            err=True,
        )
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5))
        server.run(sockets=[sock])


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the app."""
    app.command("serve")(serve)
