"""`glm setup` for the coding-agent CLIs: Cline's providers.json, Kilo's kilo.json(c), Factory Droid's customModels.

The files are the ones these CLIs read (tests/agents runs the real CLIs on them); here: what is merged,
what is kept, and that undo, dry-run and 0600 hold for them too.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from glmkit.cli.app import app
from glmkit.setup._files import get_value
from glmkit.testing import TEST_KEY

runner = CliRunner()
CODING = "https://api.z.ai/api/coding/paas/v4"
GATEWAY = "http://127.0.0.1:8742/v1"


def glm(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def listed(tool: str) -> dict[str, object]:
    rows = {r["id"]: r for r in json.loads(glm("setup", "--list", "--json").stdout)}
    return dict(rows[tool])


# ---- Cline ---------------------------------------------------------------------------------------------


def test_cline_keeps_other_providers_and_its_own_timestamps(home: Path) -> None:
    path = home / ".cline/data/settings/providers.json"
    path.parent.mkdir(parents=True)
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "lastUsedProvider": "anthropic",
                "modes": {"plan": "anthropic"},
                "providers": {
                    "anthropic": {"settings": {"provider": "anthropic", "model": "claude"}, "updatedAt": "A"},
                    "openai-compatible": {"settings": {"model": "old"}, "updatedAt": "B", "tokenSource": "oauth"},
                },
            },
            indent=2,
        )
    )
    out = glm("setup", "cline")
    assert out.exit_code == 0, out.output
    data = json.loads(path.read_text())
    assert data["modes"] == {"plan": "anthropic"}
    assert data["providers"]["anthropic"] == {
        "settings": {"provider": "anthropic", "model": "claude"},
        "updatedAt": "A",
    }
    ours = data["providers"]["openai-compatible"]
    assert ours["settings"]["baseUrl"] == CODING and ours["settings"]["model"] == "glm-5.3"
    assert (ours["updatedAt"], ours["tokenSource"]) == ("B", "oauth")  # defaults only fill what is missing
    assert data["lastUsedProvider"] == "openai-compatible"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert listed("cline")["state"] == "configured"
    assert "VS Code extension only" in out.output  # the extension still needs the printed steps


def test_cline_second_run_changes_nothing_and_gateway_needs_no_key(home: Path) -> None:
    assert glm("setup", "cline").exit_code == 0
    path = home / ".cline/data/settings/providers.json"
    first = path.read_text()
    assert "unchanged" in glm("setup", "cline").output
    assert path.read_text() == first  # updatedAt is not rewritten on every run
    assert glm("setup", "cline", "--via-gateway").exit_code == 0
    settings = json.loads(path.read_text())["providers"]["openai-compatible"]["settings"]
    assert settings["baseUrl"] == GATEWAY and settings["apiKey"] == "glmkit-gateway"
    row = listed("cline")
    assert (row["state"], row["target"]) == ("configured", "gateway")


def test_cline_has_no_project_file(home: Path) -> None:
    out = glm("setup", "cline", "--project")
    assert out.exit_code == 2 and "without --project" in out.output


# ---- Kilo Code -------------------------------------------------------------------------------------------


def test_kilo_writes_the_kilo_jsonc_it_finds(home: Path) -> None:
    jsonc = home / ".config/kilo/kilo.jsonc"
    jsonc.parent.mkdir(parents=True)
    jsonc.write_text('{\n  // mine\n  "theme": "kilo",\n}\n')
    out = glm("setup", "kilo", "--mcp")
    assert out.exit_code == 0, out.output
    assert not (home / ".config/kilo/kilo.json").exists()  # Kilo reads kilo.jsonc after kilo.json: write there
    text = jsonc.read_text()
    assert text.startswith('{\n  // mine\n  "theme": "kilo",')
    assert get_value(text, "jsonc", ("provider", "zai-coding-plan", "options", "baseURL")) == CODING
    assert get_value(text, "jsonc", ("mcp", "glmkit", "command"))[1:] == ["mcp"]
    assert stat.S_IMODE(jsonc.stat().st_mode) == 0o600


def test_kilo_project_file_reads_the_key_from_the_environment(home: Path) -> None:
    out = glm("setup", "kilo-code", "--project")
    assert out.exit_code == 0, out.output
    text = (Path.cwd() / "kilo.json").read_text()
    assert TEST_KEY not in text
    assert get_value(text, "jsonc", ("provider", "zai-coding-plan", "options", "apiKey")) == "{env:ZHIPU_API_KEY}"


# ---- Factory Droid -----------------------------------------------------------------------------------------


def droid_settings(home: Path) -> Path:
    return home / ".factory/settings.json"


def test_droid_merges_its_entry_into_custom_models(home: Path) -> None:
    path = droid_settings(home)
    path.parent.mkdir(parents=True)
    theirs = {"model": "gpt-x", "displayName": "Mine", "baseUrl": "http://x/v1", "apiKey": "k", "provider": "openai"}
    old = {"model": "glm-4.7", "displayName": "glm-4.7 (glmkit)", "baseUrl": "http://old", "maxOutputTokens": 9000}
    path.write_text(json.dumps({"customModels": [old, theirs], "sessionDefaultSettings": {"autonomyMode": "normal"}}))
    out = glm("setup", "droid")
    assert out.exit_code == 0, out.output
    data = json.loads(path.read_text())
    assert data["customModels"][1] == theirs
    ours = data["customModels"][0]  # replaced in place; a field the user added stays
    assert ours["model"] == "glm-5.3" and ours["baseUrl"] == CODING and ours["maxOutputTokens"] == 9000
    assert ours["displayName"] == "glm-5.3 (glmkit)" and ours["provider"] == "generic-chat-completion-api"
    assert data["sessionDefaultSettings"] == {"autonomyMode": "normal", "model": "custom:glm-5.3-(glmkit)-0"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert listed("droid")["state"] == "configured"
    assert glm("setup", "droid", "--undo").exit_code == 0
    assert json.loads(path.read_text())["customModels"] == [old, theirs]


def test_droid_other_model_and_gateway_keep_one_glmkit_entry(home: Path) -> None:
    assert glm("setup", "droid").exit_code == 0
    assert glm("setup", "droid", "--via-gateway", "-m", "glm-4.7").exit_code == 0
    data = json.loads(droid_settings(home).read_text())
    assert [m["displayName"] for m in data["customModels"]] == ["glm-4.7 (glmkit)"]
    assert data["customModels"][0]["baseUrl"] == GATEWAY and data["customModels"][0]["apiKey"] == "glmkit-gateway"
    assert data["sessionDefaultSettings"]["model"] == "custom:glm-4.7-(glmkit)-0"
    assert TEST_KEY not in droid_settings(home).read_text()


def test_droid_dry_run_and_mcp(home: Path) -> None:
    out = glm("setup", "droid", "--dry-run")
    assert out.exit_code == 0 and "customModels" in out.output and TEST_KEY not in out.output
    assert not droid_settings(home).exists()
    assert glm("setup", "factory-droid", "--mcp").exit_code == 0
    server = json.loads((home / ".factory/mcp.json").read_text())["mcpServers"]["glmkit"]
    assert server["type"] == "stdio" and server["args"] == ["mcp"]
    out = glm("setup", "droid", "--project")
    assert out.exit_code == 2 and "~/.factory/settings.json" in out.output


@pytest.mark.parametrize(("tool", "binary"), [("droid", "droid"), ("kilo-code", "kilo"), ("cline", "cline")])
def test_list_finds_the_cli_on_path(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tool: str, binary: str
) -> None:
    assert listed(tool)["installed"] is False
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    program = bin_dir / binary
    program.write_text("#!/bin/sh\n")
    os.chmod(program, 0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert listed(tool)["installed"] is True
