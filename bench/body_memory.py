"""``python -m bench.body_memory``: the gateway's memory for one large request body.

Starts ``glm emulate`` and ``glm serve`` (``max_body`` raised to 128 MiB so a 50 MB body is served, not
refused), posts one body of each shape below to ``/v1/messages``, and reads the gateway's peak RSS (``VmHWM`` in
``/proc/<pid>/status``) before and after each; the growth divided by the body size is the figure issue 17 asks
about ("a small multiple of the body"). Then posts a body over the default cap to a default gateway to show the
413 costs nothing. Linux only (``/proc``). Prints a table; ``--out FILE`` also writes it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from glmkit.testing import TEST_KEY, free_port

MB = 1_000_000


def _peak_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def _wait(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code < 500:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@contextlib.contextmanager
def _glm(args: list[str], env: dict[str, str], health: str) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-m", "glmkit.cli.app", *args], env=env, stderr=subprocess.DEVNULL)
    try:
        _wait(health)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def bodies(size: int) -> dict[str, bytes]:
    """One text block of ``size`` bytes; the same text in 1 kB messages; one base64 image of ``size`` bytes."""
    text = ("lorem ipsum dolor sit amet " * (size // 27 + 1))[:size]
    one = {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": text}]}
    turns = [{"role": "user" if i % 2 == 0 else "assistant", "content": text[:1000]} for i in range(size // 1000)]
    turns[-1]["role"] = "user"
    many = {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": turns}
    image = {"type": "base64", "media_type": "image/png", "data": "A" * size}
    block = [{"type": "image", "source": image}, {"type": "text", "text": "what is this?"}]
    img = {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": block}]}
    return {name: json.dumps(b).encode() for name, b in (("one text block", one), ("1 kB turns", many), ("image", img))}


def measure(size: int) -> list[str]:
    rows = [f"{'body':<16}{'size MB':>9}{'status':>8}{'peak before MB':>16}{'peak after MB':>15}{'growth/body':>13}"]
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ZAI_", "GLM_"))}
        env["GLMKIT_HOME"] = home
        emu_port, gw_port = free_port(), free_port()
        emu = f"http://127.0.0.1:{emu_port}"
        with _glm(["emulate", "--port", str(emu_port)], env, f"{emu}/_emulator/health"):
            env.update(ZAI_BASE_URL=f"{emu}/api/coding/paas/v4", ZAI_API_KEY=TEST_KEY)
            Path(home, "config.toml").write_text("[gateway]\nmax_body = 134217728\n")
            gw = f"http://127.0.0.1:{gw_port}"
            for name, body in bodies(size).items():  # a fresh gateway per shape: VmHWM only grows
                with _glm(["serve", "--port", str(gw_port)], env, f"{gw}/health") as proc:
                    httpx.post(f"{gw}/v1/messages", json={"model": "x", "max_tokens": 5, "messages": []}, timeout=30)
                    before = _peak_kb(proc.pid)
                    r = httpx.post(
                        f"{gw}/v1/messages", content=body, headers={"Content-Type": "application/json"}, timeout=300
                    )
                    after = _peak_kb(proc.pid)
                    growth = (after - before) * 1024 / len(body)
                    rows.append(
                        f"{name:<16}{len(body) / MB:>9.1f}{r.status_code:>8}{before / 1024:>16.0f}"
                        f"{after / 1024:>15.0f}{growth:>12.1f}x"
                    )
            Path(home, "config.toml").write_text("")
            with _glm(["serve", "--port", str(gw_port)], env, f"{gw}/health") as proc:
                before = _peak_kb(proc.pid)
                body = bodies(70 * MB)["one text block"]
                r = httpx.post(f"{gw}/v1/messages", content=body, headers={"Content-Type": "application/json"})
                after = _peak_kb(proc.pid)
                rows.append(
                    f"{'over 64 MiB cap':<16}{len(body) / MB:>9.1f}{r.status_code:>8}{before / 1024:>16.0f}"
                    f"{after / 1024:>15.0f}{(after - before) * 1024 / len(body):>12.1f}x"
                )
    return rows


def main() -> None:
    """Run and print (``--size`` in MB, default 50; ``--out`` also writes the table)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=float, default=50.0, help="body size in MB (default 50)")
    parser.add_argument("--out", type=Path, help="also write the table here")
    args = parser.parse_args()
    rows = measure(int(args.size * MB))
    text = "\n".join(rows)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
