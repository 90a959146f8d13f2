"""A request's ledger row is on disk before its client sees the answer end: killing `glm serve` (SIGKILL, no
chance to flush) right after a burst of answers loses no row.

Real processes: `glm emulate` upstream, `glm serve` in front of it, the official `anthropic` and `openai`
clients, each mode of the gateway.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anthropic
import openai
import pytest

from glmkit.testing import free_port
from tests.gateway.conftest import _wait, upstream_env

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

BURST = 20


def ask(url: str, n: int) -> str:
    """One of four kinds of request, by ``n``: Anthropic streamed or not, OpenAI streamed or not."""
    prompt = [{"role": "user", "content": f"question {n}"}]
    if n % 4 < 2:
        client = anthropic.Anthropic(api_key="any", base_url=url, max_retries=0)
        if n % 4 == 0:
            with client.messages.stream(model="claude-sonnet-4-5", max_tokens=64, messages=prompt) as stream:
                return stream.get_final_message().stop_reason or ""
        return client.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=prompt).stop_reason or ""
    oa = openai.OpenAI(api_key="any", base_url=f"{url}/v1", max_retries=0)
    if n % 4 == 2:
        chunks = list(oa.chat.completions.create(model="glm-4.7", messages=prompt, stream=True))  # type: ignore[arg-type]
        return chunks[-1].choices[0].finish_reason or ""
    return oa.chat.completions.create(model="glm-4.7", messages=prompt).choices[0].finish_reason or ""  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["translate", "passthrough"])
def test_sigkill_right_after_a_burst_loses_no_row(emulate_url: str, tmp_path: Path, mode: str) -> None:
    from glmkit.ledger import Ledger

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = upstream_env(tmp_path, emulate_url)
    cmd = [sys.executable, "-m", "glmkit.cli.app", "serve", "--port", str(port), "--mode", mode]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(f"{url}/health", proc)
        with ThreadPoolExecutor(max_workers=BURST) as pool:
            endings = list(pool.map(lambda n: ask(url, n), range(BURST)))
        proc.send_signal(signal.SIGKILL)  # the instant the last answer is in: no flush, no shutdown
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
    assert all(endings), endings
    # the rows went through the gateway's journal (one write each), which the dead gateway left behind
    assert list(tmp_path.glob("glmkit.db.journal-*.jsonl"))
    rows = Ledger(tmp_path / "glmkit.db").requests(source="gateway")
    answered = [r for r in rows if r["route"] in ("/v1/messages", "/v1/chat/completions")]
    assert len(answered) == BURST, [(r["route"], r["status"]) for r in rows]
    assert all(r["status"] == 200 for r in answered)
    assert sum(r["output_tokens"] > 0 for r in answered) == BURST  # usage was read before the row was written
    assert not list(tmp_path.glob("glmkit.db.journal-*.jsonl"))  # copied in by the reader, then removed
