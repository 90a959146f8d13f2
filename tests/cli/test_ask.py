"""`glm ask` in-process through Typer's runner (--offline); test_ask_process.py runs it as a real process."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from glmkit.catalog import default_model
from glmkit.cli.app import app
from glmkit.ledger import Ledger

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
        (["-f", "/"], "/ is a folder"),
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
    # in-process: a stray ResourceWarning from another test's garbage may land on stderr, so look for the reasoning
    assert quiet.exit_code == 0 and rows()[0]["reasoning"].strip() not in quiet.stderr


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


def test_continue_skips_a_turn_that_failed() -> None:
    assert glm("ask", "--offline", "-m", "glm-4.7", "a good question").exit_code == 0
    failed = glm("ask", "--offline", "-m", "glm-9", "a bad model")
    assert failed.exit_code != 0
    assert rows()[0]["status"] == "error"  # the failure is logged ...
    again = glm("ask", "--offline", "-c", "follow-up")
    assert again.exit_code == 0, again.output
    new = rows()[0]
    assert new["model"] == "glm-4.7" and "a good question" in json.dumps(new["messages"])  # ... but not built on
