"""The real Claude Code (pinned in tests/agents/pins.toml) through ``glm serve``, in translate and passthrough mode.

Each scenario runs ``claude -p ... --output-format stream-json --verbose`` in a scratch folder with a private
HOME, and asserts on what Claude Code itself reports (its result event, the files it wrote, its cache).
The emulator's answers are steered by markers in the prompt (docs/emulator.md): ``[emulator:no-tools]``
for a plain answer, ``[emulator:round=Tool {json}]`` for the exact tool calls of each round.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import Agent, Gateway, Recorder, Sandbox
from corpus import save_bodies

pytestmark = [pytest.mark.agents, pytest.mark.timeout(300)]

MODES = ["translate", "passthrough"]


@dataclass
class Run:
    """One ``claude -p`` run: its exit code, its stream-json events and its stderr."""

    returncode: int
    events: list[dict[str, Any]]
    stderr: str

    @property
    def result(self) -> dict[str, Any]:
        found = [e for e in self.events if e.get("type") == "result"]
        assert found, f"no result event (exit {self.returncode}): {self.stderr[-2000:]}"
        return found[-1]

    @property
    def text(self) -> str:
        return str(self.result.get("result", ""))

    def tool_uses(self) -> list[dict[str, Any]]:
        return [
            b
            for e in self.events
            if e.get("type") == "assistant"
            for b in e["message"].get("content") or []
            if b.get("type") == "tool_use"
        ]

    def ok(self) -> dict[str, Any]:
        """The result event, asserting that Claude Code reports success."""
        result = self.result
        assert self.returncode == 0 and not result.get("is_error"), json.dumps(result)[:3000]
        return result


def record(scenario: str, served: Gateway, rec: Recorder, sandbox: Sandbox) -> None:
    """Keep the run's requests for the corpus (when ``GLMKIT_AGENTS_RECORD=1``)."""
    save_bodies("claude-code", scenario, served.mode, rec.requests, sandbox.home, sandbox.cwd)


def claude(agent: Agent, sandbox: Sandbox, base_url: str, prompt: str, *args: str, **env: str) -> Run:
    """Run ``claude -p PROMPT ARGS`` against ``base_url`` in the sandbox (no stdin, no telemetry, no updater)."""
    environ = sandbox.env(
        agent,
        ANTHROPIC_BASE_URL=base_url,
        ANTHROPIC_AUTH_TOKEN="glmkit-test",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        DISABLE_AUTOUPDATER="1",
        DISABLE_TELEMETRY="1",
        **env,
    )
    command = [str(agent.bin), "-p", prompt, "--output-format", "stream-json", "--verbose", *args]
    out = subprocess.run(
        command, cwd=sandbox.cwd, env=environ, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=240
    )
    events = []
    for line in out.stdout.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return Run(out.returncode, events, out.stderr)


@pytest.fixture
def cc(agent_bin: Callable[[str], Agent]) -> Agent:
    return agent_bin("claude")


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def served(mode: str, emulator: Callable[..., str], gateway: Callable[..., Gateway]) -> Gateway:
    """``glm serve`` in this mode, in front of a fresh ``glm emulate``."""
    return gateway(emulator(), mode)


def test_plain_prompt(cc: Agent, served: Gateway, sandbox: Sandbox, recorder: Callable[[str], Recorder]) -> None:
    """A plain prompt: Claude Code's first request (with its ``role: system`` message) is answered by GLM."""
    rec = recorder(served.url)
    run = claude(cc, sandbox, rec.url, "Say hello [emulator:no-tools]")
    result = run.ok()
    assert "on the glmkit emulator" in run.text and "glm-5.3" in run.text  # the GLM model answered
    assert result["num_turns"] == 1
    first = rec.bodies()[0]
    assert any(m["role"] == "system" for m in first["messages"])  # what the gateway refused before
    record("plain", served, rec, sandbox)
