"""OpenCode (``opencode run``), set up by ``glm setup opencode``: direct to the emulator and through ``glm serve``.

OpenCode reads ``~/.config/opencode/opencode.json``; glmkit sets the base URL of its built-in
``zai-coding-plan`` provider (models.dev). Its tools: ``read {filePath}``, ``write {filePath, content}``.
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

QUIET = {  # no models.dev fetch, no updater, no plugins from npm, no share links
    "OPENCODE_DISABLE_MODELS_FETCH": "1",
    "OPENCODE_DISABLE_AUTOUPDATE": "1",
    "OPENCODE_DISABLE_DEFAULT_PLUGINS": "1",
    "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
    "OPENCODE_DISABLE_SHARE": "1",
}


@pytest.fixture
def opencode(agent_bin: Callable[[str], Agent]) -> Agent:
    return agent_bin("opencode")


@pytest.fixture(params=ROUTES)
def target(
    request: pytest.FixtureRequest,
    emulator: Callable[..., str],
    gateway: Callable[..., Gateway],
    recorder: Callable[[str], Recorder],
) -> Target:
    return point(str(request.param), emulator, gateway, recorder)


def test_plain_prompt(opencode: Agent, target: Target, box: Sandbox) -> None:
    glm_setup("opencode", box, target)
    run = run_agent(opencode, box, ["run", "--format", "json", PLAIN], **QUIET)
    run.check()
    texts = [e["part"]["text"] for e in run.lines() if e.get("type") == "text"]
    assert texts and "on the glmkit emulator" in texts[-1] and "glm-5.3" in texts[-1], run.stdout[-2000:]
    assert all(b["model"] == "glm-5.3" for b in target.bodies())
    record("opencode", "plain", target, box)


def test_tool_loop_reads_one_file_and_writes_another(opencode: Agent, target: Target, box: Sandbox) -> None:
    glm_setup("opencode", box, target)
    source, written = loop_files(box)
    prompt = loop_prompt("read", {"filePath": str(source)}, "write", {"filePath": str(written), "content": "$RESULT"})
    run = run_agent(opencode, box, ["run", "--format", "json", prompt], **QUIET)
    run.check()
    tools = [e["part"] for e in run.lines() if e.get("type") == "tool_use"]
    assert [t["tool"] for t in tools] == ["read", "write"]
    assert all(t["state"]["status"] == "completed" for t in tools), tools
    check_loop(target, source, written, "read", "write")
    record("opencode", "loop", target, box)
