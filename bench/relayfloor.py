"""A relay with no logic: the floor under any gateway written in Python, for scale in ``bench/gateway.py``.

Each client connection gets one upstream connection, and the bytes go through unread both ways: no parsing, no
headers, no JSON, no ledger, no token. It runs on the event loop ``glm serve`` runs on (uvloop when installed)
with asyncio's protocols, the cheapest way Python moves bytes between two sockets. What it costs per request and
per chunk, and the share of the direct rate it reaches, is the most a Python gateway could reach on this machine;
``glm serve`` does the work this one skips (it reads each request and each answer's usage, maps the model, checks
the body, queues by the plan's limits, writes a ledger row, and translates between dialects).

Run: ``python -m bench.relayfloor --port P --upstream http[s]://127.0.0.1:Q [--cafile F] [--core N]``;
it prints ``READY <port>`` once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import ssl
from typing import Any
from urllib.parse import urlsplit


class _Upstream(asyncio.Protocol):
    def __init__(self, client: _Client) -> None:
        self.client = client

    def data_received(self, data: bytes) -> None:
        self.client.transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.client.transport.close()


class _Client(asyncio.Protocol):
    """One client connection; its upstream connection opens with it, and what arrives first waits for it."""

    def __init__(self, host: str, port: int, context: ssl.SSLContext | None) -> None:
        self.target = (host, port, context)
        self.upstream: asyncio.Transport | None = None
        self.waiting: list[bytes] = []

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.opening = asyncio.ensure_future(self._open())

    async def _open(self) -> None:
        host, port, context = self.target
        try:
            upstream, _ = await asyncio.get_running_loop().create_connection(
                lambda: _Upstream(self), host, port, ssl=context
            )
        except OSError:
            self.transport.close()
            return
        self.upstream = upstream
        for data in self.waiting:
            upstream.write(data)
        self.waiting.clear()

    def data_received(self, data: bytes) -> None:
        if self.upstream is None:
            self.waiting.append(data)
        else:
            self.upstream.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.upstream is not None:
            self.upstream.close()
        else:
            self.opening.cancel()


async def serve(port: int, upstream: str, cafile: str | None) -> None:
    url = urlsplit(upstream)
    context = ssl.create_default_context(cafile=cafile) if url.scheme == "https" else None
    host, up_port = url.hostname or "127.0.0.1", url.port or (443 if context else 80)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Client(host, up_port, context), "127.0.0.1", port)
    print(f"READY {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--cafile", default=None)
    parser.add_argument("--core", type=int, default=None)
    args = parser.parse_args()
    if args.core is not None:
        os.sched_setaffinity(0, {args.core})
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args.port, args.upstream, args.cafile))
    else:
        uvloop.run(serve(args.port, args.upstream, args.cafile))


if __name__ == "__main__":
    main()
