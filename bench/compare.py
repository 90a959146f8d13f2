"""Before/after of glmkit's hot paths across git revisions: ``python -m bench.compare REV [REV ...]``.

For each revision, ``src/`` is exported to a temporary folder and put first on ``PYTHONPATH``; a fresh
process pinned to the client core measures the client CPU time per request (batches of 10 sequential
requests) and per streamed chunk (one 5,000-chunk stream) against the raw server, and keeps the
best batch. The best of many short batches is what survives a noisy machine; the revisions are
interleaved so that a busy minute hits all of them. The working tree is spelled ``.``.

With ``--gateway``: the gateway instead. Each revision's ``glm serve`` (translate and passthrough, as
``bench/gateway.py`` runs them) in front of its own bare upstream, over http and https, all running at once;
for every route the gateway's own CPU (``/proc``) per non-streamed request and per relayed chunk, at 1 and at 64
concurrent clients, the revisions measured one after the other within each round, median of the rounds.

With ``--first-answer``: a fresh process's import + client + first answer (``bench/worker.py``'s
``FIRST_REPLY`` scripts) for each revision's sync and async client and for bare httpx, sync and async, every
process pinned to the client core, interleaved, ``--rounds`` of each: the median wall time and process CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.__main__ import ROOT, _pin, cores, free_port, wait_port

PROBE = r"""
import asyncio, json, os, sys, time
sys.path.insert(0, {root!r})
from bench.worker import ADAPTERS
core = {core!r}
if core is not None:
    os.sched_setaffinity(0, {{core}})
client, url, seq_batches, streams = {client!r}, {url!r}, {seq!r}, {streams!r}
a = ADAPTERS[client](url)

async def run_async():
    best_req = best_chunk = 1e9
    for _ in range(seq_batches):
        t = time.process_time()
        for _ in range(10):
            await a.req()
        best_req = min(best_req, (time.process_time() - t) / 10)
    for _ in range(streams):
        t = time.process_time()
        n = await a.stream()
        best_chunk = min(best_chunk, (time.process_time() - t) / n)
    return best_req, best_chunk

def run_sync():
    best_req = best_chunk = 1e9
    for _ in range(seq_batches):
        t = time.process_time()
        for _ in range(10):
            a.req()
        best_req = min(best_req, (time.process_time() - t) / 10)
    for _ in range(streams):
        t = time.process_time()
        n = a.stream()
        best_chunk = min(best_chunk, (time.process_time() - t) / n)
    return best_req, best_chunk

r, c = asyncio.run(run_async()) if getattr(a, "is_async", False) else run_sync()
print(json.dumps({{"us_per_request": r * 1e6, "us_per_chunk": c * 1e6}}))
"""


def export(rev: str, into: Path) -> Path:
    if rev == ".":
        return ROOT / "src"
    target = into / rev.replace("/", "_").replace("^", "_parent")
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", rev, "src"], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target / "src"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.splitlines()[0])
    parser.add_argument("revs", nargs="+", help="git revisions ('.' = the working tree)")
    parser.add_argument("--clients", default="glmkit_sync,glmkit_async")
    parser.add_argument("--rounds", type=int, default=2, help="Interleaved rounds per revision.")
    parser.add_argument("--seq-batches", type=int, default=60)
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--gateway", action="store_true", help="The gateway's CPU per request and per chunk instead.")
    parser.add_argument("--seconds", type=float, default=1.0, help="--gateway: seconds per timed run.")
    parser.add_argument("--schemes", default="http,https", help="--gateway: upstream schemes.")
    parser.add_argument(
        "--agent-bodies", action="store_true", help="--gateway: coding agents' recorded requests (~50 KB) as bodies."
    )
    parser.add_argument("--first-answer", action="store_true", help="A fresh process's first answer instead.")
    args = parser.parse_args()
    if args.first_answer:
        with tempfile.TemporaryDirectory(prefix="glmkit-compare-") as tmp:
            paths = {rev: export(rev, Path(tmp)) for rev in args.revs}
            print(first_answer_table(compare_first_answer(paths, args.rounds)))
        return
    if args.gateway:
        from bench import gateway as g

        g.AGENT_BODIES = args.agent_bodies
        with tempfile.TemporaryDirectory(prefix="glmkit-compare-") as tmp:
            paths = {rev: export(rev, Path(tmp)) for rev in args.revs}
            print(gateway_table(compare_gateway(paths, args.rounds, args.seconds, args.schemes.split(","))))
        return
    server_core, client_core = cores()
    best: dict[tuple[str, str], dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="glmkit-compare-") as tmp:
        paths = {rev: export(rev, Path(tmp)) for rev in args.revs}
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "bench.rawserver", "--port", str(port)]
            + ([] if server_core is None else ["--core", str(server_core)]),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        try:
            wait_port(port, server)
            url = f"http://127.0.0.1:{port}/api/paas/v4"
            for _ in range(args.rounds):
                for rev in args.revs:
                    for client in args.clients.split(","):
                        code = PROBE.format(
                            root=str(ROOT),
                            core=client_core,
                            client=client,
                            url=url,
                            seq=args.seq_batches,
                            streams=args.streams,
                        )
                        env = {"PYTHONPATH": str(paths[rev]), "PATH": "/usr/bin:/bin"}
                        out = subprocess.run(
                            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
                        )
                        if out.returncode != 0:
                            print(f"{rev} {client}: {out.stderr.strip().splitlines()[-1]}", file=sys.stderr)
                            continue
                        fig = json.loads(out.stdout)
                        cur = best.setdefault((rev, client), fig)
                        for k, v in fig.items():
                            cur[k] = min(cur[k], v)
        finally:
            server.terminate()
            server.wait(timeout=5)
    print("| revision | change | client | CPU µs per request | CPU µs per chunk |")
    print("|---|---|---|---|---|")
    for (rev, client), fig in best.items():
        print(f"| {rev} | {subject(rev)} | {client} | {fig['us_per_request']:.0f} | {fig['us_per_chunk']:.2f} |")


GATEWAY_PLANS = {  # figure -> (streamed, concurrency, chunks per stream)
    "µs/request, 1 in flight": (False, 1, 1),
    "µs/request, 64 in flight": (False, 64, 1),
    "µs/chunk, 1 stream": (True, 1, 5000),
    "µs/chunk, 64 streams": (True, 64, 500),
}


def compare_gateway(
    paths: dict[str, Path], rounds: int, seconds: float, schemes: list[str]
) -> dict[tuple[str, str, str, str], float]:
    """(scheme, route, figure, revision) -> the gateway's CPU (µs), median of ``rounds`` interleaved rounds."""
    from bench import gateway as g

    server_core, gateway_core = g._cores()
    samples: dict[tuple[str, str, str, str], list[float]] = {}
    stacks: dict[tuple[str, str], g.Stack] = {}
    mine = os.sched_getaffinity(0) if server_core is not None else None
    with tempfile.TemporaryDirectory(prefix="glmkit-compare-tls-") as tmp:
        tls = g.certificates(Path(tmp))
        try:
            if server_core is not None:
                os.sched_setaffinity(0, {server_core})
            for scheme in schemes:
                for rev, src in paths.items():
                    stack = stacks[(scheme, rev)] = g.Stack(
                        tls if scheme == "https" else None, (server_core, gateway_core), src=str(src)
                    )
                    stack.start()
            routes = [r for r in next(iter(stacks.values())).routes() if not r.startswith("direct")]
            routes = [r for r in routes if all(r in s.routes() for s in stacks.values())]
            for stack in stacks.values():  # warm-up
                for route in routes:
                    for stream in (False, True):
                        g.measure(stack, route, stream=stream, concurrency=4, seconds=0.2, chunks=20, core=None)
            revs = list(paths)
            for n in range(rounds):
                order = revs[n % len(revs) :] + revs[: n % len(revs)]
                for figure, (stream, concurrency, chunks) in GATEWAY_PLANS.items():
                    for scheme in schemes:
                        for route in routes:
                            for rev in order:
                                m = g.measure(
                                    stacks[(scheme, rev)],
                                    route,
                                    stream=stream,
                                    concurrency=concurrency,
                                    seconds=seconds,
                                    chunks=chunks,
                                    core=None,
                                )
                                samples.setdefault((scheme, route, figure, rev), []).append(m["cpu_us"])
        finally:
            for stack in stacks.values():
                stack.stop()
            if mine is not None:
                os.sched_setaffinity(0, mine)
    return {key: statistics.median(values) for key, values in samples.items()}


def gateway_table(figures: dict[tuple[str, str, str, str], float]) -> str:
    """Markdown: one row per scheme, route and figure, one column per revision, and the last against the first."""
    revs = list(dict.fromkeys(rev for *_, rev in figures))
    rows = list(dict.fromkeys((scheme, route, figure) for scheme, route, figure, _ in figures))
    load = os.getloadavg()
    lines = [
        f"Gateway CPU (µs) per revision; load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}.",
        "",
        "| upstream | route | gateway CPU | " + " | ".join(f"{r} ({subject(r)})" for r in revs) + " | change |",
        "|---|---|---|" + "---|" * len(revs) + "---|",
    ]
    for scheme, route, figure in rows:
        values = [figures[(scheme, route, figure, rev)] for rev in revs]
        cells = " | ".join(f"{v:,.0f}" if v >= 100 else f"{v:.1f}" for v in values)
        lines.append(f"| {scheme} | {route} | {figure} | {cells} | {values[-1] / values[0] - 1:+.0%} |")
    return "\n".join(lines)


def subject(rev: str) -> str:
    """The commit's subject, cut short ('working tree' for '.')."""
    if rev == ".":
        return "working tree"
    out = subprocess.run(["git", "log", "-1", "--format=%s", rev], cwd=ROOT, capture_output=True, text=True)
    text = out.stdout.strip().replace("|", "/")
    return text if len(text) <= 70 else text[:67] + "..."


FIRST_ANSWER_BASELINES = ("httpx", "httpx_async")


def compare_first_answer(paths: dict[str, Path], rounds: int) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """(revision or "-", client) -> [(wall ms, process CPU ms)] of fresh processes, interleaved."""
    import resource

    from bench.worker import first_reply_script

    server_core, client_core = cores()
    for src in paths.values():  # bytecode compiled first: no round pays for it
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(src)], check=True, capture_output=True)
    runs: list[tuple[str, str, Path | None]] = [("-", c, None) for c in FIRST_ANSWER_BASELINES]
    runs += [(rev, c, src) for rev, src in paths.items() for c in ("glmkit_sync", "glmkit_async")]
    out: dict[tuple[str, str], list[tuple[float, float]]] = {(rev, c): [] for rev, c, _ in runs}
    port = free_port()
    pin = [] if server_core is None else ["--core", str(server_core)]
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.rawserver", "--port", str(port), *pin], cwd=ROOT, stdout=subprocess.DEVNULL
    )
    try:
        wait_port(port, server)
        url = f"http://127.0.0.1:{port}/api/paas/v4"
        for _ in range(rounds):
            for rev, client, src in runs:
                env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
                if src is not None:
                    env["PYTHONPATH"] = str(src)
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                done = subprocess.run(
                    [sys.executable, "-c", first_reply_script(client, url)],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=120,
                    preexec_fn=_pin(client_core),
                )
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                if done.returncode != 0:
                    raise RuntimeError(f"{rev} {client}: {done.stderr.strip().splitlines()[-1:]}")
                cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000
                out[(rev, client)].append((float(done.stdout.split()[1]), cpu))
    finally:
        server.terminate()
        server.wait(timeout=5)
    return out


def first_answer_table(figures: dict[tuple[str, str], list[tuple[float, float]]]) -> str:
    """Median wall and CPU per column, with the ratio to bare httpx (sync) and, for async, httpx's async."""

    def med(key: tuple[str, str], i: int) -> float:
        return statistics.median(x[i] for x in figures[key])

    lines = [
        "| revision | client | wall ms, median | × httpx | × httpx async | CPU ms, median | × httpx |",
        "|---|---|---|---|---|---|---|",
    ]
    base = {c: (med(("-", c), 0), med(("-", c), 1)) for c in FIRST_ANSWER_BASELINES}
    for rev, client in figures:
        wall, cpu = med((rev, client), 0), med((rev, client), 1)
        named = rev if rev == "-" else f"{rev} ({subject(rev)[:40]})"
        lines.append(
            f"| {named} | {client} | {wall:.0f} | {wall / base['httpx'][0]:.2f} "
            f"| {wall / base['httpx_async'][0]:.2f} | {cpu:.0f} | {cpu / base['httpx'][1]:.2f} |"
        )
    n = len(next(iter(figures.values())))
    return "\n".join(lines) + f"\n\n{n} fresh processes per row, interleaved."


if __name__ == "__main__":
    main()
