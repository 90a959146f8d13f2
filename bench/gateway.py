"""The gateway's own cost: CPU per relayed chunk and per request (read from /proc), rates against the upstream.

Processes on 127.0.0.1: the bare fake upstream ``bench/rawserver.py`` (prebuilt answers, one SSE event per
HTTP chunk, the whole answer in one write: never the limit), served over plain http and over TLS with a
certificate made for the run (``trustme``), and in front of each one ``glm serve`` twice (``--mode translate``
and ``--mode passthrough``). The client (``bench/rawclient.py``) does not parse: it counts bytes and events.

For every route (OpenAI chat, Anthropic translated, Anthropic passthrough, and Responses when the gateway has
it), over each upstream scheme, with 1 and with 64 concurrent clients:

- streams: the gateway's CPU per relayed upstream chunk (µs), chunks/s, and the share of the direct rate;
- non-streamed requests: the gateway's CPU per request (µs), requests/s, p50 latency, and what the gateway adds
  at p50 over calling the upstream directly (taken within interleaved rounds: the machine is shared).

The gateway's CPU is the sum over its threads of ``/proc/<pid>/task/<tid>/schedstat`` (nanoseconds); it does
not move with the load of other processes, the rates and latencies do.

    python -m bench.gateway            # prints the table and the JSON of run()
    python -m bench.gateway --quick    # the same, smaller
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
from pathlib import Path
from typing import Any

from bench import rawclient

KEY = "0123456789abcdef0123456789abcdef.glmkitEmulator01"
ROOT = Path(__file__).resolve().parent.parent
INFLIGHT = 64
TARGETS = {  # issue 20
    "cpu_us_per_chunk": 15.0,
    "cpu_us_per_request": 300.0,
    "stream_ratio_64": 0.5,
    "plain_ratio_64": 0.5,
    "added_p50_ms": 1.0,
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def cpu_seconds(pid: int) -> float:
    """CPU seconds a process has run, all its threads (schedstat: ns; /proc/<pid>/stat ticks where it is missing)."""
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as fh:
                total += int(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        total = 0
    if total:
        return total / 1e9
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pin(core: int | None) -> Any:
    if core is None or not hasattr(os, "sched_setaffinity"):
        return None
    return lambda: os.sched_setaffinity(0, {core})


def _cores() -> tuple[int | None, int | None]:
    """(core of the upstream and client, core of the gateway), or no pinning on one core."""
    if not hasattr(os, "sched_getaffinity"):
        return None, None
    cores = sorted(os.sched_getaffinity(0))
    return (cores[0], cores[1]) if len(cores) >= 2 else (None, None)


def certificates(folder: Path) -> tuple[str, str, str]:
    """(CA file, certificate chain file, key file) for 127.0.0.1, made now with ``trustme``."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    ca.cert_pem.write_to_path(str(paths[0]))
    cert.private_key_and_cert_chain_pem.write_to_path(str(paths[1]))
    cert.private_key_pem.write_to_path(str(paths[2]))
    return str(paths[0]), str(paths[1]), str(paths[2])


class Stack:
    """One upstream (http or https) and two gateways in front of it (translate and passthrough)."""

    def __init__(self, tls: tuple[str, str, str] | None, cores: tuple[int | None, int | None]) -> None:
        self.tls = tls
        self.cores = cores
        self.procs: list[subprocess.Popen[bytes]] = []
        self.pids: dict[str, int] = {}

    @property
    def cafile(self) -> str | None:
        return self.tls[0] if self.tls else None

    def start(self) -> None:
        up_port = _free_port()
        args = [sys.executable, "-m", "bench.rawserver", "--port", str(up_port)]
        if self.tls:
            args += ["--certfile", self.tls[1], "--keyfile", self.tls[2]]
        up = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, preexec_fn=_pin(self.cores[0]))
        self.procs.append(up)
        _wait_port(up_port, up)
        scheme = "https" if self.tls else "http"
        self.upstream = f"{scheme}://127.0.0.1:{up_port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ZAI_", "GLM_", "SSL_CERT"))}
        env.update({"ZAI_BASE_URL": f"{self.upstream}/api/coding/paas/v4", "ZAI_API_KEY": KEY})
        if self.tls:
            env["SSL_CERT_FILE"] = self.tls[0]  # the gateway trusts the run's CA, as it would a corporate one
        self.gateways: dict[str, str] = {}
        for mode in ("translate", "passthrough"):
            port = _free_port()
            env["GLMKIT_HOME"] = tempfile.mkdtemp(prefix="glmkit-bench-")
            serve = [sys.executable, "-m", "glmkit.cli.app", "serve", "--port", str(port), "--mode", mode]
            serve += ["--max-inflight", str(INFLIGHT * 2)]
            proc = subprocess.Popen(serve, env=env, stderr=subprocess.DEVNULL, preexec_fn=_pin(self.cores[1]))
            self.procs.append(proc)
            _wait_port(port, proc)
            self.gateways[mode] = f"http://127.0.0.1:{port}"
            self.pids[mode] = proc.pid

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()

    def routes(self) -> dict[str, tuple[str, str | None, str]]:
        """name -> (URL, gateway mode or None for the upstream itself, body kind)."""
        gw, up = self.gateways, self.upstream
        out: dict[str, tuple[str, str | None, str]] = {
            "direct": (f"{up}/api/coding/paas/v4/chat/completions", None, "openai"),
            "direct_anthropic": (f"{up}/api/anthropic/v1/messages", None, "anthropic"),
            "openai": (f"{gw['translate']}/v1/chat/completions", "translate", "openai"),
            "anthropic": (f"{gw['translate']}/v1/messages", "translate", "anthropic"),
            "passthrough": (f"{gw['passthrough']}/v1/messages", "passthrough", "anthropic"),
        }
        if _has_route(f"{gw['translate']}/v1/responses"):
            out["responses"] = (f"{gw['translate']}/v1/responses", "translate", "responses")
        return out


def _has_route(url: str) -> bool:
    try:
        result = rawclient.run(url, b"{}", seconds=0)
    except RuntimeError as exc:
        return "404" not in str(exc)
    return result.answers > 0


def body(kind: str, stream: bool, chunks: int) -> bytes:
    """The request body of a route (``max_tokens`` sizes the upstream's canned stream: one token per chunk)."""
    messages = [{"role": "user", "content": "Say something."}]
    if kind == "responses":
        data: dict[str, Any] = {"model": "glm-4.7", "input": "Say something.", "max_output_tokens": chunks}
    else:
        data = {"model": "glm-4.7", "messages": messages, "max_tokens": chunks}
    if stream:
        data["stream"] = True
    return json.dumps(data, separators=(",", ":")).encode()


def measure(
    stack: Stack, route: str, *, stream: bool, concurrency: int, seconds: float, chunks: int, core: int | None
) -> dict[str, Any]:
    """One timed run of a route: rates, and the gateway's CPU per chunk (streams) or per request."""
    url, mode, kind = stack.routes()[route]
    headers = {"Authorization": f"Bearer {KEY}"}
    if kind == "anthropic":
        headers["anthropic-version"] = "2023-06-01"
        headers["x-api-key"] = KEY
    payload = body(kind, stream, chunks)
    pid = stack.pids.get(mode) if mode else None
    before = cpu_seconds(pid) if pid else 0.0
    r = rawclient.run(url, payload, headers=headers, concurrency=concurrency, seconds=seconds, cafile=stack.cafile)
    cpu = cpu_seconds(pid) - before if pid else None
    units = r.answers * chunks if stream else r.answers
    if stream and r.events < units:
        raise RuntimeError(f"{route}: {r.events} events for {r.answers} streams of {chunks} chunks")
    out: dict[str, Any] = {
        "rate": units / r.wall,
        "answers": r.answers,
        "p50_ms": statistics.median(r.latencies) * 1000,
    }
    if cpu is not None:
        out["cpu_us"] = cpu / units * 1e6
    return out


def run(quick: bool = False) -> dict[str, Any]:
    """Measure every route over http and https upstreams; figures keyed ``<scheme>.<route>.<kind>``."""
    server_core, gateway_core = _cores()
    seconds = 0.4 if quick else 1.5
    rounds = 2 if quick else 5
    long_chunks, short_chunks = (2000, 200) if quick else (5000, 500)
    figures: dict[str, Any] = {
        "conditions": {
            "upstream_and_client_core": server_core,
            "gateway_core": gateway_core,
            "seconds_per_measure": seconds,
            "rounds": rounds,
            "chunks_one_stream": long_chunks,
            "chunks_per_stream_64": short_chunks,
            "loadavg": os.getloadavg() if hasattr(os, "getloadavg") else None,
        },
        "targets": TARGETS,
    }
    with tempfile.TemporaryDirectory(prefix="glmkit-bench-tls-") as tmp:
        tls = certificates(Path(tmp))
        for scheme in ("http", "https"):
            stack = Stack(tls if scheme == "https" else None, (server_core, gateway_core))
            try:
                stack.start()
                figures[scheme] = _measure_stack(stack, seconds, rounds, long_chunks, short_chunks, server_core)
            finally:
                stack.stop()
    return figures


def _measure_stack(
    stack: Stack, seconds: float, rounds: int, long_chunks: int, short_chunks: int, core: int | None
) -> dict[str, Any]:
    routes = list(stack.routes())
    for route in routes:  # warm-up: connections, imports, first-use caches
        measure(stack, route, stream=False, concurrency=4, seconds=0.2, chunks=20, core=core)
        measure(stack, route, stream=True, concurrency=4, seconds=0.2, chunks=20, core=core)
    out: dict[str, dict[str, Any]] = {route: {} for route in routes}
    samples: dict[tuple[str, str], list[dict[str, Any]]] = {}
    plans = [
        ("plain_1", False, 1, long_chunks),
        ("plain_64", False, INFLIGHT, long_chunks),
        ("stream_1", True, 1, long_chunks),
        ("stream_64", True, INFLIGHT, short_chunks),
    ]
    for r in range(rounds):  # routes interleaved, in a rotating order, so a slow spell favours none
        order = routes[r % len(routes) :] + routes[: r % len(routes)]
        for kind, stream, concurrency, chunks in plans:
            for route in order:
                m = measure(
                    stack, route, stream=stream, concurrency=concurrency, seconds=seconds, chunks=chunks, core=core
                )
                samples.setdefault((route, kind), []).append(m)
    direct_of = {route: "direct_anthropic" if route == "passthrough" else "direct" for route in routes}
    for (route, kind), ms in samples.items():
        fig = out[route].setdefault(kind, {})
        fig["rate"] = statistics.median(m["rate"] for m in ms)
        if "cpu_us" in ms[0]:
            fig["cpu_us"] = statistics.median(m["cpu_us"] for m in ms)
        if route.startswith("direct"):
            continue
        base = samples[(direct_of[route], kind)]
        fig["ratio"] = statistics.median(m["rate"] / d["rate"] for m, d in zip(ms, base, strict=True))
        if kind == "plain_1":
            fig["p50_ms"] = statistics.median(m["p50_ms"] for m in ms)
            fig["added_p50_ms"] = statistics.median(m["p50_ms"] - d["p50_ms"] for m, d in zip(ms, base, strict=True))
    for route in routes:
        if route.startswith("direct"):
            out[route]["plain_1"]["p50_ms"] = statistics.median(m["p50_ms"] for m in samples[(route, "plain_1")])
    return out


KINDS = {
    "stream_1": "1 stream",
    "stream_64": "64 streams",
    "plain_1": "1 in flight",
    "plain_64": "64 in flight",
}


def table(figures: dict[str, Any]) -> str:
    """A markdown table: one row per scheme and route; the gateway's CPU, the rates and the share of direct."""
    lines = [
        "| upstream | route | CPU µs/chunk, 1 stream | 64 streams | chunks/s, 64 streams (× direct) "
        "| CPU µs/request, 1 in flight | 64 in flight | req/s, 64 in flight (× direct) | added p50 ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def f(value: Any, digits: int = 1) -> str:
        return "n/a" if value is None else (f"{value:,.0f}" if value >= 100 else f"{value:.{digits}f}")

    for scheme in ("http", "https"):
        for route, fig in (figures.get(scheme) or {}).items():
            s1, s64, p1, p64 = (fig.get(k, {}) for k in KINDS)
            ratio = f" ({s64['ratio']:.2f}×)" if "ratio" in s64 else ""
            pratio = f" ({p64['ratio']:.2f}×)" if "ratio" in p64 else ""
            added = p1.get("added_p50_ms")
            lines.append(
                f"| {scheme} | {route} | {f(s1.get('cpu_us'))} | {f(s64.get('cpu_us'))} | {f(s64.get('rate'))}{ratio} "
                f"| {f(p1.get('cpu_us'))} | {f(p64.get('cpu_us'))} | {f(p64.get('rate'))}{pratio} "
                f"| {'n/a' if added is None else f'{added:.2f}'} (p50 {f(p1.get('p50_ms'), 2)}) |"
            )
    return "\n".join(lines)


def targets(figures: dict[str, Any]) -> list[str]:
    """Where each target of issue 20 stands in these figures."""
    out = []
    for scheme in ("http", "https"):
        for route, fig in (figures.get(scheme) or {}).items():
            if route.startswith("direct"):
                continue
            checks = [
                ("CPU per chunk, 1 stream ≤ 15 µs", fig["stream_1"]["cpu_us"], TARGETS["cpu_us_per_chunk"], True),
                ("CPU per chunk, 64 streams ≤ 15 µs", fig["stream_64"]["cpu_us"], TARGETS["cpu_us_per_chunk"], True),
                ("64 streams ≥ 0.5× direct", fig["stream_64"]["ratio"], TARGETS["stream_ratio_64"], False),
                ("CPU per request ≤ 300 µs", fig["plain_1"]["cpu_us"], TARGETS["cpu_us_per_request"], True),
                ("64 in flight ≥ 0.5× direct", fig["plain_64"]["ratio"], TARGETS["plain_ratio_64"], False),
                ("added p50 < 1 ms", fig["plain_1"]["added_p50_ms"], TARGETS["added_p50_ms"], True),
            ]
            marks = [
                f"{name}: {value:.2f} {'met' if (value <= t if low else value >= t) else 'MISSED'}"
                for name, value, t, low in checks
            ]
            out.append(f"- {scheme} {route}: " + "; ".join(marks))
    return out


def main() -> None:
    """Print the table, the targets and the JSON (``--quick``: a smaller run)."""
    figures = run(quick="--quick" in sys.argv[1:])
    print(table(figures))
    print()
    print("\n".join(targets(figures)))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
