"""Before/after of glmkit's hot paths across git revisions: ``python -m bench.compare REV [REV ...]``.

For each revision, ``src/`` is exported to a temporary folder and put first on ``PYTHONPATH``; a fresh
process pinned to the client core measures the client CPU time per request (batches of 10 sequential
requests) and per streamed chunk (one 5,000-chunk stream) against the raw server, and keeps the
best batch. The best of many short batches is what survives a noisy machine; the revisions are
interleaved so that a busy minute hits all of them. The working tree is spelled ``.``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.__main__ import ROOT, cores, free_port, wait_port

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
    args = parser.parse_args()
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


def subject(rev: str) -> str:
    """The commit's subject, cut short ('working tree' for '.')."""
    if rev == ".":
        return "working tree"
    out = subprocess.run(["git", "log", "-1", "--format=%s", rev], cwd=ROOT, capture_output=True, text=True)
    text = out.stdout.strip().replace("|", "/")
    return text if len(text) <= 70 else text[:67] + "..."


if __name__ == "__main__":
    main()
