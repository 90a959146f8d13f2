"""The files `glm setup` writes really work: the official clients, configured from them, reach the emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from glmkit.cli.app import app
from glmkit.testing import TEST_KEY, EmulatorServer

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.filterwarnings("ignore:glmkit. chat is going to the GLM Coding Plan endpoint"),
]
runner = CliRunner()


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(keys=frozenset({TEST_KEY}), job_seconds=0.0) as s:
        yield s


def test_claude_code_settings_drive_the_anthropic_client(
    home: Path, server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    anthropic = pytest.importorskip("anthropic")
    monkeypatch.setenv("ZAI_BASE_URL", server.base_url)
    assert runner.invoke(app, ["setup", "claude-code"]).exit_code == 0
    env = json.loads((home / ".claude/settings.json").read_text())["env"]
    assert env["ANTHROPIC_BASE_URL"] == f"{server.url}/api/anthropic"
    client = anthropic.Anthropic(
        base_url=env["ANTHROPIC_BASE_URL"], auth_token=env["ANTHROPIC_AUTH_TOKEN"], api_key=None
    )
    reply = client.messages.create(
        model=env["ANTHROPIC_DEFAULT_SONNET_MODEL"], max_tokens=64, messages=[{"role": "user", "content": "ping"}]
    )
    assert reply.content and reply.usage.output_tokens > 0


def test_crush_provider_drives_the_openai_client(
    home: Path, server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    openai = pytest.importorskip("openai")
    monkeypatch.setenv("ZAI_BASE_URL", server.base_url)
    assert runner.invoke(app, ["setup", "crush"]).exit_code == 0
    zai = json.loads((home / ".config/crush/crush.json").read_text())["providers"]["zai"]
    assert zai["base_url"] == server.coding_base_url
    client = openai.OpenAI(base_url=zai["base_url"], api_key=zai["api_key"])
    reply = client.chat.completions.create(model="glm-5.3", messages=[{"role": "user", "content": "ping"}])
    assert reply.choices[0].message.content
