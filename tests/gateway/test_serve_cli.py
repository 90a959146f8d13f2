"""`glm serve` as a user runs it: the banner says where it listens and how to point Claude Code at it; Ctrl-C
stops it cleanly (exit 0, ledger flushed)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import anthropic
import pytest

from glmkit.testing import free_port
from tests.gateway.conftest import _wait, base_env


@pytest.mark.timeout(60)
def test_banner_names_the_address_and_ctrl_c_stops_cleanly(tmp_path: Path) -> None:
    from glmkit.ledger import Ledger

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "glmkit.cli.app", "serve", "--offline", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=base_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait(f"{url}/health", proc)
        client = anthropic.Anthropic(api_key="anything", base_url=url, max_retries=0)
        message = client.messages.create(
            model="claude-sonnet-4-5", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
        )
        assert message.stop_reason == "end_turn"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
    text = err.decode()
    assert proc.returncode == 0, text
    assert f"ANTHROPIC_BASE_URL={url} " in text and f"{url}/v1" in text
    assert str(tmp_path / "glmkit.db") in text
    assert text.rstrip().endswith("glm serve: stopped.")
    assert "Traceback" not in text and "interrupted" not in text
    assert len(Ledger(tmp_path / "glmkit.db").requests()) == 1  # the row written before the stop reached the disk


def test_help_says_how_to_point_claude_code_at_it() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "glmkit.cli.app", "serve", "--help"], capture_output=True, text=True, timeout=30
    ).stdout
    assert "ANTHROPIC_BASE_URL=http://127.0.0.1:8742" in out
    assert "--mode" in out and "passthrough" in out and "[gateway]" in out
