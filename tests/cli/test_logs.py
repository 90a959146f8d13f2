"""`glm logs`: what ask and chat logged, listed, searched and shown."""

from __future__ import annotations

import json
import os
from pathlib import Path

from typer.testing import CliRunner

from glmkit.cli.app import app
from glmkit.ledger import Ledger

runner = CliRunner()


def glm(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), input=input)


def _ask(*prompts: str) -> None:
    for p in prompts:
        out = glm("ask", "--offline", "-m", "glm-4.7", p)
        assert out.exit_code == 0, out.output


def test_nothing_logged_yet_is_said_and_creates_no_database() -> None:
    out = glm("logs")
    assert out.exit_code == 0 and "No conversations logged yet" in out.stderr
    assert json.loads(glm("logs", "--json").stdout) == []
    assert not (Path(os.environ["GLMKIT_HOME"]) / "glmkit.db").exists()


def test_list_newest_first_with_count_and_json() -> None:
    _ask("about docker", "about kubernetes", "about docker compose")
    out = glm("logs")
    assert out.exit_code == 0
    header, *lines = out.stdout.strip().splitlines()
    assert header.split("\t")[:5] == ["id", "when", "source", "model", "status"]
    assert [line.split("\t")[-1] for line in lines] == ["about docker compose", "about kubernetes", "about docker"]
    data = json.loads(glm("logs", "--json", "-n", "2").stdout)
    assert [r["prompt"] for r in data] == ["about docker compose", "about kubernetes"]
    db = {r["id"]: r for r in Ledger().conversations()}
    for row in data:  # the JSON is the database row, whole
        assert row == json.loads(json.dumps(db[row["id"]]))
        assert row["model"] == "glm-4.7" and row["source"] == "ask" and row["status"] == "ok"
        assert row["output_tokens"] > 0 and row["reasoning"] and row["response"].startswith("This is glm-4.7")
    assert len(json.loads(glm("logs", "list", "--json", "-n", "0").stdout)) == 3


def test_search_with_q() -> None:
    _ask("about docker", "about kubernetes", "about docker compose")
    found = json.loads(glm("logs", "-q", "docker", "--json").stdout)
    assert [r["prompt"] for r in found] == ["about docker compose", "about docker"]
    none = glm("logs", "-q", "terraform")
    assert none.exit_code == 0 and "match" in none.stderr and none.stdout == ""


def test_show_one_conversation() -> None:
    _ask("why is the sky blue")
    row = Ledger().last_conversation()
    out = glm("logs", "show", str(row["id"]))
    assert out.exit_code == 0
    for part in (f"#{row['id']}", "glm-4.7", "## prompt", "why is the sky blue", "## reasoning", row["response"]):
        assert part in out.stdout
    assert f"{row['input_tokens']} in, {row['output_tokens']} out" in out.stdout
    assert json.loads(glm("logs", "show", str(row["id"]), "--json").stdout)["response"] == row["response"]
    missing = glm("logs", "show", "999")
    assert missing.exit_code == 2 and "No conversation with id 999" in missing.stderr


def test_chat_turns_are_logged_as_a_chain_and_found_by_source() -> None:
    out = glm("chat", "--offline", "-m", "glm-4.6", input="first turn\nsecond turn\n/exit\n")
    assert out.exit_code == 0, out.output
    _ask("a lone question")
    chats = json.loads(glm("logs", "--source", "chat", "--json").stdout)
    assert [r["prompt"] for r in chats] == ["second turn", "first turn"]
    assert chats[0]["parent_id"] == chats[1]["id"] and chats[1]["parent_id"] is None
    shown = glm("logs", "show", str(chats[0]["id"])).stdout
    assert f"continues #{chats[1]['id']}" in shown


def test_bad_options_are_usage_errors() -> None:
    assert glm("logs", "-n", "-1").exit_code == 2
    bad_since = glm("logs", "--since", "last tuesday")
    assert bad_since.exit_code == 2 and "hint:" in bad_since.stderr
    _ask("a logged question")  # an unknown source is an error even when there is something to list
    bad_source = glm("logs", "--source", "gateway")
    assert bad_source.exit_code == 2 and "ask or chat" in bad_source.stderr
    assert glm("logs", "list", "--source", "ASK").exit_code == 0
