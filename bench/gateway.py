"""The gateway's own cost: CPU per relayed chunk and per request (read from /proc), rates and added latency.

Processes on 127.0.0.1: the bare fake upstream ``bench/rawserver.py`` (prebuilt answers in the chat, Anthropic and
Responses shapes, one SSE event per HTTP chunk, the whole answer in one write: never the limit), served over plain
http and over TLS with a certificate made for the run (``trustme``), and in front of each one ``glm serve`` twice
(``--mode translate`` and ``--mode passthrough``). The upstream and the client share one core, the gateway has the
other. The client (``bench/rawclient.py``) does not parse: it counts bytes and events.

Routes: ``openai`` (chat, bytes relayed), ``anthropic`` (translated to chat), ``passthrough`` (Anthropic relayed to
Z.AI's Anthropic endpoint), ``responses`` (Responses translated to chat) and ``responses_passthrough`` (relayed to
Z.AI's Responses endpoint); each is held against the upstream call it makes (``direct``, ``direct_anthropic``,
``direct_responses``). For every route, over each upstream scheme, with 1 and with 64 concurrent clients:

- streams: the gateway's CPU per relayed upstream chunk (µs), chunks/s, and the share of the direct rate;
- non-streamed requests: the gateway's CPU per request (µs), requests/s, and the share of the direct rate;
- added latency (``added_latency``): one request at a time, straight to the upstream and through the gateway in
  interleaved pairs; the p50 and p90 of the per-pair differences, for a whole non-streamed answer and for a
  stream's first event, with the machine's load beside them.

The gateway's CPU is the sum over its threads of ``/proc/<pid>/task/<tid>/schedstat`` (nanoseconds); it does
not count other processes, the rates and latencies do.

    python -m bench.gateway              # prints the tables, the targets and the JSON of run()
    python -m bench.gateway --quick      # the same, smaller
    python -m bench.gateway --latency    # the added latency only (1,000 pairs per route and scheme)
    python -m bench.gateway --latency --agent-bodies   # with coding agents' recorded requests (~50 KB each)
    python -m bench.gateway --no-ledger  # the gateways without their usage ledger: what its row costs
    GLMKIT_BENCH_NO_PIN=1 python -m bench.gateway ...   # no core pinning (the scheduler places everything)
"""

from __future__ import annotations

import json
import os
import shutil
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
    """(core of the upstream and client, core of the gateway), or no pinning on one core (or with
    ``GLMKIT_BENCH_NO_PIN=1``)."""
    if not hasattr(os, "sched_getaffinity") or os.environ.get("GLMKIT_BENCH_NO_PIN"):
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

    def __init__(
        self,
        tls: tuple[str, str, str] | None,
        cores: tuple[int | None, int | None],
        src: str | None = None,
        floor: bool = False,
    ) -> None:
        self.tls = tls
        self.cores = cores
        self.src = src  # a ``src`` folder to run the gateway from (``bench.compare``), else the installed glmkit
        self.floor = floor  # also ``bench/relayfloor.py`` on the gateway's core: the route ``relay_floor``
        self.procs: list[subprocess.Popen[bytes]] = []
        self.pids: dict[str, int] = {}
        self.homes: list[str] = []  # each gateway's GLMKIT_HOME (its ledger): removed by ``stop``

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
        if self.src:
            env["PYTHONPATH"] = self.src
        self.gateways: dict[str, str] = {}
        for mode in ("translate", "passthrough"):
            port = _free_port()
            env["GLMKIT_HOME"] = tempfile.mkdtemp(prefix="glmkit-bench-")
            self.homes.append(env["GLMKIT_HOME"])
            if NO_LEDGER:  # what the ledger's row costs, by its absence
                Path(env["GLMKIT_HOME"], "config.toml").write_text("[gateway]\nledger = false\n")
            serve = [sys.executable, "-m", "glmkit.cli.app", "serve", "--port", str(port), "--mode", mode]
            serve += ["--max-inflight", str(INFLIGHT * 2)]
            proc = subprocess.Popen(serve, env=env, stderr=subprocess.DEVNULL, preexec_fn=_pin(self.cores[1]))
            self.procs.append(proc)
            _wait_port(port, proc)
            self.gateways[mode] = f"http://127.0.0.1:{port}"
            self.pids[mode] = proc.pid
        if self.floor:
            port = _free_port()
            relay = [sys.executable, "-m", "bench.relayfloor", "--port", str(port), "--upstream", self.upstream]
            relay += ["--cafile", self.tls[0]] if self.tls else []
            proc = subprocess.Popen(relay, cwd=ROOT, stdout=subprocess.DEVNULL, preexec_fn=_pin(self.cores[1]))
            self.procs.append(proc)
            _wait_port(port, proc)
            self.gateways["floor"] = f"http://127.0.0.1:{port}"
            self.pids["floor"] = proc.pid

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for home in self.homes:
            shutil.rmtree(home, ignore_errors=True)

    def routes(self) -> dict[str, tuple[str, str | None, str]]:
        """name -> (URL, gateway mode or None for the upstream itself, body kind)."""
        if not hasattr(self, "_routes"):
            self._routes = self._find_routes()
        return self._routes

    def _find_routes(self) -> dict[str, tuple[str, str | None, str]]:
        gw, up = self.gateways, self.upstream
        out: dict[str, tuple[str, str | None, str]] = {
            "direct": (f"{up}/api/coding/paas/v4/chat/completions", None, "openai"),
            "direct_anthropic": (f"{up}/api/anthropic/v1/messages", None, "anthropic"),
            "openai": (f"{gw['translate']}/v1/chat/completions", "translate", "openai"),
            "anthropic": (f"{gw['translate']}/v1/messages", "translate", "anthropic"),
            "passthrough": (f"{gw['passthrough']}/v1/messages", "passthrough", "anthropic"),
        }
        if "floor" in gw:  # the chat call relayed by a relay that reads nothing: what Python allows, for scale
            out["relay_floor"] = (f"{gw['floor']}/api/coding/paas/v4/chat/completions", "floor", "openai")
        if _has_route(f"{gw['translate']}/v1/responses"):
            out["direct_responses"] = (f"{up}/api/v1/responses", None, "responses")
            out["responses"] = (f"{gw['translate']}/v1/responses", "translate", "responses")
            out["responses_passthrough"] = (f"{gw['passthrough']}/v1/responses", "passthrough", "responses")
        return out


DIRECT_OF = {"passthrough": "direct_anthropic", "responses_passthrough": "direct_responses"}
"""The upstream call a gateway route is held against (``direct``, the chat endpoint, for the others): the
translated Responses route against chat, which is what it sends upstream; passthrough against the endpoint it
relays to."""


def direct_of(route: str) -> str:
    return DIRECT_OF.get(route, "direct")


def _has_route(url: str) -> bool:
    try:
        result = rawclient.run(url, b"{}", seconds=0)
    except RuntimeError as exc:
        return "404" not in str(exc)
    return result.answers > 0


AGENT_BODIES = False
"""``--agent-bodies``: every request carries what a coding agent sends (``agent_body``), not a one-line prompt."""

NO_LEDGER = False
"""``--no-ledger``: the gateways run with ``[gateway] ledger = false``, no row written per request (for what the
row costs; ``glm serve`` writes one by default)."""

FIXTURES = ROOT / "tests" / "fixtures" / "agents"


def agent_body(kind: str) -> dict[str, Any]:
    """A recorded coding agent's request of the route's shape: Claude Code's ``/v1/messages`` (system prompt, 16
    tools, a tool loop under way: ~45 KB) for the Anthropic routes; Kilo's chat request (16 tools: ~51 KB) for the
    chat route, and the same conversation and tools as a Responses request for the Responses routes."""
    if kind == "anthropic":
        recorded = json.loads((FIXTURES / "claude-code" / "tool-loop-translate-3.json").read_text())["body"]
        shared = FIXTURES / "claude-code" / "shared"
        return {
            k: json.loads((shared / f"{v['$ref']}.json").read_text()) if isinstance(v, dict) and "$ref" in v else v
            for k, v in recorded.items()
        }
    chat = json.loads((FIXTURES / "kilo" / "loop-gateway-1.json").read_text())["body"]
    if kind == "openai":
        return chat
    tools = [{"type": "function", **t["function"]} for t in chat["tools"]]
    items = [{"role": m["role"], "content": m.get("content") or ""} for m in chat["messages"]]
    return {"model": chat["model"], "input": items, "tools": tools}


def body(kind: str, stream: bool, chunks: int) -> bytes:
    """The request body of a route (``max_tokens`` sizes the upstream's canned stream: one token per chunk)."""
    if AGENT_BODIES:
        data = {k: v for k, v in agent_body(kind).items() if k not in ("stream", "stream_options")}
        data["model"] = "glm-4.7"
        data["max_output_tokens" if kind == "responses" else "max_tokens"] = chunks
        if stream:
            data["stream"] = True
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()  # UTF-8, as Node's JSON writes
    messages = [{"role": "user", "content": "Say something."}]
    if kind == "responses":
        data: dict[str, Any] = {"model": "glm-4.7", "input": "Say something.", "max_output_tokens": chunks}
    else:
        data = {"model": "glm-4.7", "messages": messages, "max_tokens": chunks}
    if stream:
        data["stream"] = True
    return json.dumps(data, separators=(",", ":")).encode()


def _headers(kind: str) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {KEY}"}
    if kind == "anthropic":
        headers["anthropic-version"] = "2023-06-01"
        headers["x-api-key"] = KEY
    return headers


def measure(
    stack: Stack, route: str, *, stream: bool, concurrency: int, seconds: float, chunks: int, core: int | None
) -> dict[str, Any]:
    """One timed run of a route: rates, and the gateway's CPU per chunk (streams) or per request."""
    url, mode, kind = stack.routes()[route]
    headers = _headers(kind)
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


def run(quick: bool = False, latency_only: bool = False) -> dict[str, Any]:
    """Measure every route over http and https upstreams; figures keyed ``<scheme>.<route>.<kind>``
    (``latency_only``: only the added latency, ``<scheme>.<route>.latency``)."""
    server_core, gateway_core = _cores()
    seconds = 0.4 if quick else 1.5
    rounds = 2 if quick else 5
    long_chunks, short_chunks = (2000, 200) if quick else (5000, 500)
    latency_reps = 150 if quick else 1000
    figures: dict[str, Any] = {
        "conditions": {
            "upstream_and_client_core": server_core,
            "gateway_core": gateway_core,
            "seconds_per_measure": seconds,
            "rounds": rounds,
            "chunks_one_stream": long_chunks,
            "chunks_per_stream_64": short_chunks,
            "latency_pairs_per_route": latency_reps,
            "loadavg": os.getloadavg() if hasattr(os, "getloadavg") else None,
        },
        "targets": TARGETS,
    }
    mine = os.sched_getaffinity(0) if server_core is not None else None
    with tempfile.TemporaryDirectory(prefix="glmkit-bench-tls-") as tmp:
        tls = certificates(Path(tmp))
        try:
            if server_core is not None:
                os.sched_setaffinity(0, {server_core})  # the client shares the upstream's core, not the gateway's
            for scheme in ("http", "https"):
                stack = Stack(tls if scheme == "https" else None, (server_core, gateway_core), floor=True)
                try:
                    stack.start()
                    if latency_only:
                        figures[scheme] = {r: {"latency": f} for r, f in added_latency(stack, latency_reps).items()}
                    else:
                        figures[scheme] = _measure_stack(
                            stack, seconds, rounds, long_chunks, short_chunks, server_core, latency_reps
                        )
                finally:
                    stack.stop()
        finally:
            if mine is not None:
                os.sched_setaffinity(0, mine)
    figures["conditions"]["loadavg_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    return figures


def _measure_stack(
    stack: Stack,
    seconds: float,
    rounds: int,
    long_chunks: int,
    short_chunks: int,
    core: int | None,
    latency_reps: int,
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
    for (route, kind), ms in samples.items():
        fig = out[route].setdefault(kind, {})
        fig["rate"] = statistics.median(m["rate"] for m in ms)
        if "cpu_us" in ms[0]:
            fig["cpu_us"] = statistics.median(m["cpu_us"] for m in ms)
        if route.startswith("direct"):
            continue
        base = samples[(direct_of(route), kind)]
        fig["ratio"] = statistics.median(m["rate"] / d["rate"] for m, d in zip(ms, base, strict=True))
    for route in routes:
        out[route]["plain_1"]["p50_ms"] = statistics.median(m["p50_ms"] for m in samples[(route, "plain_1")])
    for route, fig in added_latency(stack, latency_reps).items():
        out[route]["latency"] = fig
    return out


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1] if len(values) > 1 else values[0]


def added_latency(stack: Stack, reps: int, chunks: int = 20) -> dict[str, dict[str, Any]]:
    """What the gateway adds to one request at a time: ``reps`` pairs per route, each a request straight to the
    upstream and the same request through the gateway, back to back on kept-alive connections (which goes first
    alternates, the routes rotate), so that a busy spell of the machine hits both sides of a pair alike.

    Per route, for a non-streamed request (whole answer) and for a ``chunks``-chunk stream (its first event): the
    p50 of each side, and the p50 and p90 of the per-pair differences (through − direct), in ms. The machine's
    load average and its busy share (``/proc/stat``, all processes) over the run are kept beside them.
    """
    import asyncio

    stack.routes()  # found before the loop runs (it sends a probe of its own)
    return asyncio.run(_added_latency(stack, reps, chunks))


async def _added_latency(stack: Stack, reps: int, chunks: int) -> dict[str, dict[str, Any]]:
    routes = stack.routes()
    gateway_routes = [r for r in routes if not r.startswith("direct")]
    conns = {r: await rawclient.Connection(routes[r][0], stack.cafile).open() for r in routes}
    payloads = {
        (r, shape): rawclient.request_bytes(
            routes[r][0], body(routes[r][2], shape == "first_event", chunks), _headers(routes[r][2])
        )
        for r in routes
        for shape in ("plain", "first_event")
    }
    pairs: dict[tuple[str, str], list[tuple[float, float]]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    pids = {r: stack.pids[mode] for r, (_, mode, _) in routes.items() if mode}
    busy = _busy()
    load = os.getloadavg()
    try:
        for _ in range(3):  # warm-up
            for (route, _shape), payload in payloads.items():
                await conns[route].timed(payload)
        for i in range(reps):
            k = i % len(gateway_routes)
            for route in gateway_routes[k:] + gateway_routes[:k]:
                for shape in ("plain", "first_event"):
                    sides = [direct_of(route), route] if i % 2 == 0 else [route, direct_of(route)]
                    took = {}
                    for side in sides:
                        before = cpu_seconds(pids[side]) if side == route else 0.0
                        first, whole = await conns[side].timed(payloads[(side, shape)])
                        took[side] = first if shape == "first_event" else whole
                        if side == route:
                            cpu.setdefault((route, shape), []).append(cpu_seconds(pids[side]) - before)
                    pairs.setdefault((route, shape), []).append((took[direct_of(route)], took[route]))
    finally:
        for conn in conns.values():
            conn.close()
    conditions = {"loadavg_before": load, "loadavg_after": os.getloadavg(), "machine_busy": _busy(busy)}
    out: dict[str, dict[str, Any]] = {}
    for (route, shape), ps in pairs.items():
        added = [(through - direct) * 1000 for direct, through in ps]
        out.setdefault(route, {"pairs": reps, **conditions})[shape] = {
            "direct_p50_ms": statistics.median(d * 1000 for d, _ in ps),
            "through_p50_ms": statistics.median(g * 1000 for _, g in ps),
            "added_p50_ms": statistics.median(added),
            "added_p90_ms": _percentile(added, 0.9),
            "gateway_cpu_p50_ms": statistics.median(cpu[(route, shape)]) * 1000,
        }
    return out


def _busy(since: tuple[int, int] | None = None) -> Any:
    """The machine's CPU counters (busy, total jiffies), or the busy share since ``since``."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    now = (sum(fields) - fields[3] - fields[4], sum(fields))  # idle and iowait are not busy
    if since is None:
        return now
    return (now[0] - since[0]) / max(1, now[1] - since[1])


KINDS = {
    "stream_1": "1 stream",
    "stream_64": "64 streams",
    "plain_1": "1 in flight",
    "plain_64": "64 in flight",
}


def _num(value: Any, digits: int = 1) -> str:
    return "n/a" if value is None else (f"{value:,.0f}" if value >= 100 else f"{value:.{digits}f}")


def table(figures: dict[str, Any]) -> str:
    """Markdown: the gateway's CPU, the rates and the share of direct (one row per scheme and route), then the
    added latency of one request at a time."""
    lines = [
        "| upstream | route | CPU µs/chunk, 1 stream | 64 streams | chunks/s, 64 streams (× direct) "
        "| CPU µs/request, 1 in flight | 64 in flight | req/s, 64 in flight (× direct) | p50 ms, 1 in flight |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    f = _num
    for scheme in ("http", "https"):
        for route, fig in (figures.get(scheme) or {}).items():
            if "plain_1" not in fig:
                continue
            s1, s64, p1, p64 = (fig.get(k, {}) for k in KINDS)
            ratio = f" ({s64['ratio']:.2f}×)" if "ratio" in s64 else ""
            pratio = f" ({p64['ratio']:.2f}×)" if "ratio" in p64 else ""
            lines.append(
                f"| {scheme} | {route} | {f(s1.get('cpu_us'))} | {f(s64.get('cpu_us'))} | {f(s64.get('rate'))}{ratio} "
                f"| {f(p1.get('cpu_us'))} | {f(p64.get('cpu_us'))} | {f(p64.get('rate'))}{pratio} "
                f"| {f(p1.get('p50_ms'), 2)} |"
            )
    return "\n".join(lines if len(lines) > 2 else []) + "\n\n" + latency_table(figures)


def latency_table(figures: dict[str, Any]) -> str:
    """Markdown: what the gateway adds to one request at a time, in ms (pairs through − direct, interleaved)."""
    lines = [
        "| upstream | route | pairs | one request: direct p50 | through p50 | added p50 | added p90 | gateway CPU p50 "
        "| a stream's first event: direct p50 | through p50 | added p50 | added p90 | gateway CPU p50 (whole stream) "
        "| load 1 min, machine busy |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for scheme in ("http", "https"):
        for route, fig in (figures.get(scheme) or {}).items():
            lat = fig.get("latency")
            if not lat:
                continue
            cells = [f"{lat[s][k]:.3f}" for s in ("plain", "first_event") for k in LATENCY]
            load = f"{lat['loadavg_before'][0]:.1f}→{lat['loadavg_after'][0]:.1f}"
            busy = "n/a" if lat.get("machine_busy") is None else f"{lat['machine_busy']:.0%}"
            lines.append(f"| {scheme} | {route} | {lat['pairs']} | " + " | ".join(cells) + f" | {load}, {busy} |")
    return "\n".join(lines)


LATENCY = ("direct_p50_ms", "through_p50_ms", "added_p50_ms", "added_p90_ms", "gateway_cpu_p50_ms")


def targets(figures: dict[str, Any]) -> list[str]:
    """Where each target of issue 20 stands in these figures."""
    out = []
    for scheme in ("http", "https"):
        for route, fig in (figures.get(scheme) or {}).items():
            if route.startswith("direct") or route == "relay_floor":
                continue
            checks = []
            if "stream_1" in fig:
                checks += [
                    ("CPU per chunk, 1 stream ≤ 15 µs", fig["stream_1"]["cpu_us"], TARGETS["cpu_us_per_chunk"], True),
                    (
                        "CPU per chunk, 64 streams ≤ 15 µs",
                        fig["stream_64"]["cpu_us"],
                        TARGETS["cpu_us_per_chunk"],
                        True,
                    ),
                    ("64 streams ≥ 0.5× direct", fig["stream_64"]["ratio"], TARGETS["stream_ratio_64"], False),
                    (
                        "CPU per request, 1 in flight ≤ 300 µs",
                        fig["plain_1"]["cpu_us"],
                        TARGETS["cpu_us_per_request"],
                        True,
                    ),
                    (
                        "CPU per request, 64 in flight ≤ 300 µs",
                        fig["plain_64"]["cpu_us"],
                        TARGETS["cpu_us_per_request"],
                        True,
                    ),
                    ("64 in flight ≥ 0.5× direct", fig["plain_64"]["ratio"], TARGETS["plain_ratio_64"], False),
                ]
            if "latency" in fig:
                lat = fig["latency"]
                checks += [
                    ("added p50 < 1 ms", lat["plain"]["added_p50_ms"], TARGETS["added_p50_ms"], True),
                    ("first event added p50 < 1 ms", lat["first_event"]["added_p50_ms"], TARGETS["added_p50_ms"], True),
                ]
            marks = [
                f"{name}: {value:.2f} {'met' if (value <= t if low else value >= t) else 'MISSED'}"
                for name, value, t, low in checks
            ]
            out.append(f"- {scheme} {route}: " + "; ".join(marks))
        floor = (figures.get(scheme) or {}).get("relay_floor")
        if floor and "plain_64" in floor:
            out.append(
                f"- {scheme}, for scale, a relay that reads nothing (bench/relayfloor.py): 64 streams at "
                f"{floor['stream_64']['ratio']:.2f}× direct, 64 in flight at {floor['plain_64']['ratio']:.2f}× direct; "
                f"CPU per chunk {floor['stream_64']['cpu_us']:.2f} µs, per request {floor['plain_1']['cpu_us']:.0f} µs "
                f"at 1 in flight, {floor['plain_64']['cpu_us']:.0f} at 64"
            )
    return out


def main() -> None:
    """Print the tables, the targets and the JSON (``--quick``: a smaller run; ``--latency``: the added latency
    only; ``--agent-bodies``: coding agents' recorded requests instead of a one-line prompt; ``--no-ledger``: the
    gateways without their ledger)."""
    global AGENT_BODIES, NO_LEDGER
    AGENT_BODIES = "--agent-bodies" in sys.argv[1:]
    NO_LEDGER = "--no-ledger" in sys.argv[1:]
    figures = run(quick="--quick" in sys.argv[1:], latency_only="--latency" in sys.argv[1:])
    print(table(figures))
    print()
    print("\n".join(targets(figures)))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
