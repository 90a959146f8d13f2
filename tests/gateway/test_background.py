"""Peak hours (issue 19): requests marked as background wait for off-peak in the gateway, with pings, and say so in the
ledger and `glm usage`; `glm serve` prints the price phase at start. Real `glm serve` and `glm emulate` processes with
a peak-hour table (the `[gateway.peak_hours]` override of the data file's) that makes now peak."""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from glmkit.testing import TEST_KEY, free_port
from tests.gateway.conftest import Serve, _wait, base_env, serve_process

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]


def peak_now_config(extra: str = "") -> str:
    """A `[gateway]` table whose peak hours (00:00-23:00 every day, at an offset putting now at noon) hold now."""
    offset = 12 - dt.datetime.now(dt.UTC).hour
    table = '[gateway]\nhold_max_seconds = 1.5\nbackground_clients = ["nightly-bot"]\n' + extra
    table += f"[gateway.peak_hours]\nutc_offset_hours = {offset}\nweekdays = [0, 1, 2, 3, 4, 5, 6]\n"
    return table + "start_hour = 0\nend_hour = 23\n"


@pytest.fixture(scope="module")
def peak(emulate_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    home = tmp_path_factory.mktemp("peak-serve")
    (home / "config.toml").write_text(peak_now_config("ping_interval = 0.2\n"), encoding="utf-8")
    with serve_process(emulate_url, home, "translate") as serve:
        yield serve


def row_of(home: Path, client: str) -> dict[str, Any]:
    from glmkit.ledger import Ledger

    deadline = time.monotonic() + 10
    while True:
        if (home / "glmkit.db").exists():
            ledger = Ledger(home / "glmkit.db")
            try:
                found = [r for r in ledger.requests() if r["client"] == client]
            finally:
                ledger.close()
            if found:
                return found[-1]
        assert time.monotonic() < deadline, f"no ledger row for {client}"
        time.sleep(0.05)


def test_a_background_stream_is_held_with_pings_then_answered(peak: Serve) -> None:
    body = {
        "model": "claude-haiku-4-5",
        "max_tokens": 100,
        "stream": True,
        "messages": [{"role": "user", "content": "hi"}],
    }
    headers = {"x-glm-priority": "background", "x-glmkit-client": "held-stream"}
    with httpx.stream("POST", f"{peak.url}/v1/messages", json=body, headers=headers, timeout=30) as response:
        assert response.status_code == 200
        text = response.read().decode()
    names = [line[7:] for line in text.split("\n") if line.startswith("event: ")]
    assert names[0] == "message_start" and "ping" in names[: names.index("content_block_start")]
    assert names[-1] == "message_stop"
    row = row_of(peak.home, "held-stream")
    assert row["held_ms"] >= 1400 and row["status"] == 200
    assert any(n.startswith("held for off-peak") for n in row["notes"])


def test_a_client_named_in_the_config_is_held_and_others_are_not(peak: Serve) -> None:
    import openai

    bot = openai.OpenAI(
        api_key=TEST_KEY, base_url=f"{peak.url}/v1", max_retries=0, default_headers={"x-glmkit-client": "nightly-bot"}
    )
    reply = bot.chat.completions.create(model="glm-5.3", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content
    assert row_of(peak.home, "nightly-bot")["held_ms"] >= 1400

    anyone = openai.OpenAI(
        api_key=TEST_KEY, base_url=f"{peak.url}/v1", max_retries=0, default_headers={"x-glmkit-client": "interactive"}
    )
    anyone.chat.completions.create(model="glm-5.3", messages=[{"role": "user", "content": "hi"}])
    assert row_of(peak.home, "interactive")["held_ms"] is None

    shown = subprocess.run(
        [sys.executable, "-m", "glmkit.cli.app", "usage", "--offline", "--json"],
        env=base_env(peak.home),
        capture_output=True,
        timeout=60,
    )
    assert json.loads(shown.stdout)["local"]["gateway"]["held"]["requests"] >= 1


def test_glm_serve_prints_the_price_phase_at_start(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(peak_now_config(), encoding="utf-8")
    port = free_port()
    cmd = [sys.executable, "-m", "glmkit.cli.app", "serve", "--offline", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=base_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait(f"http://127.0.0.1:{port}/health", proc)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
    text = err.decode()
    assert "Price phase: peak" in text and "00:00-23:00" in text
    assert "held until off-peak (at most 1.5 s)" in text
