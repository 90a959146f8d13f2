"""`glm env TOOL` (export lines a shell can eval) and `glm run TOOL -- ARGS` (variables for one process)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from glmkit.cli.app import app
from glmkit.testing import TEST_KEY

runner = CliRunner()


def test_env_lines_evaluate_in_bash(home: Path) -> None:
    out = runner.invoke(app, ["env", "claude-code"])
    assert out.exit_code == 0, out.output
    assert "export ANTHROPIC_BASE_URL=https://api.z.ai/api/anthropic" in out.output
    assert out.output.startswith("unset ANTHROPIC_API_KEY\n")
    if shutil.which("bash") is None:
        pytest.skip("no bash")
    script = out.output + 'printf "%s|%s|%s" "$ANTHROPIC_BASE_URL" "$ANTHROPIC_AUTH_TOKEN" "$API_TIMEOUT_MS"\n'
    got = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=10).stdout
    assert got == f"https://api.z.ai/api/anthropic|{TEST_KEY}|3000000"


def test_env_fish_and_tools_without_variables(home: Path) -> None:
    out = runner.invoke(app, ["env", "codex", "--shell", "fish"])
    assert out.output.strip() == f"set -gx ZAI_API_KEY {TEST_KEY}"
    bad = runner.invoke(app, ["env", "codex", "--shell", "tcsh"])
    assert bad.exit_code == 2 and "bash, zsh or fish" in bad.output
    cursor = runner.invoke(app, ["env", "cursor"])
    assert cursor.exit_code == 2 and "glm setup cursor" in cursor.output


@pytest.mark.timeout(60)
def test_run_sets_variables_for_that_process_only(home: Path, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "claude"
    fake.write_text(
        f"#!{sys.executable}\nimport os, sys\n"
        'print(os.environ["ANTHROPIC_BASE_URL"], os.environ.get("ANTHROPIC_API_KEY"), sys.argv[1:])\nsys.exit(7)\n'
    )
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "ANTHROPIC_API_KEY": "sk-ant-x"}
    proc = subprocess.run(
        [sys.executable, "-m", "glmkit.cli.app", "run", "claude", "--", "--print", "-x"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert proc.returncode == 7  # the tool's own exit code
    assert proc.stdout.strip() == "https://api.z.ai/api/anthropic None ['--print', '-x']"  # the Anthropic key dropped
    assert "ANTHROPIC_BASE_URL" not in os.environ


def test_run_names_a_missing_program(home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    out = runner.invoke(app, ["run", "goose"])
    assert out.exit_code == 2 and "goose is not on PATH" in out.output
