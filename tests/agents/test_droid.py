"""Factory Droid (``droid exec``), set up by ``glm setup droid``: direct to the emulator and through ``glm serve``.

Droid reads BYOK models from ``customModels`` in ``~/.factory/settings.json``; glmkit adds its entry
(``generic-chat-completion-api``) and makes it the session default, so ``droid exec`` needs no ``-m`` and no
Factory login. Its tools: ``Read {file_path}``, and with ``--auto low`` ``Create {file_path, content}``.
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
def droid(agent_bin: Callable[[str], Agent]) -> Agent:
    return agent_bin("droid")


@pytest.fixture(params=ROUTES)
def target(
    request: pytest.FixtureRequest,
    emulator: Callable[..., str],
    gateway: Callable[..., Gateway],
    recorder: Callable[[str], Recorder],
) -> Target:
    return point(str(request.param), emulator, gateway, recorder)


def result_of(lines: list[dict[str, object]]) -> dict[str, object]:
    found = [e for e in lines if e.get("type") == "result"]
    assert found, lines[-5:]
    return found[-1]


def test_plain_prompt(droid: Agent, target: Target, box: Sandbox) -> None:
    glm_setup("droid", box, target)
    run = run_agent(droid, box, ["exec", "-o", "json", PLAIN])
    run.check()
    result = result_of(run.lines())
    assert result["is_error"] is False, result
    assert "on the glmkit emulator" in str(result["result"]) and "glm-5.3" in str(result["result"])
    assert [b["model"] for b in target.bodies()] == ["glm-5.3"]
    record("droid", "plain", target, box)


def test_tool_loop_reads_one_file_and_writes_another(droid: Agent, target: Target, box: Sandbox) -> None:
    glm_setup("droid", box, target)
    source, written = loop_files(box)
    prompt = loop_prompt(
        "Read", {"file_path": str(source)}, "Create", {"file_path": str(written), "content": "$RESULT"}
    )
    run = run_agent(droid, box, ["exec", "--auto", "low", "-o", "json", prompt])
    run.check()
    assert result_of(run.lines())["is_error"] is False
    check_loop(target, source, written, "Read", "Create")
    record("droid", "loop", target, box)
