"""``glm emulate``: the offline Z.AI API on a loopback port."""

from __future__ import annotations

from pathlib import Path

import typer


def emulate(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback by default)."),
    port: int = typer.Option(8741, "--port", min=0, max=65535, help="Port to listen on (0: any free port)."),
    keys: str = typer.Option(None, "--keys", help="Comma-separated keys to accept (default: any well-formed key)."),
    scenario: Path = typer.Option(
        None, "--scenario", exists=True, dir_okay=False, help="A JSON file of faults to inject."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed for ids and generated content."),
    max_concurrency: int = typer.Option(
        0, "--max-concurrency", help="Requests in flight per model before 1302 (0: no limit)."
    ),
    job_seconds: float = typer.Option(2.0, "--job-seconds", help="How long async jobs stay PROCESSING."),
    chunk_delay: float = typer.Option(0.0, "--chunk-delay", help="Seconds between stream chunks."),
) -> None:
    """Serve a faithful offline Z.AI API: point ZAI_BASE_URL=http://127.0.0.1:8741/api/paas/v4 at it."""
    import socket

    import uvicorn

    from glmkit.emulator import EmulatorConfig, create_app

    config = EmulatorConfig(
        keys=frozenset(k.strip() for k in keys.split(",") if k.strip()) if keys else frozenset(),
        seed=seed,
        max_concurrency=max_concurrency,
        job_seconds=job_seconds,
        chunk_delay=chunk_delay,
    )
    app = create_app(config, scenario=scenario)
    # IPPROTO_TCP spelled out: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and without it
    # every keep-alive reply waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    actual = sock.getsockname()[1]
    config.public_url = f"http://{host}:{actual}"
    typer.echo(
        f"glm emulate: serving the Z.AI API on http://{host}:{actual}  (ZAI_BASE_URL=http://{host}:{actual}/api/paas/v4)",
        err=True,
    )
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    server.run(sockets=[sock])


def register(app: typer.Typer) -> None:
    """Add ``emulate`` to the app."""
    app.command("emulate")(emulate)
