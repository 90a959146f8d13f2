"""`glm chat`: the session logic directly, the REPL through piped lines, and the real thing in a pseudo-terminal."""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
from typer.testing import CliRunner

from glmkit.cli._render import PlainView
from glmkit.cli._session import ChatSession
from glmkit.cli.app import app
from glmkit.emulator import EmulatorConfig, create_app
from glmkit.emulator.faults import Fault
from glmkit.ledger import Ledger
from glmkit.testing import TEST_KEY, emulate_process, offline_client


def view() -> PlainView:
    return PlainView(out=io.StringIO(), err=io.StringIO())


@pytest.fixture
def session(client) -> Iterator[ChatSession]:  # type: ignore[no-untyped-def]
    yield ChatSession(client=client, model="glm-4.7", ledger=Ledger())


def test_turns_build_a_history_and_a_chain_of_log_rows(session: ChatSession) -> None:
    v = view()
    first = session.send("first question", v)
    assert first.status == "ok" and '"first question"' in v.out.getvalue()  # type: ignore[attr-defined]
    second = session.send("second question", view())
    assert [m["role"] for m in session.history] == ["user", "assistant", "user", "assistant"]
    assert session.history[1]["content"] == first.text
    new, old = Ledger().conversations()
    assert (new["id"], new["parent_id"]) == (second.log_id, first.log_id)
    assert old["source"] == "chat" and old["response"] == first.text
    assert new["output_tokens"] > 0 and new["latency_ms"] > 0 and new["ttft_ms"] is not None
    assert [m["role"] for m in new["messages"]] == ["user", "assistant", "user"]


def test_model_system_and_think_commands_change_the_next_request(session: ChatSession) -> None:
    assert session.command("/model glm-4.6") == ("model: glm-4.6", False)
    assert session.command("/system answer in French")[0] == "system: answer in French"
    assert session.command("/think off")[0] == "thinking: off"
    turn = session.send("bonjour", view())
    assert turn.completion.model == "glm-4.6"
    assert not turn.completion.reasoning  # thinking disabled reached the model
    row = Ledger().last_conversation()
    assert row["system"] == "answer in French" and row["messages"][0]["role"] == "system"
    assert session.command("/think on")[0] == "thinking: on"
    assert session.send("encore", view()).completion.reasoning
    assert session.command("/system off")[0] == "system: (none)"


def test_bad_commands_answer_with_an_error_and_keep_the_session(session: ChatSession, tmp_path: Path) -> None:
    assert "Unknown command /nope" in session.command("/nope")[0]
    assert session.command("/think maybe")[0].startswith("error: /think takes on or off")
    assert session.command("/model glm-image")[0].startswith("error: glm-image is not a chat model")
    assert session.command("/attach /no/such/file")[0].startswith("error: No file at")
    (tmp_path / "a-file").write_text("")
    saved = session.command(f"/save {tmp_path}/a-file/chat.md")[0]  # a folder that cannot exist
    assert saved.startswith("error: ") and "a-file" in saved
    assert session.model == "glm-4.7"
    assert "/model" in session.command("/help")[0]
    assert session.command("/exit") == ("", True)


def test_attach_save_tokens_and_clear(session: ChatSession, tmp_path: Path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("# Plan\nship on friday\n")
    assert "attached notes.md (text)" in session.command(f"/attach {notes}")[0]
    session.send("what is the plan", view())
    assert "ship on friday" in session.history[0]["content"]
    assert session.attachments == []  # an attachment goes with one message only
    out, _ = session.command("/tokens")
    count = int(out.split()[1])
    assert count == session.client.tokenizer.create(messages=session.history).usage.total_tokens
    md, js = tmp_path / "chat.md", tmp_path / "chat.json"
    assert "saved 2 messages" in session.command(f"/save {md}")[0]
    assert "## user" in md.read_text() and "## assistant" in md.read_text()
    session.command(f"/save {js}")
    assert [m["role"] for m in json.loads(js.read_text())["messages"]] == ["user", "assistant"]
    assert session.command("/clear")[0] == "conversation cleared"
    assert session.history == [] and session.command("/tokens")[0].startswith("tokens: 0")


class _InterruptAfter(PlainView):
    """A view whose user presses Ctrl-C after a few pieces of the answer."""

    def __init__(self, pieces: int) -> None:
        super().__init__(out=io.StringIO(), err=io.StringIO())
        self.left = pieces

    def content(self, text: str) -> None:
        super().content(text)
        self.left -= 1
        if self.left == 0:
            raise KeyboardInterrupt


def test_ctrl_c_cancels_the_answer_logs_the_partial_and_keeps_the_session(session: ChatSession) -> None:
    v = _InterruptAfter(3)
    turn = session.send("a question worth a long answer", v)
    assert turn.status == "cancelled"
    assert "[cancelled]" in v.err.getvalue()  # type: ignore[attr-defined]
    assert session.history == []  # an unfinished answer is not sent back
    row = Ledger().last_conversation()
    assert row["status"] == "cancelled" and row["response"] == turn.text
    assert len(row["response"].split()) == 3  # exactly the three pieces shown, not what the stream had read ahead
    assert v.out.getvalue() == row["response"] + "\n"  # type: ignore[attr-defined]
    assert session.send("again", view()).status == "ok"


def test_an_api_error_is_returned_and_logged_and_the_next_turn_works() -> None:
    app_ = create_app(EmulatorConfig(faults=[Fault(code="1302", path="chat/completions", times=1)]))
    client = offline_client(app_, max_retries=0)
    s = ChatSession(client=client, model="glm-4.7", ledger=Ledger())
    turn = s.send("hello", view())
    assert turn.status == "error" and type(turn.error).__name__ == "ConcurrencyLimitError"
    assert Ledger().last_conversation()["error_code"] == "1302"
    assert s.send("hello", view()).status == "ok"
    client.close()


def test_the_repl_reads_piped_lines() -> None:
    script = "hello repl\n/model glm-4.6\nsecond line\n/tokens\n/exit\nnot sent\n"
    out = CliRunner().invoke(app, ["chat", "--offline", "-m", "glm-4.7"], input=script)
    assert out.exit_code == 0, out.output
    assert 'glm-4.7 on the glmkit emulator, answering "hello repl"' in out.stdout
    assert "model: glm-4.6" in out.stdout
    assert 'glm-4.6 on the glmkit emulator, answering "second line"' in out.stdout
    assert "not sent" not in out.stdout
    assert [r["model"] for r in Ledger().conversations()] == ["glm-4.6", "glm-4.7"]


# -- in a pseudo-terminal ------------------------------------------------------------------------------


def _spawn(args: list[str], home: Path, **env: str) -> pexpect.spawn:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ZAI_", "GLM_"))}
    full = {**base, "GLMKIT_HOME": str(home), "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1", **env}
    return pexpect.spawn(
        sys.executable,
        ["-m", "glmkit.cli.app", *args],
        env=full,
        encoding="utf-8",
        timeout=30,
        dimensions=(30, 100),
    )


@pytest.mark.e2e
@pytest.mark.timeout(90)
def test_chat_in_a_terminal_prompt_answer_model_and_exit(tmp_path: Path) -> None:
    child = _spawn(["chat", "--offline", "-m", "glm-4.7"], tmp_path)
    try:
        child.expect("/help for commands")
        child.expect("glm-4.7>")
        child.sendline("what is a pty")
        child.expect('answering "what is a pty"')
        child.expect("glm-4.7 · \\d+ in / \\d+ out")  # the footer after the answer
        child.expect("glm-4.7>")
        child.sendline("/model glm-4.6")
        child.expect("model: glm-4.6")
        child.expect("glm-4.6>")  # the prompt shows the new model
        child.sendline("and now")
        child.expect('glm-4.6 on the glmkit emulator, answering "and now"')
        child.expect("glm-4.6>")
        child.send('"""\r')  # a block: Enter adds lines until the closing quotes
        child.send("block one\r")
        child.send('block two"""\r')
        child.expect('answering "block one\\s+block two"')
        child.expect("glm-4.6>")
        child.send("alt one\x1b\ralt two\r")  # Alt-Enter adds a line, Enter sends
        child.expect('answering "alt one\\s+alt two"')
        child.expect("glm-4.6>")
        child.sendline("/exit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    rows = Ledger(tmp_path / "glmkit.db").conversations()
    assert [r["prompt"] for r in rows] == ["alt one\nalt two", "block one\nblock two", "and now", "what is a pty"]
    assert [r["model"] for r in rows] == ["glm-4.6"] * 3 + ["glm-4.7"]
    assert rows[2]["parent_id"] == rows[3]["id"]
    history = (tmp_path / "chat_history").read_text()
    assert "what is a pty" in history and oct((tmp_path / "chat_history").stat().st_mode & 0o777) == "0o600"


@pytest.fixture
def slow_emulator() -> Iterator[str]:
    with emulate_process("--chunk-delay", "0.2") as url:
        yield url


@pytest.mark.e2e
@pytest.mark.timeout(90)
def test_ctrl_c_in_the_terminal_cancels_the_answer_not_the_chat(tmp_path: Path, slow_emulator: str) -> None:
    child = _spawn(
        ["chat", "-m", "glm-4.6", "--no-think"],
        tmp_path,
        ZAI_API_KEY=TEST_KEY,
        ZAI_BASE_URL=f"{slow_emulator}/api/paas/v4",
    )
    try:
        child.expect("glm-4.6>")
        child.sendline("tell me everything about ducks")
        child.expect("This is")  # the answer has started streaming
        child.sendintr()
        child.expect("cancelled")
        child.expect("glm-4.6>")  # still in the chat
        child.sendline("/exit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    row = Ledger(tmp_path / "glmkit.db").last_conversation()
    assert row["status"] == "cancelled" and row["response"].startswith("This is")
    assert not row["response"].rstrip().endswith(".")  # cut before the answer's last sentence ended
