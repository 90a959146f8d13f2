"""What the scenarios of the agents `glm setup` configures share: the two routes, `glm setup` itself, a run.

A scenario is: ``glm setup <tool>`` in the sandbox's HOME, pointed at the emulator (``direct``: the tool gets
the emulator's coding surface, as it would get Z.AI's) or at ``glm serve`` (``gateway``: ``--via-gateway``),
each behind a recording proxy; then one headless run of the agent in the scratch folder.

The tool loop reads ``in.txt`` and writes ``out.md`` with what the read returned; the emulator is told the
exact calls by ``[emulator:round=...]`` markers (each agent names its tools and their arguments its own way),
so the file on disk proves the whole loop: the call, the agent's own tool, the result sent back, the next call.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent_corpus import save as save_bodies
from agent_harness import Agent, Gateway, Recorder, Sandbox, clean_env

from glmkit.testing import TEST_KEY

ROUTES = ["direct", "gateway"]
SENTINEL = "glmkit-sentinel-7f3a"
PLAIN = "Say hello [emulator:no-tools]"


@dataclass
class Target:
    """Where the agent was pointed: the recording proxy in front of the emulator or of ``glm serve``."""

    route: str
    rec: Recorder
    chat_path: str  # the path the agent's chat requests arrive at

    def bodies(self) -> list[dict[str, Any]]:
        return self.rec.bodies(self.chat_path)


def point(
    route: str,
    emulator: Callable[..., str],
    gateway: Callable[..., Gateway],
    recorder: Callable[[str], Recorder],
) -> Target:
    """A fresh emulator (and, for ``gateway``, a ``glm serve`` in front of it), behind a recording proxy."""
    upstream = emulator()
    if route == "direct":
        return Target(route, recorder(upstream), "/api/coding/paas/v4/chat/completions")
    return Target(route, recorder(gateway(upstream, "translate").url), "/v1/chat/completions")


def glm_setup(tool: str, sandbox: Sandbox, target: Target, *args: str) -> dict[str, Any]:
    """``glm setup TOOL --json`` in the sandbox's HOME, pointed at ``target``; its JSON result."""
    env = clean_env(HOME=str(sandbox.home), GLMKIT_HOME=str(sandbox.home / ".glmkit"), ZAI_API_KEY=TEST_KEY)
    if target.route == "direct":
        env["ZAI_BASE_URL"] = f"{target.rec.url}/api/paas/v4"  # setup derives the coding surface from it
        route_args: list[str] = []
    else:
        route_args = ["--via-gateway", "--gateway-url", target.rec.url]
    command = [sys.executable, "-m", "glmkit.cli.app", "setup", tool, "--json", *route_args, *args]
    out = subprocess.run(command, env=env, cwd=sandbox.cwd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout))


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    def lines(self) -> list[dict[str, Any]]:
        """The JSON lines of stdout (agents' --json/--format json event streams)."""
        found = []
        for line in self.stdout.splitlines():
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                found.append(value)
        return found

    def check(self) -> None:
        assert self.returncode == 0, f"exit {self.returncode}\n{self.stdout[-3000:]}\n{self.stderr[-3000:]}"


def run_agent(agent: Agent, sandbox: Sandbox, args: list[str], timeout: float = 150, **env: str) -> Run:
    """The agent, headless, in the scratch folder: no stdin, the sandbox's environment plus ``env``."""
    out = subprocess.run(
        [str(agent.bin), *args],
        cwd=sandbox.cwd,
        env=sandbox.env(agent, **env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Run(out.returncode, out.stdout, out.stderr)


def loop_files(sandbox: Sandbox) -> tuple[Path, Path]:
    """``in.txt`` (holding the sentinel) and the ``out.md`` the loop must write, in the scratch folder."""
    source = sandbox.cwd / "in.txt"
    source.write_text(f"The sentinel is {SENTINEL}.\n")
    return source, sandbox.cwd / "out.md"


def loop_prompt(read: str, read_args: dict[str, Any], write: str, write_args: dict[str, Any]) -> str:
    """Copy in.txt to out.md: two scripted rounds (read, then write ``$RESULT``), then a text answer."""
    first = json.dumps(read_args, separators=(",", ":"))
    second = json.dumps(write_args, separators=(",", ":"))
    return f"Copy in.txt into out.md [emulator:round={read} {first}][emulator:round={write} {second}]"


def check_loop(target: Target, source: Path, written: Path, read: str, write: str) -> None:
    """out.md holds what the read returned; the agent sent both tool results back, in order."""
    assert written.exists(), "the agent did not write out.md"
    assert SENTINEL in written.read_text()
    last = max(target.bodies(), key=lambda b: len(b.get("messages") or []))  # not a side request (titles)
    called = [
        c["function"]["name"]
        for m in last["messages"]
        if m.get("role") == "assistant"
        for c in m.get("tool_calls") or []
    ]
    assert called[-2:] == [read, write], called
    results = [m for m in last["messages"] if m.get("role") == "tool"]
    assert len(results) >= 2 and SENTINEL in json.dumps(results[-2])  # the file's text went back to the model


def record(agent: str, scenario: str, target: Target, sandbox: Sandbox) -> None:
    """Keep the run's chat requests for the corpus (when ``GLMKIT_AGENTS_RECORD=1``)."""
    chat = [r for r in target.rec.requests if r["path"] == target.chat_path]
    save_bodies(agent, scenario, target.route, chat, sandbox.home, sandbox.cwd)
