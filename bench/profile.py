"""Profiles of glmkit's hot paths against the raw server: ``python -m bench.profile [seq|stream|aseq|astream]``.

Uses pyinstrument when installed (``bench/run`` installs it), else cProfile; prints the report and
writes it to ``bench/results/profile-<what>.txt``. The client runs pinned to the second core.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.__main__ import ROOT, cores, free_port, wait_port
from bench.worker import GlmkitAsync, GlmkitSync


def workload(what: str, url: str, seconds: float) -> Any:
    if what in ("seq", "stream"):
        client = GlmkitSync(url)
        fn = client.req if what == "seq" else client.stream
        fn()

        def run() -> None:
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                fn()

        return run
    aclient = GlmkitAsync(url)
    afn = aclient.req if what == "aseq" else aclient.stream

    def arun() -> None:
        async def go() -> None:
            await afn()
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                await afn()

        asyncio.run(go())

    return arun


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("what", choices=["seq", "stream", "aseq", "astream"])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    server_core, client_core = cores()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.rawserver", "--port", str(port)]
        + ([] if server_core is None else ["--core", str(server_core)]),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_port(port, server)
        if client_core is not None:
            os.sched_setaffinity(0, {client_core})
        run = workload(args.what, f"http://127.0.0.1:{port}/api/paas/v4", args.seconds)
        out = ROOT / "bench" / "results" / f"profile-{args.what}.txt"
        try:
            import pyinstrument

            profiler = pyinstrument.Profiler(interval=0.0002)
            profiler.start()
            run()
            profiler.stop()
            text = profiler.output_text(unicode=True, show_all=False)
        except ImportError:
            import cProfile
            import io
            import pstats

            prof = cProfile.Profile()
            prof.runcall(run)
            buf = io.StringIO()
            pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(40)
            text = buf.getvalue()
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        print(text)
        print(f"wrote {out.relative_to(ROOT)}", file=sys.stderr)
    finally:
        server.terminate()
        server.wait(timeout=5)


if __name__ == "__main__":
    main()
