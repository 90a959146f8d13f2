"""`glm ask`: in-process through Typer's runner (--offline), and as a real process against `glm emulate`."""

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
from typer.testing import CliRunner

from glmkit.catalog import default_model
from glmkit.cli.app import app
from glmkit.ledger import Ledger
from glmkit.testing import TEST_KEY, emulate_process, free_port

GLM = [sys.executable, "-m", "glmkit.cli.app"]
runner = CliRunner()


def glm(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), input=input)


def rows() -> list[dict]:
    return Ledger().conversations(limit=100)


# -- in-process, offline ---------------------------------------------------------------------------


def test_prompt_and_piped_stdin_reach_the_model() -> None:
    out = glm("ask", "--offline", "review", "this", input="diff --git a/x b/x\n+new line\n")
    assert out.exit_code == 0, out.output
    assert 'answering "review this\n\ndiff --git a/x b/x' in out.stdout
    (row,) = rows()
    assert row["prompt"].startswith("review this\n\ndiff --git")
    assert row["source"] == "ask" and row["status"] == "ok"


def test_json_is_the_whole_response_and_parses_back() -> None:
    out = glm("ask", "--offline", "--json", "-m", "glm-4.7", "-s", "be terse", "hi")
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["model"] == "glm-4.7"
    msg = data["choices"][0]["message"]
    assert '"hi"' in msg["content"] and msg["reasoning_content"]
    assert data["usage"]["total_tokens"] == data["usage"]["prompt_tokens"] + data["usage"]["completion_tokens"]
    (row,) = rows()
    assert row["system"] == "be terse"
    assert row["messages"][0] == {"role": "system", "content": "be terse"}
    assert row["response"] == msg["content"] and row["reasoning"] == msg["reasoning_content"]
    assert row["input_tokens"] == data["usage"]["prompt_tokens"]
    assert row["request_id"] == data["request_id"]


def test_no_think_sends_thinking_disabled_or_the_lowest_effort() -> None:
    hybrid = json.loads(glm("ask", "--offline", "--json", "--no-think", "-m", "glm-4.6", "x").stdout)
    assert not hybrid["choices"][0]["message"].get("reasoning_content")
    always = glm("ask", "--offline", "--no-think", "-m", "glm-5.3", "x")
    assert always.exit_code == 0
    assert "always thinks" in always.stderr and "low" in always.stderr


def test_text_file_is_inlined_and_image_switches_to_a_vision_model(tmp_path: Path) -> None:
    from media_samples import png

    notes = tmp_path / "notes.txt"
    notes.write_text("the build fails on arm64\n")
    image = tmp_path / "shot.png"
    image.write_bytes(png(8, 8))
    out = glm("ask", "--offline", "--json", "-f", str(notes), "-f", str(image), "what is wrong")
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["model"] == default_model("vision")
    assert "1 image(s)" in data["choices"][0]["message"]["content"]
    assert f"using {default_model('vision')}" in out.stderr
    (row,) = rows()
    parts = row["messages"][-1]["content"]
    assert parts[0] == {"type": "text", "text": "[a image_url part was attached here]"}  # no base64 in the log
    assert "```notes.txt\nthe build fails on arm64\n```" in parts[-1]["text"]


def test_an_image_with_a_text_only_model_fails_before_sending(tmp_path: Path) -> None:
    from media_samples import png

    image = tmp_path / "shot.png"
    image.write_bytes(png(8, 8))
    out = glm("ask", "--offline", "-m", "glm-4.7", "-f", str(image), "what is this")
    assert out.exit_code == 2
    assert "reads text only" in out.stderr and "hint:" in out.stderr
    assert rows() == []


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--temperature", "3"], "temperature must be"),
        (["-f", "/nonexistent/file.txt"], "No file at"),
        (["-m", "glm-image"], "not a chat model"),
    ],
)
def test_bad_input_exits_2_with_a_hint_and_logs_nothing(args: list[str], needle: str) -> None:
    out = glm("ask", "--offline", *args, "x")
    assert out.exit_code == 2
    assert needle in out.stderr
    assert len(out.stderr.strip().splitlines()) <= 2  # one error line (and a hint)
    assert rows() == []


def test_continue_sends_the_last_exchange_back() -> None:
    first = glm("ask", "--offline", "-m", "glm-4.7", "-s", "sys one", "first question")
    assert first.exit_code == 0
    second = glm("ask", "--offline", "-c", "and a follow-up")
    assert second.exit_code == 0, second.output
    new, old = rows()
    assert new["parent_id"] == old["id"]
    assert new["model"] == "glm-4.7" and new["system"] == "sys one"
    roles = [m["role"] for m in new["messages"]]
    assert roles == ["system", "user", "assistant", "user"]
    assert new["messages"][2]["content"] == old["response"]
    private = glm("ask", "--offline", "-c", "--no-log", "--json", "off the record")
    assert private.exit_code == 0
    assert '"off the record"' in json.loads(private.stdout)["choices"][0]["message"]["content"]
    assert len(rows()) == 2  # continued from the log, but not logged


def test_continue_without_history_is_a_usage_error() -> None:
    out = glm("ask", "--offline", "-c", "more")
    assert out.exit_code == 2 and "no logged conversation" in out.stderr


def test_no_log_and_the_config_switch_turn_logging_off() -> None:
    assert glm("ask", "--offline", "--no-log", "secret stuff").exit_code == 0
    assert not (Path(os.environ["GLMKIT_HOME"]) / "glmkit.db").exists()
    assert glm("config", "set", "log", "false").exit_code == 0
    assert glm("ask", "--offline", "more secret").exit_code == 0
    assert not (Path(os.environ["GLMKIT_HOME"]) / "glmkit.db").exists()
    assert glm("config", "set", "log", "true").exit_code == 0
    assert glm("ask", "--offline", "logged").exit_code == 0
    assert [r["prompt"] for r in rows()] == ["logged"]


def test_a_top_level_log_false_in_the_config_file_turns_logging_off() -> None:
    home = Path(os.environ["GLMKIT_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text("log = false\n")
    assert glm("ask", "--offline", "private").exit_code == 0
    assert not (home / "glmkit.db").exists()


def test_show_thinking_in_a_pipe_sends_the_reasoning_to_stderr() -> None:
    out = glm("ask", "--offline", "-m", "glm-4.7", "--show-thinking", "why")
    assert out.exit_code == 0
    (row,) = rows()
    assert row["reasoning"] and row["reasoning"].strip() in out.stderr
    assert row["reasoning"].strip() not in out.stdout and out.stdout.strip() == row["response"].strip()
    quiet = glm("ask", "--offline", "-m", "glm-4.7", "why")
    assert quiet.stderr == ""


def test_an_answer_cut_by_max_tokens_says_so() -> None:
    out = glm("ask", "--offline", "-m", "glm-4.6", "--no-think", "--max-tokens", "5", "a long answer please")
    assert out.exit_code == 0
    assert "finish_reason 'length'" in out.stderr and "--max-tokens" in out.stderr
    assert rows()[0]["output_tokens"] == 5
    assert "finish_reason" not in glm("ask", "--offline", "-m", "glm-4.6", "short").stderr


@pytest.mark.parametrize("command", ["ask", "chat"])
def test_help_names_the_catalogs_default_model(command: str) -> None:
    out = glm(command, "--help")
    assert f"else {default_model('chat')}" in " ".join(out.stdout.split())


def test_the_coding_endpoint_notice_is_one_plain_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("glmkit._client._notice_shown", False)  # the SDK says it once per process
    out = glm("ask", "--offline", "-E", "coding", "hi")
    assert out.exit_code == 0, out.output
    assert "note: glmkit: chat is going to the GLM Coding Plan endpoint" in out.stderr
    assert "UserWarning" not in out.stderr and "make_client" not in out.stderr


def test_no_prompt_is_a_usage_error() -> None:
    out = glm("ask", "--offline", input="")
    assert out.exit_code == 2 and "No prompt" in out.stderr


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


def test_a_live_answer_taller_than_the_terminal_is_printed_whole_at_the_end() -> None:
    import io as _io

    from rich.console import Console

    from glmkit.cli._render import LiveView

    buf = _io.StringIO()
    console = Console(file=buf, force_terminal=True, width=60, height=10, highlight=False)
    view = LiveView(console, show_thinking=None)
    view.reasoning("thinking hard")
    for i in range(40):
        view.content(f"- item number {i}\n")
        view.live.refresh()  # what the refresh thread does ten times a second
    view.close()
    out = buf.getvalue()
    final = out[out.rindex("▸ Thought for") :]  # the last render, after the live region was redrawn
    assert all(f"item number {i}" in final for i in range(40))
