"""`glm setup TOOL` for every tool, in a temporary HOME: fresh files, merges, backup/undo, dry-run, corrupt files."""

from __future__ import annotations

import difflib
import json
import os
import stat
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from glmkit.cli.app import app
from glmkit.setup._files import get_value
from glmkit.testing import TEST_KEY

runner = CliRunner()
VSCODE = ".config/Code/User"

ANTHROPIC = "https://api.z.ai/api/anthropic"
CODING = "https://api.z.ai/api/coding/paas/v4"
RESPONSES = "https://api.z.ai/api/v1"

# tool -> (file below HOME, format, extra args, existing content with unrelated keys)
CASES = {
    "claude-code": (
        ".claude/settings.json",
        "json",
        [],
        '{\n  "model": "opus",\n  "permissions": {\n    "allow": ["Bash(ls:*)"]\n  }\n}\n',
    ),
    "opencode": (
        ".config/opencode/opencode.json",
        "jsonc",
        [],
        '{\n  // my theme\n  "$schema": "https://opencode.ai/config.json",\n  "theme": "tokyonight",\n}\n',
    ),
    "crush": (
        ".config/crush/crush.json",
        "json",
        [],
        '{\n    "options": {"debug": false},\n    "providers": {\n        "zai": {"models": [{"id": "glm-4.7"}]}\n    }\n}\n',
    ),
    "codex": (
        ".codex/config.toml",
        "toml",
        [],
        '# personal\napproval_policy = "on-request"\n\n[mcp_servers.docs]\ncommand = "docs-mcp"  # keep me\n',
    ),
    "goose": (
        ".config/goose/config.yaml",
        "yaml",
        [],
        "# goose\nGOOSE_MODE: smart_approve\nextensions:\n  developer:\n    enabled: true\n    type: builtin\n",
    ),
    "roo-code": (f"{VSCODE}/settings.json", "jsonc", [], '{\n  // editor\n  "editor.fontSize": 14,\n}\n'),
    "kilo-code": (".config/kilo/kilo.json", "jsonc", [], '{\n  // mine\n  "theme": "kilo",\n}\n'),
    "cursor": (".cursor/mcp.json", "json", ["--mcp"], '{"mcpServers": {"other": {"command": "x"}}}\n'),
    "cline": (
        ".cline/data/settings/providers.json",
        "json",
        [],
        '{\n  "version": 1,\n  "modes": {},\n  "providers": {\n    "anthropic": {"settings": '
        '{"provider": "anthropic", "model": "claude"}, "updatedAt": "2026-01-01T00:00:00.000Z"}\n  }\n}\n',
    ),
    "droid": (".factory/settings.json", "json", [], '{\n  "cloudSessionSync": false,\n  "diffMode": "github"\n}\n'),
}


def glm(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def backups(home: Path) -> list[Path]:
    root = Path(os.environ["GLMKIT_HOME"]) / "setup-backups"
    return sorted(root.rglob("manifest.json")) if root.exists() else []


def all_files(home: Path) -> dict[str, bytes]:
    return {str(p.relative_to(home)): p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file()}


def expected_endpoint(home: Path, tool: str) -> None:
    """The tool's main file points at the right Z.AI surface (errata 1-2)."""
    if tool == "claude-code":
        env = json.loads((home / ".claude/settings.json").read_text())["env"]
        assert env["ANTHROPIC_BASE_URL"] == ANTHROPIC
        assert env["ANTHROPIC_AUTH_TOKEN"] == TEST_KEY
        assert env["API_TIMEOUT_MS"] == "3000000"
        assert env["ANTHROPIC_DEFAULT_HAIKU_MODEL"] == "glm-5.3-flash"
    elif tool == "opencode":
        text = (home / CASES[tool][0]).read_text()
        assert get_value(text, "jsonc", ("provider", "zai-coding-plan", "options", "baseURL")) == CODING
        assert get_value(text, "jsonc", ("model",)) == "zai-coding-plan/glm-5.3"
    elif tool == "crush":
        zai = json.loads((home / CASES[tool][0]).read_text())["providers"]["zai"]
        assert zai["base_url"] == CODING and zai["api_key"] == TEST_KEY
    elif tool == "codex":
        data = tomllib.loads((home / CASES[tool][0]).read_text())
        assert data["model_provider"] == "zai"
        assert data["model_providers"]["zai"]["base_url"] == RESPONSES
        assert data["model_providers"]["zai"]["wire_api"] == "responses"
        catalog = json.loads(Path(data["model_catalog_json"]).read_text())["models"][
            0
        ]  # Codex needs it for apply_patch
        assert catalog["slug"] == data["model"] and catalog["apply_patch_tool_type"] == "freeform"
    elif tool == "goose":
        text = (home / CASES[tool][0]).read_text()
        assert get_value(text, "yaml", ("ANTHROPIC_HOST",)) == ANTHROPIC
        assert get_value(text, "yaml", ("GOOSE_PROVIDER",)) == "anthropic"
    elif tool == "kilo-code":
        text = (home / CASES[tool][0]).read_text()
        assert get_value(text, "jsonc", ("provider", "zai-coding-plan", "options", "baseURL")) == CODING
        assert get_value(text, "jsonc", ("provider", "zai-coding-plan", "options", "apiKey")) == TEST_KEY
        assert get_value(text, "jsonc", ("model",)) == "zai-coding-plan/glm-5.3"
    elif tool == "cline":
        data = json.loads((home / CASES[tool][0]).read_text())
        assert data["version"] == 1 and data["lastUsedProvider"] == "openai-compatible"
        provider = data["providers"]["openai-compatible"]
        assert provider["settings"] == {
            "provider": "openai-compatible",
            "apiKey": TEST_KEY,
            "model": "glm-5.3",
            "baseUrl": CODING,
        }
        assert provider["updatedAt"].endswith("Z") and provider["tokenSource"] == "manual"  # Cline needs both
    elif tool == "droid":
        data = json.loads((home / CASES[tool][0]).read_text())
        ours = [m for m in data["customModels"] if m["displayName"] == "glm-5.3 (glmkit)"]
        assert ours == [
            {
                "model": "glm-5.3",
                "displayName": "glm-5.3 (glmkit)",
                "baseUrl": CODING,
                "apiKey": TEST_KEY,
                "provider": "generic-chat-completion-api",
            }
        ]
        assert data["sessionDefaultSettings"]["model"] == "custom:glm-5.3-(glmkit)-0"
    elif tool == "roo-code":
        imported = Path(os.environ["GLMKIT_HOME"]) / "tools" / f"{tool}-settings.json"
        profile = json.loads(imported.read_text())["providerProfiles"]["apiConfigs"]["glmkit"]
        assert profile["openAiBaseUrl"] == CODING and profile["openAiApiKey"] == TEST_KEY
        assert stat.S_IMODE(imported.stat().st_mode) == 0o600
        text = (home / CASES[tool][0]).read_text()
        assert get_value(text, "jsonc", ("roo-cline.autoImportSettingsPath",)) == str(imported)
    else:  # cursor: MCP only
        entry = json.loads((home / CASES[tool][0]).read_text())["mcpServers"]["glmkit"]
        assert entry["args"] == ["mcp"] and entry["command"].endswith("glm")


@pytest.mark.parametrize("tool", list(CASES))
def test_fresh_files_are_created(home: Path, tool: str) -> None:
    out = glm("setup", tool, *CASES[tool][2])
    assert out.exit_code == 0, out.output
    assert (home / CASES[tool][0]).exists()
    expected_endpoint(home, tool)
    assert TEST_KEY not in out.output


@pytest.mark.parametrize("tool", list(CASES))
def test_merge_keeps_unrelated_keys_byte_for_byte(home: Path, tool: str) -> None:
    path, fmt, extra, existing = CASES[tool]
    (home / path).parent.mkdir(parents=True, exist_ok=True)
    (home / path).write_text(existing)
    out = glm("setup", tool, *extra)
    assert out.exit_code == 0, out.output
    after = (home / path).read_text()
    ops = difflib.SequenceMatcher(None, existing, after, autojunk=False).get_opcodes()
    assert all(tag in ("equal", "insert") for tag, *_ in ops), after  # nothing of the original was touched
    expected_endpoint(home, tool)


@pytest.mark.parametrize("tool", list(CASES))
def test_backup_and_undo_round_trip(home: Path, tool: str) -> None:
    path, _, extra, existing = CASES[tool]
    (home / path).parent.mkdir(parents=True, exist_ok=True)
    (home / path).write_text(existing)
    before = all_files(home)
    assert glm("setup", tool, *extra).exit_code == 0
    assert len(backups(home)) == 1
    assert all_files(home) != before
    out = glm("setup", tool, "--undo")
    assert out.exit_code == 0, out.output
    assert "restored" in out.output
    assert all_files(home) == before  # files glmkit created are gone, the edited one is back
    assert backups(home) == []
    again = glm("setup", tool, "--undo")
    assert again.exit_code == 2 and "No glmkit backup" in again.output


@pytest.mark.parametrize("tool", list(CASES))
def test_dry_run_changes_nothing(home: Path, tool: str) -> None:
    path, _, extra, existing = CASES[tool]
    (home / path).parent.mkdir(parents=True, exist_ok=True)
    (home / path).write_text(existing)
    before = all_files(home)
    out = glm("setup", tool, "--dry-run", *extra)
    assert out.exit_code == 0, out.output
    assert f"+++ {home / path}" in out.output and "\n+" in out.output
    assert TEST_KEY not in out.output  # the diff shows the key redacted
    assert all_files(home) == before
    assert backups(home) == []


@pytest.mark.parametrize("tool", list(CASES))
def test_corrupt_file_is_left_untouched(home: Path, tool: str) -> None:
    path, fmt, extra, _ = CASES[tool]
    broken = {"json": '{"a": 1,,}', "jsonc": '{"a": [1, 2}', "toml": "model = [unclosed\n", "yaml": "a: 1\nnot yaml\n"}[
        fmt
    ]
    (home / path).parent.mkdir(parents=True, exist_ok=True)
    (home / path).write_text(broken)
    before = all_files(home)
    out = glm("setup", tool, *extra)
    assert out.exit_code == 2
    assert str(home / path) in out.output and "nothing was changed" in out.output
    assert all_files(home) == before
    assert backups(home) == []


def test_key_file_gets_mode_0600_and_second_run_changes_nothing(home: Path) -> None:
    settings = home / ".claude/settings.json"
    settings.parent.mkdir()
    settings.write_text("{}\n")
    os.chmod(settings, 0o644)
    assert glm("setup", "claude-code").exit_code == 0
    assert stat.S_IMODE(settings.stat().st_mode) == 0o600
    out = glm("setup", "claude-code")
    assert "unchanged" in out.output
    assert len(backups(home)) == 1  # nothing written, nothing backed up


def test_mcp_registration_for_claude_code_keeps_claude_json(home: Path) -> None:
    claude_json = home / ".claude.json"
    claude_json.write_text('{"numStartups": 42, "projects": {"/x": {"allowedTools": []}}}')
    out = glm("setup", "claude-code", "--mcp")
    assert out.exit_code == 0, out.output
    data = json.loads(claude_json.read_text())
    assert data["numStartups"] == 42 and data["projects"] == {"/x": {"allowedTools": []}}
    server = data["mcpServers"]["glmkit"]
    assert server["type"] == "stdio" and server["args"] == ["mcp"] and Path(server["command"]).name == "glm"
    assert TEST_KEY not in claude_json.read_text()  # `glm mcp` reads the key itself
    listed = json.loads(glm("setup", "--list", "--json").stdout)
    assert next(r for r in listed if r["id"] == "claude-code")["mcp"] is True


def test_project_level_files(home: Path) -> None:
    cwd = Path.cwd()
    assert glm("setup", "claude-code", "--project").exit_code == 0
    local = json.loads((cwd / ".claude/settings.local.json").read_text())
    assert local["env"]["ANTHROPIC_BASE_URL"] == ANTHROPIC
    assert not (home / ".claude/settings.json").exists()
    assert glm("setup", "opencode", "--project").exit_code == 0
    text = (cwd / "opencode.json").read_text()
    assert TEST_KEY not in text  # a project file may be committed: the key comes from the environment
    assert get_value(text, "jsonc", ("provider", "zai-coding-plan", "options", "apiKey")) == "{env:ZHIPU_API_KEY}"
    out = glm("setup", "codex", "--project")
    assert out.exit_code == 2 and "without --project" in out.output
    assert glm("setup", "codex", "--project", "--mcp").exit_code == 0
    assert tomllib.loads((cwd / ".codex/config.toml").read_text())["mcp_servers"]["glmkit"]["args"] == ["mcp"]


def test_via_gateway_points_at_glm_serve_without_the_key(home: Path) -> None:
    out = glm("setup", "claude-code", "--via-gateway")
    assert out.exit_code == 0, out.output
    env = json.loads((home / ".claude/settings.json").read_text())["env"]
    assert env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:8742"
    assert TEST_KEY not in (home / ".claude/settings.json").read_text()
    glm("setup", "codex", "--via-gateway", "--gateway-url", "http://127.0.0.1:9999")
    data = tomllib.loads((home / ".codex/config.toml").read_text())
    assert data["model_providers"]["zai"]["base_url"] == "http://127.0.0.1:9999/v1"
    listed = {r["id"]: r for r in json.loads(glm("setup", "--list", "--json").stdout)}
    assert listed["claude-code"]["state"] == "configured" and listed["claude-code"]["target"] == "gateway"


def test_bad_or_missing_key_writes_nothing(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZAI_API_KEY", "not a key")
    out = glm("setup", "claude-code")
    assert out.exit_code == 2 and "does not look right" in out.output
    monkeypatch.delenv("ZAI_API_KEY")
    out = glm("setup", "claude-code")
    assert out.exit_code == 2 and "No API key" in out.output
    assert all_files(home) == {}


def test_unknown_tool_and_undo_of_a_changed_file(home: Path) -> None:
    out = glm("setup", "vim")
    assert out.exit_code == 2 and "claude-code" in out.output
    assert glm("setup", "crush").exit_code == 0
    crush = home / ".config/crush/crush.json"
    crush.write_text(crush.read_text().replace("ZAI Provider", "edited by hand"))
    out = glm("setup", "crush", "--undo")
    assert out.exit_code == 2 and "changed after glmkit wrote it" in out.output
    assert "edited by hand" in crush.read_text()
    assert glm("setup", "crush", "--undo", "--force").exit_code == 0
    assert not crush.exists()


def test_list_shows_installed_and_configured(home: Path) -> None:
    (home / ".codex").mkdir()
    glm("setup", "claude-code")
    rows = {r["id"]: r for r in json.loads(glm("setup", "--list", "--json").stdout)}
    assert set(rows) == set(CASES)
    assert rows["claude-code"]["state"] == "configured" and rows["claude-code"]["target"] == "z.ai"
    assert rows["codex"]["installed"] is True and rows["codex"]["state"] == "not-configured"
    assert rows["cursor"]["state"] == "manual"
    text = glm("setup", "--list").output
    assert "claude-code" in text and "yes (z.ai)" in text


def test_goose_key_goes_to_secrets_yaml_only_when_goose_uses_it(home: Path) -> None:
    out = glm("setup", "goose")
    assert out.exit_code == 0 and "goose configure" in out.output
    assert TEST_KEY not in (home / ".config/goose/config.yaml").read_text()  # Goose ignores keys there
    secrets = home / ".config/goose/secrets.yaml"
    secrets.write_text("OPENAI_API_KEY: sk-other\n")
    assert glm("setup", "goose").exit_code == 0
    assert secrets.read_text() == f"OPENAI_API_KEY: sk-other\nANTHROPIC_API_KEY: {TEST_KEY}\n"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600


def test_claude_code_warns_about_a_competing_anthropic_key(home: Path) -> None:
    settings = home / ".claude/settings.json"
    settings.parent.mkdir()
    settings.write_text('{"env": {"ANTHROPIC_API_KEY": "sk-ant-something"}}')
    out = glm("setup", "claude-code")
    assert out.exit_code == 0 and "remove it so only ANTHROPIC_AUTH_TOKEN" in out.output
    assert json.loads(settings.read_text())["env"]["ANTHROPIC_API_KEY"] == "sk-ant-something"  # left to the user


def test_a_symlinked_dotfile_stays_a_symlink(home: Path, tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "claude-settings.json"
    real.parent.mkdir()
    real.write_text('{"model": "opus"}\n')
    link = home / ".claude/settings.json"
    link.parent.mkdir()
    link.symlink_to(real)
    assert glm("setup", "claude-code").exit_code == 0
    assert link.is_symlink() and json.loads(real.read_text())["env"]["ANTHROPIC_AUTH_TOKEN"] == TEST_KEY
    assert glm("setup", "claude-code", "--undo").exit_code == 0
    assert link.is_symlink() and real.read_text() == '{"model": "opus"}\n'


@pytest.mark.parametrize("command", [["setup", "claude-code"], ["env", "claude-code"]])
def test_a_model_of_another_kind_is_refused_before_anything_is_written(command: list[str], home: Path) -> None:
    out = runner.invoke(app, [*command, "-m", "glm-image"])
    assert out.exit_code == 2, out.output
    assert "glm-image is not a chat model" in out.stderr and "hint:" in out.stderr
    assert not (home / ".claude/settings.json").exists() and "export" not in out.stdout


@pytest.mark.parametrize("flag", ["--undo", "--dry-run", "--mcp", "--project"])
def test_an_action_without_a_tool_is_a_usage_error_not_the_list(flag: str) -> None:
    out = runner.invoke(app, ["setup", flag])
    assert out.exit_code == 2, out.output
    assert f"{flag} needs a tool" in out.stderr and "glm setup --list" in out.stderr
    assert "claude-code" not in out.stdout
