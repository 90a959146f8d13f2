"""The gateway's overhead: added latency (p50/p99) and requests/s vs calling the upstream directly, and the
streamed chunk rate relayed through the gateway vs straight from the upstream.

Processes on 127.0.0.1: a bare asyncio fake of the GLM coding endpoint answering prebuilt bytes (never the
limit), `glm serve` in front of it, a bare relay (uvicorn + httpx.AsyncClient, nothing else: the floor of
any gateway on this stack), and this client. Targets (issue 9): under 1 ms added at p50 for a non-streamed
request; a stream relayed at no less than 15% of the direct chunk rate. Latency targets are measured in
interleaved rounds and compared within a round, because the machine is shared.

    python bench/gateway.py            # prints a table and the JSON of run()
    python bench/gateway.py --quick    # the same, smaller
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

KEY = "0123456789abcdef0123456789abcdef.glmkitEmulator01"
AUTH = {"Authorization": f"Bearer {KEY}", "content-type": "application/json"}

UPSTREAM = r"""
import asyncio, json, sys
CHUNKS = int(sys.argv[2])
def completion():
    body = {"id": "8635243129834723621", "request_id": "r1", "created": 1760000000, "model": "glm-4.6",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "word " * 300}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 300, "total_tokens": 310}}
    return json.dumps(body).encode()
def stream():
    head = b'data: {"id":"8635243129834723621","created":1760000000,"model":"glm-4.6","choices":[{"index":0,"delta":{"role":"assistant","content":"w'
    parts = [head + str(i).encode() + b' "},"finish_reason":null}]}\n\n' for i in range(CHUNKS)]
    parts.append(b'data: {"id":"8635243129834723621","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":%d,"total_tokens":0}}\n\ndata: [DONE]\n\n' % CHUNKS)
    return b"".join(parts)
PLAIN, STREAM = completion(), stream()
def response(body, ctype):
    return b"HTTP/1.1 200 OK\r\ncontent-type: " + ctype + b"\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
PLAIN_R, STREAM_R = response(PLAIN, b"application/json"), response(STREAM, b"text/event-stream")
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length) if length else b""
            writer.write(STREAM_R if b'"stream":true' in body or b'"stream": true' in body else PLAIN_R)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]))
    async with server:
        await server.serve_forever()
asyncio.run(main())
"""

# The floor: the least a Python relay on the same stack (uvicorn + an httpx.AsyncClient) can add.
BARE_RELAY = r"""
import socket, sys, httpx, uvicorn
client = httpx.AsyncClient()
URL = sys.argv[2]
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    msg = await receive()
    r = await client.post(URL, content=msg.get("body", b""), headers={"content-type": "application/json"})
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": r.content})
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", int(sys.argv[1])))
uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off")).run(sockets=[sock])
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def _latencies(client: Any, url: str, body: dict[str, Any], n: int, headers: dict[str, str]) -> list[float]:
    payload = json.dumps(body).encode()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        r = client.post(url, content=payload, headers=headers)
        r.read()
        out.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, r.text[:300]
    return out


def _throughput(url: str, body: dict[str, Any], headers: dict[str, str], threads: int, seconds: float) -> float:
    import httpx

    payload = json.dumps(body).encode()
    stop = time.perf_counter() + seconds

    def worker() -> int:
        n = 0
        with httpx.Client(headers={**headers, "content-type": "application/json"}) as c:
            while time.perf_counter() < stop:
                c.post(url, content=payload).read()
                n += 1
        return n

    t = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(lambda _: worker(), range(threads)))
    return total / (time.perf_counter() - t)


def _stream_rate(client: Any, url: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[float, int]:
    """Chunks/s a lean client gets: raw bytes split into lines, ``json.loads`` per data line."""
    payload = json.dumps(body).encode()
    t = time.perf_counter()
    n = 0
    buf = b""
    with client.stream("POST", url, content=payload, headers=headers) as r:
        for raw in r.iter_raw(65536):
            buf += raw
            lines = buf.split(b"\n")
            buf = lines.pop()
            for line in lines:
                if line.startswith(b"data: {"):
                    json.loads(line[6:])
                    n += 1
    return n / (time.perf_counter() - t), n


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux ``/proc``; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start(chunks: int, procs: list[subprocess.Popen[bytes]]) -> tuple[str, str, str]:
    """Start the fake upstream, `glm serve` and the bare relay (appended to ``procs``): (direct, gateway, bare) URLs."""
    up_port, gw_port, bare_port = _free_port(), _free_port(), _free_port()
    procs.append(subprocess.Popen([sys.executable, "-c", UPSTREAM, str(up_port), str(chunks)]))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZAI_", "GLM_"))}
    env.update(
        {
            "ZAI_BASE_URL": f"http://127.0.0.1:{up_port}/api/coding/paas/v4",
            "ZAI_API_KEY": KEY,
            "GLMKIT_HOME": tempfile.mkdtemp(prefix="glmkit-bench-"),
        }
    )
    _wait_port(up_port)
    serve = [sys.executable, "-m", "glmkit.cli.app", "serve", "--port", str(gw_port), "--max-inflight", "64"]
    procs.append(subprocess.Popen(serve, env=env, stderr=subprocess.DEVNULL))
    direct = f"http://127.0.0.1:{up_port}/api/coding/paas/v4/chat/completions"
    procs.append(subprocess.Popen([sys.executable, "-c", BARE_RELAY, str(bare_port), direct]))
    _wait_port(gw_port)
    _wait_port(bare_port)
    return direct, f"http://127.0.0.1:{gw_port}", f"http://127.0.0.1:{bare_port}/"


def _latency_rounds(
    c: Any, targets: dict[str, tuple[str, dict[str, Any]]], requests: int, rounds: int, gateway_pid: int
) -> dict[str, Any]:
    """p50/p99/requests-per-second of each target, and what the gateway adds, from interleaved rounds."""
    results: dict[str, Any] = {}
    lat: dict[str, list[float]] = {name: [] for name in targets}
    p50s: dict[str, list[float]] = {name: [] for name in targets}
    cpu: list[float] = []
    per_round = max(20, requests // rounds)
    for r in range(rounds):
        # the machine is shared: compare targets within a round (in a rotating order), then take medians
        order = list(targets)[r % len(targets) :] + list(targets)[: r % len(targets)]
        for name in order:
            url, body = targets[name]
            before = _cpu_seconds(gateway_pid)
            values = _latencies(c, url, body, per_round, AUTH)
            if name == "anthropic_route":
                cpu.append((_cpu_seconds(gateway_pid) - before) / per_round * 1000)
            lat[name].extend(values)
            p50s[name].append(statistics.median(values))
    for name, values in lat.items():
        results[f"{name}_p50_ms"] = round(_pct(values, 0.5), 3)
        results[f"{name}_p99_ms"] = round(_pct(values, 0.99), 3)
        results[f"{name}_req_s_sequential"] = round(1000 / statistics.mean(values), 1)
    for name in ("bare_relay", "openai_route", "anthropic_route"):
        added = [a - d for a, d in zip(p50s[name], p50s["direct"], strict=True)]
        results[f"{name}_added_p50_ms"] = round(statistics.median(added), 3)
        results[f"{name}_added_p99_ms"] = round(results[f"{name}_p99_ms"] - results["direct_p99_ms"], 3)
    over = [a - b for a, b in zip(p50s["anthropic_route"], p50s["bare_relay"], strict=True)]
    results["anthropic_route_over_bare_relay_p50_ms"] = round(statistics.median(over), 3)
    results["anthropic_route_gateway_cpu_ms_per_request"] = round(statistics.median(cpu), 3)
    return results


def _stream_rates(c: Any, targets: dict[str, tuple[str, dict[str, Any]]], chunks: int, streams: int) -> dict[str, Any]:
    """Chunks per second a client receives from each streaming target, and the gateway's share of direct."""
    rates: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(streams):
        for name, (url, body) in targets.items():
            rate, n = _stream_rate(c, url, {**body, "stream": True}, AUTH)
            assert n >= chunks, f"{name} relayed {n} of {chunks} chunks"
            rates[name].append(rate)
    results: dict[str, Any] = {f"{name}_chunks_s": round(statistics.median(v)) for name, v in rates.items()}
    for name in ("openai_route", "anthropic_route"):
        results[f"{name}_relay_ratio"] = round(results[f"{name}_chunks_s"] / results["direct_chunks_s"], 3)
    return results


def run(requests: int = 800, chunks: int = 5000, streams: int = 3, rounds: int = 8) -> dict[str, Any]:
    """Measure and return the figures (milliseconds, requests/s, chunks/s)."""
    import httpx

    procs: list[subprocess.Popen[bytes]] = []
    try:
        direct, gw, bare = _start(chunks, procs)
        oa_body: dict[str, Any] = {"model": "glm-4.6", "messages": [{"role": "user", "content": "hi"}]}
        an_body: dict[str, Any] = {
            "model": "glm-4.6",
            "max_tokens": 1000,
            "messages": [{"role": "user", "content": "hi"}],
        }
        results: dict[str, Any] = {"requests": requests, "chunks_per_stream": chunks}
        with httpx.Client(timeout=60) as c:
            for url, body in (
                (direct, oa_body),
                (f"{gw}/v1/chat/completions", oa_body),
                (f"{gw}/v1/messages", an_body),
            ):
                _latencies(c, url, body, 50, AUTH)  # warm-up
            targets = {
                "direct": (direct, oa_body),
                "bare_relay": (bare, oa_body),
                "openai_route": (f"{gw}/v1/chat/completions", oa_body),
                "anthropic_route": (f"{gw}/v1/messages", an_body),
            }
            results.update(_latency_rounds(c, targets, requests, rounds, procs[1].pid))
            results["direct_req_s_8_threads"] = round(_throughput(direct, oa_body, AUTH, 8, 2.0), 1)
            results["anthropic_route_req_s_8_threads"] = round(
                _throughput(f"{gw}/v1/messages", an_body, AUTH, 8, 2.0), 1
            )
            streaming = {name: targets[name] for name in ("direct", "openai_route", "anthropic_route")}
            results.update(_stream_rates(c, streaming, chunks, streams))
        results["target_added_p50_ms"] = 1.0
        results["target_relay_ratio"] = 0.15
        return results
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


def main() -> None:
    """Print the figures (``--quick``: a smaller run, about a third of the time)."""
    quick = "--quick" in sys.argv[1:]
    results = run(requests=240, chunks=2000, streams=1, rounds=4) if quick else run()
    width = max(len(k) for k in results)
    for key, value in results.items():
        print(f"{key:<{width}}  {value}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
