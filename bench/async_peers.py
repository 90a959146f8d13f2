"""``python -m bench.async_peers``: ``AsyncClient`` at 64 requests in flight beside plain aiohttp and raw httpx.

One run, the same bare upstream (``bench/rawserver.py``, pinned to core 0), each client in turn on core 1,
repetitions interleaved: requests/s and the client's CPU per request (``time.process_time``). The rows:

- ``aiohttp``: a plain ``aiohttp.ClientSession`` posting the JSON and reading it back (the issue's peer);
- ``httpx``: a raw ``httpx.AsyncClient`` with httpx's own transport, plus ``json.loads``;
- ``glmkit``: ``glmkit.AsyncClient`` as users make it (typed result; its default transport);
- ``glmkit on httpx's pool``: the same client on httpx's own ``AsyncHTTPTransport`` (what it used before).

- ``glmkit, --before SRC``: with ``--before``, ``glmkit.AsyncClient`` again from another checkout's ``src``
  (``git archive REV src | tar -x -C DIR``), so a change is measured before and after in the same run.

aiohttp is a benchmark peer only (``bench/run`` installs it); glmkit does not depend on it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
KEY = "0123456789abcdef0123456789abcdef.benchKey00000001"
MESSAGES = [{"role": "user", "content": "hi"}]
ROWS = ("aiohttp", "httpx", "glmkit", "glmkit_httpx_pool")


async def _loop(fn: Callable[[], Awaitable[Any]], inflight: int, duration: float) -> tuple[float, float]:
    done = 0
    stop = time.perf_counter() + duration

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < stop:
            await fn()
            done += 1

    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(inflight)))
    return done / (time.perf_counter() - start), (time.process_time() - cpu) / done * 1e6


async def _measure(row: str, url: str, inflight: int, duration: float) -> tuple[float, float]:
    endpoint = url + "/chat/completions"
    body = json.dumps({"model": "glm-5.3", "messages": MESSAGES}).encode()
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    if row == "aiohttp":
        import aiohttp

        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as session:

            async def post() -> None:
                async with session.post(endpoint, data=body, headers=headers) as r:
                    r.raise_for_status()
                    assert json.loads(await r.read())["choices"][0]["message"]["content"]

            await post()
            return await _loop(post, inflight, duration)
    if row == "httpx":
        import httpx

        async with httpx.AsyncClient() as client:

            async def post() -> None:
                r = await client.post(endpoint, content=body, headers=headers)
                r.raise_for_status()
                assert json.loads(r.content)["choices"][0]["message"]["content"]

            await post()
            return await _loop(post, inflight, duration)
    import httpx

    import glmkit

    pool = httpx.AsyncClient(timeout=600) if row == "glmkit_httpx_pool" else None
    async with glmkit.AsyncClient(api_key=KEY, base_url=url, http_client=pool) as client:

        async def create() -> None:
            answer = await client.chat.completions.create(model="glm-5.3", messages=MESSAGES)  # type: ignore[arg-type]
            assert answer.choices[0].message.content

        await create()
        return await _loop(create, inflight, duration)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--duration", type=float, default=2.0)
    parser.add_argument("--inflight", type=int, default=64)
    parser.add_argument("--before", metavar="SRC", help="Add a glmkit row imported from this src directory.")
    parser.add_argument("--worker", nargs=2, metavar=("ROW", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        os.sched_setaffinity(0, {1 % os.cpu_count()})  # type: ignore[operator]
        print(json.dumps(asyncio.run(_measure(args.worker[0], args.worker[1], args.inflight, args.duration))))
        return
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.rawserver", "--port", "0", "--core", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{int(server.stdout.readline().split()[1])}"
        rows = (*ROWS, "glmkit_before") if args.before else ROWS
        runs: dict[str, list[tuple[float, float]]] = {row: [] for row in rows}
        for _ in range(args.reps):
            for row in rows:
                env = {**os.environ, "PYTHONPATH": args.before} if row == "glmkit_before" else None
                out = subprocess.run(
                    [sys.executable, "-m", "bench.async_peers", "--inflight", str(args.inflight), "--duration",
                     str(args.duration), "--worker", "glmkit" if row == "glmkit_before" else row, url],
                    cwd=ROOT, capture_output=True, text=True, check=True, env=env,
                )  # fmt: skip
                runs[row].append(tuple(json.loads(out.stdout)))  # type: ignore[arg-type]
    finally:
        server.kill()
        server.wait()
    peer = statistics.median(r for r, _ in runs["aiohttp"])
    print(f"{args.inflight} requests in flight, median of {args.reps} runs of {args.duration:g} s, bare upstream")
    print(f"{'client':<24}{'requests/s':>12}{'x aiohttp':>11}{'CPU/request (us)':>18}")
    for row in rows:
        rate = statistics.median(r for r, _ in runs[row])
        cpu = statistics.median(c for _, c in runs[row])
        print(f"{row:<24}{rate:>12,.0f}{rate / peer:>11.2f}{cpu:>18,.0f}")


if __name__ == "__main__":
    main()
