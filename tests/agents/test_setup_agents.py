"""The agents ``glm setup`` configures (OpenCode, Cline, Kilo Code, Factory Droid), each on both routes.

Every agent runs the same two scenarios (``setup_agents.py``): a plain prompt, and a tool loop in which its own
read tool reads ``in.txt`` and its own write tool writes ``out.md``. What differs is written once per agent in
``AGENTS``: the command line, the names and arguments of its tools, how it reports its answer, its quiet
environment.

- **OpenCode** (``opencode run``) reads ``~/.config/opencode/opencode.json``; glmkit sets the base URL of its
  built-in ``zai-coding-plan`` provider (models.dev). Tools: ``read {filePath}``, ``write {filePath, content}``.
- **Kilo Code** (``kilo run``, an OpenCode fork) reads ``~/.config/kilo/kilo.json``; glmkit sets the base URL of
  its ``zai-coding-plan`` provider as for OpenCode. Same tools as OpenCode.
- **Cline** (``cline --json``) reads ``~/.cline/data/settings/providers.json``; glmkit writes its
  OpenAI-compatible provider (Cline's own ``zai`` provider takes no base URL). Tools: ``read_files {files:
  [{path}]}``, ``editor {path, new_text}``.
- **Factory Droid** (``droid exec``) reads BYOK models from ``customModels`` in ``~/.factory/settings.json``;
  glmkit adds its entry (``generic-chat-completion-api``) and makes it the session default, so ``droid exec``
  needs no ``-m`` and no Factory login. Tools: ``Read {file_path}``, and with ``--auto low`` ``Create
  {file_path, content}``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from agent_harness import Agent, Gateway, Recorder, Sandbox
from setup_agents import (
    PLAIN,
    ROUTES,
    Target,
    check_loop,
    glm_setup,
    loop_files,
    loop_prompt,
    point,
    record,
    run_agent,
)

pytestmark = [pytest.mark.agents, pytest.mark.timeout(300)]

Lines = list[dict[str, Any]]
Tool = Callable[[Path], tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class SetupAgent:
    """One agent as the scenarios drive it."""

    command: str  # the installed command, and the corpus folder
    setup: str  # ``glm setup``'s name for it
    args: list[str]  # before the prompt
    read: Tool  # the read tool's name and arguments for a path
    write: Tool  # the write tool's name and arguments for a path (content ``$RESULT``)
    answer: Callable[[Lines], str]  # the final text, checking the agent reports success
    loop_done: Callable[[Lines], object]  # checks the agent's own report of the tool loop
    loop_args: list[str] | None = None  # before the loop's prompt, when they differ from ``args``
    sends: Callable[[Lines, Target], None] = lambda lines, target: None  # checks on what it sent
    env: dict[str, str] = field(default_factory=dict)


def last_of(kind: str, lines: Lines) -> dict[str, Any]:
    found = [e for e in lines if e.get("type") == kind]
    assert found, lines[-5:]
    return found[-1]


def cline_result(lines: Lines) -> dict[str, Any]:
    result = last_of("run_result", lines)
    assert result["finishReason"] == "completed", result
    return result


def cline_answer(lines: Lines) -> str:
    result = cline_result(lines)
    model = result["model"]
    assert model == {"id": "glm-5.3", "provider": "openai-compatible"} or "glm-5.3" in str(model)
    return str(result["text"])


def droid_answer(lines: Lines) -> str:
    result = last_of("result", lines)
    assert result["is_error"] is False, result
    return str(result["result"])


def part_texts(lines: Lines) -> str:
    texts = [e["part"]["text"] for e in lines if e.get("type") == "text"]
    assert texts, lines[-5:]
    return str(texts[-1])


def read_then_write(*, completed: bool) -> Callable[[Lines], None]:
    def check(lines: Lines) -> None:
        tools = [e["part"] for e in lines if e.get("type") == "tool_use"]
        assert [t["tool"] for t in tools] == ["read", "write"], tools
        if completed:
            assert all(t["state"]["status"] == "completed" for t in tools), tools

    return check


def one_body_of_the_model(lines: Lines, target: Target) -> None:
    assert [b["model"] for b in target.bodies()] == ["glm-5.3"]


def every_body_of_the_model(lines: Lines, target: Target) -> None:
    assert all(b["model"] == "glm-5.3" for b in target.bodies())


def read_path(name: str, key: str) -> Tool:
    return lambda path: (name, {key: str(path)})


def write_path(name: str, key: str, content: str) -> Tool:
    return lambda path: (name, {key: str(path), content: "$RESULT"})


def quiet(prefix: str, *features: str, **more: str) -> dict[str, str]:
    """``<PREFIX>_DISABLE_<FEATURE>=1`` for what OpenCode and its fork Kilo both fetch or start, and ``features``."""
    common = ("MODELS_FETCH", "AUTOUPDATE", "DEFAULT_PLUGINS", "LSP_DOWNLOAD", "SHARE")
    return {f"{prefix}_DISABLE_{name}": "1" for name in (*common, *features)} | more


def opencode_family(command: str, setup: str, *, completed: bool, **more: Any) -> SetupAgent:
    """OpenCode and its fork Kilo: ``run --format json``, tools ``read`` and ``write``, text and tool parts."""
    return SetupAgent(
        command=command,
        setup=setup,
        args=["run", "--format", "json"],
        read=read_path("read", "filePath"),
        write=write_path("write", "filePath", "content"),
        answer=part_texts,
        loop_done=read_then_write(completed=completed),
        **more,
    )


AGENTS = [
    opencode_family(
        "opencode",
        "opencode",
        completed=True,
        sends=every_body_of_the_model,
        env=quiet("OPENCODE"),  # no models.dev fetch, no updater, no plugins from npm, no share links
    ),
    opencode_family(
        "kilo",
        "kilo-code",
        completed=False,
        # no model lists from kilo.ai or models.dev, no updater, indexing, sharing, telemetry or daemon
        env=quiet(
            "KILO",
            "CODEBASE_INDEXING",
            "SESSION_INGEST",
            "PRESENCE",
            KILO_TELEMETRY_LEVEL="off",
            KILO_NO_DAEMON="1",
        ),
    ),
    SetupAgent(
        command="cline",
        setup="cline",
        args=["--json"],
        read=lambda path: ("read_files", {"files": [{"path": str(path)}]}),
        write=write_path("editor", "path", "new_text"),
        answer=cline_answer,
        loop_done=cline_result,
    ),
    SetupAgent(
        command="droid",
        setup="droid",
        args=["exec", "-o", "json"],
        loop_args=["exec", "--auto", "low", "-o", "json"],
        read=read_path("Read", "file_path"),
        write=write_path("Create", "file_path", "content"),
        answer=droid_answer,
        loop_done=droid_answer,
        sends=one_body_of_the_model,
    ),
]


@pytest.fixture(params=AGENTS, ids=[a.command for a in AGENTS])
def spec(request: pytest.FixtureRequest) -> SetupAgent:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def agent(spec: SetupAgent, agent_bin: Callable[[str], Agent]) -> Agent:
    return agent_bin(spec.command)


@pytest.fixture(params=ROUTES)
def target(
    request: pytest.FixtureRequest,
    emulator: Callable[..., str],
    gateway: Callable[..., Gateway],
    recorder: Callable[[str], Recorder],
) -> Target:
    return point(str(request.param), emulator, gateway, recorder)


def test_plain_prompt(spec: SetupAgent, agent: Agent, target: Target, box: Sandbox) -> None:
    glm_setup(spec.setup, box, target)
    run = run_agent(agent, box, [*spec.args, PLAIN], **spec.env)
    run.check()
    text = spec.answer(run.lines())
    assert "on the glmkit emulator" in text and "glm-5.3" in text, run.stdout[-2000:]
    spec.sends(run.lines(), target)
    record(spec.command, "plain", target, box)


def test_tool_loop_reads_one_file_and_writes_another(
    spec: SetupAgent, agent: Agent, target: Target, box: Sandbox
) -> None:
    glm_setup(spec.setup, box, target)
    source, written = loop_files(box)
    (read, read_args), (write, write_args) = spec.read(source), spec.write(written)
    run = run_agent(
        agent, box, [*(spec.loop_args or spec.args), loop_prompt(read, read_args, write, write_args)], **spec.env
    )
    run.check()
    spec.loop_done(run.lines())
    check_loop(target, source, written, read, write)
    record(spec.command, "loop", target, box)
