"""The real Codex (pinned in tests/agents/pins.toml) on GLM: configured by ``glm setup codex`` and started by
``glm run codex -- exec ...``, directly against the emulator's Responses endpoint and through ``glm serve`` in
translate and passthrough mode.

Each scenario runs ``codex exec --json`` in a scratch folder with a private HOME and asserts on what Codex
itself reports (its JSONL events) and on the files it wrote. The emulator is steered by prompt markers
(docs/emulator.md): ``[emulator:no-tools]`` for a plain answer, ``[emulator:round=Tool {json}]`` for the exact
tool call of a round (Codex's shell tool is ``exec_command``; its patch tool is the free-form ``apply_patch``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from agent_harness import Agent, Gateway, Recorder, Sandbox, clean_env

from glmkit.testing import TEST_KEY

pytestmark = [pytest.mark.agents, pytest.mark.timeout(300)]

TARGETS = ["direct", "translate", "passthrough"]
GLM = [sys.executable, "-m", "glmkit.cli.app"]


@dataclass
class Run:
    """One ``codex exec --json`` run: its exit code, its JSONL events and its stderr."""

    returncode: int
    events: list[dict[str, Any]]
    stderr: str

    def items(self, kind: str) -> list[dict[str, Any]]:
        return [e["item"] for e in self.events if e.get("type") == "item.completed" and e["item"]["type"] == kind]

    @property
    def text(self) -> str:
        messages = self.items("agent_message")
        assert messages, f"no agent message (exit {self.returncode}): {self.stderr[-3000:]}"
        return str(messages[-1]["text"])

    def ok(self) -> None:
        done = [e for e in self.events if e.get("type") == "turn.completed"]
        assert self.returncode == 0 and done, f"exit {self.returncode}: {self.stderr[-3000:]}"


@dataclass
class Target:
    """Where Codex is pointed: the base URL its requests go to (through a recorder) and how ``glm`` is told."""

    name: str
    url: str
    glm_args: list[str]
    glm_env: dict[str, str]


def glm_env(sandbox: Sandbox, agent: Agent, target: Target) -> dict[str, str]:
    codex_dir = str(agent.bin.parent)
    env = clean_env(
        HOME=str(sandbox.home),
        GLMKIT_HOME=str(sandbox.home / ".glmkit"),
        PATH=f"{codex_dir}:{agent.path}",
        CI="true",
        TERM="dumb",
        NO_COLOR="1",
        **target.glm_env,
    )
    return env


def setup_codex(sandbox: Sandbox, agent: Agent, target: Target) -> dict[str, Any]:
    """``glm setup codex`` (with ``--via-gateway`` for the gateway); the config Codex will read."""
    import tomllib

    out = subprocess.run(
        [*GLM, "setup", "codex", *target.glm_args],
        env=glm_env(sandbox, agent, target),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return tomllib.loads((sandbox.home / ".codex" / "config.toml").read_text())


def codex(sandbox: Sandbox, agent: Agent, target: Target, prompt: str, *args: str) -> Run:
    """``glm run codex -- exec --json ... PROMPT`` in the sandbox (no stdin)."""
    command = [*GLM, "run", "codex", *target.glm_args, "--", "exec", "--json", "--skip-git-repo-check", *args, prompt]
    out = subprocess.run(
        command,
        cwd=sandbox.cwd,
        env=glm_env(sandbox, agent, target),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=240,
    )
    events = []
    for line in out.stdout.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return Run(out.returncode, events, out.stderr)


@pytest.fixture
def cx(agent_bin: Callable[[str], Agent]) -> Agent:
    return agent_bin("codex")


@pytest.fixture(params=TARGETS)
def target(
    request: pytest.FixtureRequest,
    emulator: Callable[..., str],
    gateway: Callable[..., Gateway],
    recorder: Callable[[str], Recorder],
) -> tuple[Target, Recorder]:
    """Codex's upstream: the emulator's Responses endpoint as ``glm setup codex`` configures it, or ``glm serve``
    (translate, passthrough) in front of a fresh emulator; a recording proxy in between."""
    emu = emulator()
    if request.param == "direct":
        rec = recorder(emu)
        env = {"ZAI_API_KEY": TEST_KEY, "ZAI_BASE_URL": f"{rec.url}/api/coding/paas/v4"}
        return Target("direct", rec.url, [], env), rec
    served = gateway(emu, request.param)
    rec = recorder(served.url)
    return Target(request.param, rec.url, ["--via-gateway", "--gateway-url", rec.url], {}), rec


def test_setup_points_codex_at_the_responses_endpoint(
    cx: Agent, target: tuple[Target, Recorder], sandbox: Sandbox
) -> None:
    where, _ = target
    config = setup_codex(sandbox, cx, where)
    provider = config["model_providers"][config["model_provider"]]
    expected = f"{where.url}/api/v1" if where.name == "direct" else f"{where.url}/v1"
    assert provider["base_url"] == expected and provider["wire_api"] == "responses"


def test_plain_prompt(cx: Agent, target: tuple[Target, Recorder], sandbox: Sandbox) -> None:
    where, rec = target
    setup_codex(sandbox, cx, where)
    run = codex(sandbox, cx, where, "Say hello [emulator:no-tools]")
    run.ok()
    assert "on the glmkit emulator" in run.text and "glm-5.3" in run.text
    first = rec.bodies("/api/v1/responses" if where.name == "direct" else "/v1/responses")[0]
    assert first["stream"] is True and first["model"] == "glm-5.3"
    assert {"type": "custom", "name": "apply_patch"}.items() <= next(
        t for t in first["tools"] if t.get("name") == "apply_patch"
    ).items()  # the catalog glm setup wrote made Codex offer its patch tool


def test_shell_round_trip_uses_the_output(cx: Agent, target: tuple[Target, Recorder], sandbox: Sandbox) -> None:
    where, _ = target
    setup_codex(sandbox, cx, where)
    run = codex(sandbox, cx, where, 'Compute it [emulator:round=exec_command {"cmd": "echo marker-$((6*7))"}]')
    run.ok()
    (command,) = run.items("command_execution")
    assert command["exit_code"] == 0 and "marker-42" in command["aggregated_output"]
    assert "marker-42" in run.text  # only the shell could compute it: the answer used the tool's output


def test_patch_edits_a_file(cx: Agent, target: tuple[Target, Recorder], sandbox: Sandbox) -> None:
    where, _ = target
    setup_codex(sandbox, cx, where)
    (sandbox.cwd / "notes.txt").write_text("first line\nold line\n")
    patch = "*** Begin Patch\\n*** Update File: notes.txt\\n@@\\n first line\\n-old line\\n+new line\\n*** End Patch\\n"
    run = codex(
        sandbox, cx, where, f'Fix the note [emulator:round=apply_patch {{"input": "{patch}"}}]', "-s", "workspace-write"
    )
    run.ok()
    (change,) = run.items("file_change")
    assert change["status"] == "completed" and change["changes"][0]["kind"] == "update"
    assert (sandbox.cwd / "notes.txt").read_text() == "first line\nnew line\n"
