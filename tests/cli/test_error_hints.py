"""Every error line the CLI prints has its hint (docs/cli.md: "An error prints `error: ...` and `hint: ...` on
stderr"), and `glm tokens` without a key prints the local estimate as documented."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from glmkit._errors import APIStatusError, make_status_error
from glmkit._tokens import estimate_text
from glmkit.cli._common import fallback_hint
from glmkit.cli.app import app

runner = CliRunner()


@pytest.mark.parametrize(
    "args",
    [
        ["ask", "hello"],  # no API key
        ["usage"],  # no API key, the monitor's own path
        ["tokens", "/no/such/file.txt"],
        ["usage", "--since", "yesterday-ish"],
        ["search", "--offline", ""],
        ["ask", "--offline", "-m", "glm-0", "hello"],
    ],
)
def test_every_error_line_is_followed_by_its_hint(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZAI_API_KEY", raising=False)
    out = runner.invoke(app, args)
    assert out.exit_code != 0
    lines = out.stderr.splitlines()
    errors = [i for i, line in enumerate(lines) if line.startswith("error:")]
    assert errors, out.stderr
    for i in errors:
        assert i + 1 < len(lines) and lines[i + 1].startswith("hint: "), out.stderr


def test_an_api_error_without_its_own_hint_gets_one() -> None:
    error = make_status_error(400, {"error": {"code": "1214", "message": "messages: invalid"}})
    assert isinstance(error, APIStatusError) and not error.hint
    assert "--debug" in fallback_hint(error)


def test_tokens_without_a_key_prints_the_local_estimate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZAI_API_KEY", raising=False)
    source = tmp_path / "notes.txt"
    source.write_text("how many tokens is this sentence", encoding="utf-8")
    out = runner.invoke(app, ["tokens", str(source), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout) == {
        "tokens": estimate_text("how many tokens is this sentence"),
        "source": "estimate",
        "model": None,
        "chars": len("how many tokens is this sentence"),
        "path": str(source),
    }
    assert "no API key" in out.stderr and "local estimate" in out.stderr
