"""``glm emulate``: the offline Z.AI API on a loopback port."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from glmkit.cli._common import fail, listen

HEADER_TIMEOUT = 10.0  # seconds a connection may take to send its request headers


def emulate(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback by default)."),
    port: int = typer.Option(8741, "--port", min=0, max=65535, help="Port to listen on (0: any free port)."),
    keys: str = typer.Option(None, "--keys", help="Comma-separated keys to accept (default: any well-formed key)."),
    scenario: Path = typer.Option(
        None, "--scenario", exists=True, dir_okay=False, help="A JSON file of faults to inject."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed for ids and generated content."),
    max_concurrency: int = typer.Option(
        0, "--max-concurrency", min=0, help="Requests in flight per model before 1302 (0: no limit)."
    ),
    job_seconds: float = typer.Option(2.0, "--job-seconds", min=0, help="How long async jobs stay PROCESSING."),
    chunk_delay: float = typer.Option(0.0, "--chunk-delay", min=0, help="Seconds between stream chunks."),
    extra_model: list[str] = typer.Option(
        None, "--extra-model", help="Serve and list a model the catalog does not know (a new release); repeatable."
    ),
    ssl_certfile: Path = typer.Option(
        None, "--ssl-certfile", exists=True, dir_okay=False, help="Serve https with this certificate chain (PEM)."
    ),
    ssl_keyfile: Path = typer.Option(
        None, "--ssl-keyfile", exists=True, dir_okay=False, help="The certificate's private key (PEM)."
    ),
) -> None:
    """Serve a faithful offline Z.AI API: point ZAI_BASE_URL=http://127.0.0.1:8741/api/paas/v4 at it.

    With --ssl-certfile (and --ssl-keyfile) it serves https, for testing a client's TLS path end to end.
    """
    from glmkit.emulator import EmulatorConfig

    config = EmulatorConfig(
        keys=frozenset(k.strip() for k in keys.split(",") if k.strip()) if keys else frozenset(),
        seed=seed,
        max_concurrency=max_concurrency,
        job_seconds=job_seconds,
        chunk_delay=chunk_delay,
        allowed_hosts=("*",) if host in ("0.0.0.0", "::") else (host,),
    )
    if extra_model:
        from glmkit.emulator.chat_checks import add_extra_models

        add_extra_models(extra_model)
    if ssl_keyfile is not None and ssl_certfile is None:
        raise fail(
            "--ssl-keyfile needs --ssl-certfile.", hint="Pass the certificate chain with --ssl-certfile.", code=2
        )
    app = _app(config, scenario)
    sock = listen(host, port, option="--port")
    actual = sock.getsockname()[1]
    scheme = "https" if ssl_certfile else "http"
    config.public_url = f"{scheme}://{host}:{actual}"
    typer.echo(
        f"glm emulate: serving the Z.AI API on {scheme}://{host}:{actual}  (ZAI_BASE_URL={scheme}://{host}:{actual}/api/paas/v4)",
        err=True,
    )
    _run(app, sock, ssl_certfile, ssl_keyfile)


def _run(app: Any, sock: Any, certfile: Path | None, keyfile: Path | None) -> None:
    """Serve ``app`` on ``sock`` with uvicorn (https when given a certificate) until stopped."""
    import uvicorn

    from glmkit._request_guard import server_config

    server = uvicorn.Server(
        server_config(
            app,
            HEADER_TIMEOUT,
            lifespan="off",
            ssl_certfile=str(certfile) if certfile else None,
            ssl_keyfile=str(keyfile) if keyfile else None,
        )
    )
    server.run(sockets=[sock])


def _app(config: Any, scenario: Path | None) -> Any:
    """The emulator app; a scenario file that cannot be read is a usage error naming the file and the format."""
    from glmkit.emulator import create_app

    if scenario is None:
        return create_app(config)
    try:
        return create_app(config, scenario=scenario)
    except (ValueError, TypeError, AttributeError) as exc:  # bad JSON (a ValueError) or a fault it cannot build
        raise fail(
            f"{scenario} is not a scenario glmkit can read: {exc}.",
            hint='Write {"faults": [{"path": "chat/completions", "code": "1302", "times": 1}]} (or a bare list).',
            code=2,
        ) from None


def register(app: typer.Typer) -> None:
    """Add ``emulate`` to the app."""
    app.command("emulate")(emulate)
