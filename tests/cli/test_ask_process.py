"""`glm ask` as a real process: against `glm emulate` (exit codes, --debug, Ctrl-C, a closed pipe) and in a terminal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from glmkit.ledger import Ledger
from glmkit.testing import TEST_KEY, emulate_process, free_port

GLM = [sys.executable, "-m", "glmkit.cli.app"]


# -- a real `glm` process against `glm emulate` --------------------------------------------------------


@pytest.fixture(scope="module")
def emulate() -> Iterator[str]:
    """`glm emulate` as a process, accepting only TEST_KEY, with a pause between stream chunks."""
    with emulate_process("--keys", TEST_KEY, "--chunk-delay", "0.15") as url:
        yield url


def _env(url: str, home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZAI_", "GLM_"))}
    return {
        **env,
        "ZAI_API_KEY": TEST_KEY,
        "ZAI_BASE_URL": f"{url}/api/paas/v4",
        "GLM_MAX_RETRIES": "0",
        "GLMKIT_HOME": str(home),
        **extra,
    }


def _arm(url: str, **fault: object) -> None:
    httpx.delete(f"{url}/_emulator/faults")
    httpx.post(f"{url}/_emulator/faults", json={"path": "chat/completions", **fault}).raise_for_status()


@pytest.mark.e2e
@pytest.mark.timeout(90)
@pytest.mark.parametrize(
    ("fault", "env", "code", "needle"),
    [
        ({"code": "1302"}, {}, 4, "concurrency"),
        ({"code": "1308", "message": "Usage limit reached, will reset at 2026-12-01 07:41:44"}, {}, 4, "2026-12-01"),
        ({"code": "1234"}, {}, 5, "error"),
        ({"status": 418}, {}, 1, "error"),
        (None, {"ZAI_API_KEY": "ffffffffffffffffffffffffffffffff.wrongwrongwrong1"}, 3, "key"),
        (None, {"ZAI_API_KEY": ""}, 2, "ZAI_API_KEY"),
        (None, {"ZAI_BASE_URL": f"http://127.0.0.1:{free_port()}/api/paas/v4"}, 5, "Connection"),
    ],
    ids=["rate-1302", "quota-1308", "server-1234", "other-418", "auth", "no-key", "network"],
)
def test_exit_code_of_each_error_class(emulate: str, tmp_path: Path, fault, env, code: int, needle: str) -> None:  # type: ignore[no-untyped-def]
    if fault is not None:
        _arm(emulate, **fault)
    try:
        out = subprocess.run(
            [*GLM, "ask", "-m", "glm-4.7", "hello"],
            capture_output=True,
            text=True,
            env=_env(emulate, tmp_path, **env),
            timeout=60,
        )
    finally:
        httpx.delete(f"{emulate}/_emulator/faults")
    assert out.returncode == code, out.stderr
    first = out.stderr.strip().splitlines()[0]
    assert first.startswith("error:") and needle.lower() in out.stderr.lower()
    assert "Traceback" not in out.stderr


@pytest.mark.e2e
@pytest.mark.timeout(60)
def test_debug_shows_the_trace_and_the_request_id(emulate: str, tmp_path: Path) -> None:
    _arm(emulate, code="1302")
    out = subprocess.run(
        [*GLM, "ask", "--debug", "-m", "glm-4.7", "hello"],
        capture_output=True,
        text=True,
        env=_env(emulate, tmp_path),
        timeout=60,
    )
    assert out.returncode == 4
    assert "Traceback" in out.stderr and "ConcurrencyLimitError" in out.stderr
    row = Ledger(tmp_path / "glmkit.db").last_conversation()
    assert row is not None and row["status"] == "error" and row["error_code"] == "1302"


@pytest.mark.e2e
@pytest.mark.timeout(60)
def test_an_error_mid_stream_keeps_the_partial_answer_and_shows_the_request_id(emulate: str, tmp_path: Path) -> None:
    _arm(emulate, kind="stream_error", code="1234", after=3)
    try:
        out = subprocess.run(
            [*GLM, "ask", "--debug", "-m", "glm-4.6", "--no-think", "go on"],
            capture_output=True,
            text=True,
            env=_env(emulate, tmp_path),
            timeout=60,
        )
    finally:
        httpx.delete(f"{emulate}/_emulator/faults")
    assert out.returncode == 5, out.stderr
    row = Ledger(tmp_path / "glmkit.db").last_conversation()
    assert row is not None and row["status"] == "error" and row["error_code"] == "1234"
    assert row["response"] and out.stdout.startswith(row["response"])  # what was printed is what was logged
    assert f"request id: {row['request_id']}" in out.stderr and row["request_id"]


@pytest.mark.e2e
@pytest.mark.timeout(60)
def test_ctrl_c_mid_stream_exits_130_and_logs_the_partial_answer(emulate: str, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*GLM, "ask", "-m", "glm-4.6", "--no-think", "tell me a long story about ducks"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(emulate, tmp_path, PYTHONUNBUFFERED="1"),
    )
    try:
        first = proc.stdout.read(4)  # type: ignore[union-attr]
        assert first == b"This"
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    printed = (first + rest).decode()
    row = Ledger(tmp_path / "glmkit.db").last_conversation()
    assert row is not None and row["status"] == "cancelled"
    assert row["response"] and printed.startswith(row["response"].rstrip())
    assert "ducks" in row["prompt"]
    full = subprocess.run(
        [*GLM, "ask", "--json", "--no-log", "-m", "glm-4.6", "--no-think", "tell me a long story about ducks"],
        capture_output=True,
        text=True,
        env=_env(emulate, tmp_path),
        timeout=60,
    )
    complete = json.loads(full.stdout)["choices"][0]["message"]["content"]
    assert len(row["response"]) < len(complete) and complete.startswith(row["response"])


@pytest.mark.e2e
@pytest.mark.timeout(60)
def test_a_reader_that_stops_early_ends_the_answer_quietly(emulate: str, tmp_path: Path) -> None:
    """`glm ask ... | head -c 4`: no traceback, exit 0, and the log says how much was written."""
    proc = subprocess.Popen(
        [*GLM, "ask", "-m", "glm-4.6", "--no-think", "a long story please"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(emulate, tmp_path),
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.read(4) == b"This"
        proc.stdout.close()  # the reader goes away
        err = proc.stderr.read().decode()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "Broken pipe" not in err
    row = Ledger(tmp_path / "glmkit.db").last_conversation()
    assert row is not None and row["status"] == "cancelled" and row["response"].startswith("This")
    assert not row["response"].rstrip().endswith(".")  # cut before the answer's last sentence ended


@pytest.mark.e2e
@pytest.mark.timeout(60)
def test_the_real_command_pipes_stdin_and_prints_plain_text(emulator_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = subprocess.run(
        [*GLM, "ask", "-m", "glm-4.7", "summarize"],
        input="line one\nline two\n",
        capture_output=True,
        text=True,
        env=_env(emulator_server.url, tmp_path),
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "\x1b[" not in out.stdout  # no terminal codes in a pipe
    assert 'answering "summarize\n\nline one\nline two' in out.stdout
    assert out.stderr == ""  # the reasoning is not shown in a pipe


@pytest.mark.e2e
@pytest.mark.timeout(60)
@pytest.mark.parametrize("flag", [None, "--show-thinking", "--no-show-thinking"])
def test_on_a_terminal_the_answer_is_markdown_and_reasoning_folds(tmp_path: Path, flag: str | None) -> None:
    import pexpect

    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZAI_", "GLM_"))}
    args = ["-m", "glmkit.cli.app", "ask", "--offline", *([flag] if flag else []), "explain **bold** words"]
    child = pexpect.spawn(
        sys.executable,
        args,
        env={**env, "GLMKIT_HOME": str(tmp_path), "TERM": "xterm"},
        encoding="utf-8",
        timeout=30,
        dimensions=(30, 120),
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    screen = child.before
    assert "\x1b[1mbold\x1b[0m" in screen and "**bold**" not in screen.split("answering")[-1]  # rendered, not raw
    folded, reasoning = "▸ Thought for" in screen, "I should answer briefly" in screen
    if flag is None:
        assert folded  # (the reasoning itself shows while the model thinks, then folds to this line)
    elif flag == "--show-thinking":
        assert reasoning and not folded
    else:
        assert not reasoning and not folded
