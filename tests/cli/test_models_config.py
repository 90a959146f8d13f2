"""`glm models`, `glm tokens`, `glm config`, shell completion and `glm --help`."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from glmkit._errors import redact
from glmkit._tokens import estimate_text
from glmkit.catalog import all_models, default_model
from glmkit.cli.app import app
from glmkit.testing import TEST_KEY, free_port, offline_client

runner = CliRunner()
KEY = "0123456789abcdef0123456789abcdef.SuperSecretTail9"


def glm(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), input=input)


def config_file() -> Path:
    return Path(os.environ["GLMKIT_HOME"]) / "config.toml"


# -- models ------------------------------------------------------------------------------------------------


def test_models_table_lists_the_catalog_with_its_columns() -> None:
    out = glm("models")
    assert out.exit_code == 0
    header, *lines = out.stdout.strip().splitlines()
    assert header.split("\t") == ["model", "kind", "context", "output", "thinking", "modalities", "plan", "default for"]
    assert [line.split("\t")[0] for line in lines] == [m.id for m in all_models()]
    row = dict(zip(header.split("\t"), lines[0].split("\t"), strict=True))
    first = all_models()[0]
    assert row["model"] == first.id and row["plan"] == ("yes" if first.plan else "")


def test_models_json_and_filters() -> None:
    data = json.loads(glm("models", "--json", "--vision").stdout)
    assert data and all(m["vision"] for m in data)
    assert {m["id"] for m in data} == {m.id for m in all_models() if m.vision}
    vision = next(m for m in data if m["id"] == default_model("vision"))
    assert vision["default_for"] == "vision" and "image" in vision["modalities"]
    kinds = {m["kind"] for m in json.loads(glm("models", "--json", "--kind", "ocr").stdout)}
    assert kinds == {"ocr"}
    bad = glm("models", "--kind", "sound")
    assert bad.exit_code == 2 and "Unknown kind" in bad.stderr


# -- tokens ------------------------------------------------------------------------------------------------


def test_models_kind_is_case_insensitive() -> None:
    out = glm("models", "--kind", "CHAT", "--json")
    assert out.exit_code == 0, out.output
    kinds = {m["kind"] for m in json.loads(out.stdout)}
    assert kinds == {"chat"}


def test_tokens_counts_a_file_and_stdin_with_the_tokenizer(tmp_path: Path) -> None:
    text = "def add(a, b):\n    return a + b\n" * 20
    source = tmp_path / "code.py"
    source.write_text(text)
    out = glm("tokens", str(source), "--offline", "--json")
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    with offline_client() as client:
        expected = client.tokenizer.count(text)
    assert data["tokens"] == expected and data["source"] == "api"
    piped = glm("tokens", "-", "--offline", input=text)
    assert piped.stdout.strip() == str(expected)


def test_tokens_falls_back_to_the_local_estimate_with_a_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZAI_API_KEY", TEST_KEY)
    monkeypatch.setenv("ZAI_BASE_URL", f"http://127.0.0.1:{free_port()}/api/paas/v4")  # nothing listens
    monkeypatch.setenv("GLM_MAX_RETRIES", "0")
    out = glm("tokens", "-", "--json", input="hello tokenizer world")
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data == {**data, "tokens": estimate_text("hello tokenizer world"), "source": "estimate"}
    assert "local estimate" in out.stderr


@pytest.mark.parametrize(
    ("args", "needle"), [(["/no/such.txt"], "No file at"), (["-"], "empty"), ([str(Path(__file__).parent)], "a folder")]
)
def test_tokens_bad_input(args: list[str], needle: str) -> None:
    out = glm("tokens", *args, "--offline", input="")
    assert out.exit_code == 2 and needle in out.stderr


# -- config ------------------------------------------------------------------------------------------------


def test_config_set_stores_the_key_with_mode_0600_and_shows_it_redacted() -> None:
    out = glm("config", "set", "api_key", KEY)
    assert out.exit_code == 0, out.output
    assert KEY not in out.output and "Tail9" not in out.output
    path = config_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert tomllib.loads(path.read_text())["profiles"]["default"]["api_key"] == KEY
    for args in (["config", "show"], ["config", "get", "api_key"], ["config"]):
        shown = glm(*args)
        assert shown.exit_code == 0, shown.output
        assert KEY not in shown.stdout and "SuperSecret" not in shown.stdout
        assert redact(KEY) in shown.stdout
    data = json.loads(glm("config", "show", "--json").stdout)
    assert data["api_key"] == redact(KEY) and data["api_key_from"] == "profile" and data["profile"] == "default"


def test_config_set_asks_for_the_key_without_echo() -> None:
    out = glm("config", "set", "api_key", input=KEY + "\n")
    assert out.exit_code == 0, out.output
    assert KEY not in out.output
    assert tomllib.loads(config_file().read_text())["profiles"]["default"]["api_key"] == KEY


def test_config_set_api_key_reads_a_piped_key_and_refuses_an_empty_one() -> None:
    empty = glm("config", "set", "api_key", input="\n")
    assert empty.exit_code == 2 and "No API key on stdin" in empty.stderr and "hint:" in empty.stderr
    assert not config_file().exists()
    piped = glm("config", "set", "api_key", input=f"  {KEY}\n")
    assert piped.exit_code == 0, piped.output
    assert tomllib.loads(config_file().read_text())["profiles"]["default"]["api_key"] == KEY


def test_config_values_are_typed_checked_and_backed_up() -> None:
    assert glm("config", "set", "model", "glm-4.7").exit_code == 0
    assert glm("config", "set", "timeout", "30").exit_code == 0
    assert glm("config", "set", "log", "off").exit_code == 0
    before = config_file().read_text()
    for args, needle in (
        (["plan", "gold"], "Unknown plan"),
        (["timeout", "soon"], "takes a number"),
        (["modle", "x"], "not a setting"),
        (["endpoint", "nowhere"], "Unknown endpoint"),
    ):
        out = glm("config", "set", *args)
        assert out.exit_code == 2 and needle in out.stderr, out.output
    assert config_file().read_text() == before  # a refused value never reaches the file
    prof = tomllib.loads(before)["profiles"]["default"]
    assert prof == {"model": "glm-4.7", "timeout": 30.0, "log": False}
    backup = config_file().with_name("config.toml.bak")
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600 and "timeout = 30.0" in backup.read_text()
    assert glm("config", "get", "model").stdout.strip() == "glm-4.7"
    assert glm("config", "unset", "model").exit_code == 0
    assert glm("config", "get", "model").exit_code == 1
    assert glm("config", "unset", "model").exit_code == 2


def test_zero_is_a_value_not_a_missing_one() -> None:
    assert glm("config", "set", "max_retries", "0").exit_code == 0
    assert json.loads(glm("config", "show", "--json").stdout)["max_retries"] == 0


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["model", "glm-image"], "not a chat model"),
        (["vision_model", "glm-5.3"], "reads text only"),
        (["api_key", "sk-not-a-zai-key"], "does not look like a Z.AI key"),
    ],
)
def test_a_value_glmkit_would_fail_with_later_is_refused_now(args: list[str], needle: str) -> None:
    out = glm("config", "set", *args)
    assert out.exit_code == 2 and needle in out.stderr and "hint:" in out.stderr, out.output
    assert not config_file().exists()
    forced = glm("config", "set", "--force", *args)  # the catalog may lag behind Z.AI: --force stores it anyway
    assert forced.exit_code == 0, forced.output
    assert tomllib.loads(config_file().read_text())["profiles"]["default"][args[0]] == args[1]


def test_profiles_and_use() -> None:
    assert glm("config", "set", "-P", "work", "endpoint", "coding").exit_code == 0
    listed = json.loads(glm("config", "profiles", "--json").stdout)
    assert listed == {"current": "default", "profiles": ["default", "work"]}
    assert glm("config", "use", "work").exit_code == 0
    assert json.loads(glm("config", "profiles", "--json").stdout)["current"] == "work"
    shown = json.loads(glm("config", "show", "--json").stdout)
    assert shown["profile"] == "work" and shown["chat_base_url"].endswith("/coding/paas/v4")
    missing = glm("config", "use", "nope")
    assert missing.exit_code == 2 and "glm config set --profile nope" in missing.stderr


def test_the_profile_model_is_what_ask_uses() -> None:
    glm("config", "set", "model", "glm-4.5-air")
    data = json.loads(glm("ask", "--offline", "--json", "hi").stdout)
    assert data["model"] == "glm-4.5-air"


# -- completion and start-up -----------------------------------------------------------------------------


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("glm")  # the installed console script: completion keys on its name
    return subprocess.run(
        [str(script), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )


@pytest.mark.e2e
@pytest.mark.skipif(not Path(sys.executable).with_name("glm").exists(), reason="needs the installed glm script")
def test_shell_completion_scripts_and_answers(tmp_path: Path) -> None:
    for shell in ("bash", "zsh", "fish"):
        script = _run(["--show-completion", shell])
        assert script.returncode == 0, script.stderr
        assert "_GLM_COMPLETE" in script.stdout or "complete_" in script.stdout
    words = _run([], _GLM_COMPLETE="complete_bash", COMP_WORDS="glm mo", COMP_CWORD="1")
    assert "models" in words.stdout.split()
    sub = _run([], _GLM_COMPLETE="complete_bash", COMP_WORDS="glm config us", COMP_CWORD="2")
    assert sub.stdout.split() == ["use"]
    models = _run([], _GLM_COMPLETE="complete_bash", COMP_WORDS="glm ask -m glm-5.3", COMP_CWORD="3")
    assert models.stdout.split() == [m.id for m in all_models() if m.id.startswith("glm-5.3")]
    keys = _run([], _GLM_COMPLETE="complete_bash", COMP_WORDS="glm config set max", COMP_CWORD="3")
    assert keys.stdout.split() == ["max_retries"]
    assert glm("config", "set", "-P", "work-eu", "plan", "coding").exit_code == 0
    profiles = _run([], _GLM_COMPLETE="complete_bash", COMP_WORDS="glm config use wo", COMP_CWORD="3")
    assert profiles.stdout.split() == ["work-eu"]
    installed = _run(["--install-completion", "bash"], HOME=str(tmp_path), SHELL="/bin/bash")
    assert installed.returncode == 0, installed.stderr
    assert "glm" in (tmp_path / ".bashrc").read_text()


@pytest.mark.e2e
def test_help_lists_the_commands_without_loading_the_sdk() -> None:
    probe = (
        "import sys, runpy; sys.argv = ['glm', '--help']\n"
        "try:\n    runpy.run_module('glmkit.cli.app', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "heavy = ('httpx', 'rich', 'pydantic', 'glmkit._client', 'prompt_toolkit', 'email.utils')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    for command in ("ask", "chat", "models", "tokens", "config", "logs"):
        assert command in out.stdout
    assert "HEAVY []" in out.stdout
