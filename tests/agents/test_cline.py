"""The Cline CLI (``cline --json``), set up by ``glm setup cline``: direct to the emulator and through ``glm serve``.

Cline reads ``~/.cline/data/settings/providers.json``; glmkit writes its OpenAI-compatible provider (Cline's
own ``zai`` provider takes no base URL). Its tools: ``read_files {files: [{path}]}``, ``editor {path, new_text}``.
"""

from __future__ import annotations

from collections.abc import Callable

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


@pytest.fixture
def cline(agent_bin: Callable[[str], Agent]) -> Agent:
    return agent_bin("cline")


@pytest.fixture(params=ROUTES)
def target(
    request: pytest.FixtureRequest,
    emulator: Callable[..., str],
    gateway: Callable[..., Gateway],
    recorder: Callable[[str], Recorder],
) -> Target:
    return point(str(request.param), emulator, gateway, recorder)


def result_of(lines: list[dict[str, object]]) -> dict[str, object]:
    found = [e for e in lines if e.get("type") == "run_result"]
    assert found, lines[-5:]
    return found[-1]


def test_plain_prompt(cline: Agent, target: Target, box: Sandbox) -> None:
    glm_setup("cline", box, target)
    run = run_agent(cline, box, ["--json", PLAIN])
    run.check()
    result = result_of(run.lines())
    assert result["finishReason"] == "completed", result
    assert "on the glmkit emulator" in str(result["text"]) and "glm-5.3" in str(result["text"])
    assert result["model"] == {"id": "glm-5.3", "provider": "openai-compatible"} or "glm-5.3" in str(result["model"])
    record("cline", "plain", target, box)


def test_tool_loop_reads_one_file_and_writes_another(cline: Agent, target: Target, box: Sandbox) -> None:
    glm_setup("cline", box, target)
    source, written = loop_files(box)
    prompt = loop_prompt(
        "read_files", {"files": [{"path": str(source)}]}, "editor", {"path": str(written), "new_text": "$RESULT"}
    )
    run = run_agent(cline, box, ["--json", prompt])
    run.check()
    assert result_of(run.lines())["finishReason"] == "completed"
    check_loop(target, source, written, "read_files", "editor")
    record("cline", "loop", target, box)
