"""Instructions ``glm serve`` executes per request or per relayed chunk, under callgrind: a count that does not move
with the load of a shared machine, for before/after comparisons of the gateway.

    python -m bench.instructions plain /v1/chat/completions 200
    python -m bench.instructions stream /v1/messages 5 --chunks 2000 [--mode passthrough] [--concurrency 16]
    python -m bench.instructions plain /v1/messages 200 --src /path/to/other/checkout/src

``valgrind`` must be installed. The gateway starts under ``--instr-atstart=no``; counting is switched on after 30
warm-up requests and the counts are dumped after the measured ones, so start-up and imports are not counted. The
upstream is ``bench/rawserver.py`` (one SSE event per HTTP chunk, ``max_tokens`` chunks per stream).
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import rawclient
from bench.gateway import KEY, _free_port, _wait_port

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["plain", "stream"])
    parser.add_argument("route", help="/v1/chat/completions or /v1/messages")
    parser.add_argument("answers", type=int, help="requests to count")
    parser.add_argument("--chunks", type=int, default=1000, help="chunks per stream")
    parser.add_argument("--mode", default="translate", choices=["translate", "passthrough"])
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--src", default=None, help="PYTHONPATH for the gateway (another checkout's src)")
    args = parser.parse_args()

    up = _free_port()
    upstream = subprocess.Popen(
        [sys.executable, "-m", "bench.rawserver", "--port", str(up)], cwd=ROOT, stdout=subprocess.DEVNULL
    )
    home = tempfile.mkdtemp(prefix="glmkit-instr-")
    out = os.path.join(home, "callgrind.out")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZAI_", "GLM_"))}
    env.update(ZAI_BASE_URL=f"http://127.0.0.1:{up}/api/coding/paas/v4", ZAI_API_KEY=KEY, GLMKIT_HOME=home)
    if args.src:
        env["PYTHONPATH"] = args.src
    port = _free_port()
    serve = [sys.executable, "-m", "glmkit.cli.app", "serve", "--port", str(port), "--mode", args.mode]
    gateway = subprocess.Popen(
        [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}.%p",
            *serve,
            "--max-inflight",
            "200",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_port(up, upstream)
        _wait_port(port, gateway, timeout=600)
        stream = args.kind == "stream"
        body = b'{"model":"glm-4.7","messages":[{"role":"user","content":"hi"}],"max_tokens":%d%s}' % (
            args.chunks if stream else 1,
            b',"stream":true' if stream else b"",
        )
        headers = {"Authorization": f"Bearer {KEY}", "anthropic-version": "2023-06-01"}
        url = f"http://127.0.0.1:{port}{args.route}"
        for _ in range(30):
            rawclient.run(url, body, headers=headers, seconds=0)
        subprocess.run(["callgrind_control", "-i", "on", str(gateway.pid)], capture_output=True, check=True)
        done = 0
        while done < args.answers:
            done += rawclient.run(url, body, headers=headers, concurrency=args.concurrency, seconds=0).answers
        time.sleep(0.5)  # the ledger's batch
        subprocess.run(["callgrind_control", "-d", str(gateway.pid)], capture_output=True, check=True)
        subprocess.run(["callgrind_control", "-i", "off", str(gateway.pid)], capture_output=True)
        time.sleep(1)
        total = 0
        for name in glob.glob(f"{out}.*.1"):
            found = re.search(r"^(?:summary|totals): (\d+)", Path(name).read_text(), re.M)
            total += int(found.group(1)) if found else 0
        units = done * (args.chunks if stream else 1)
        print(f"{total / units:,.0f} instructions per {'chunk' if stream else 'request'} ({done} answers)")
    finally:
        gateway.terminate()
        gateway.wait(60)
        upstream.terminate()


if __name__ == "__main__":
    main()
