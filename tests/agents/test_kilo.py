"""Kilo Code's CLI (``kilo run``), set up by ``glm setup kilo-code``: direct to the emulator and through ``glm serve``.

Kilo (an OpenCode fork) reads ``~/.config/kilo/kilo.json``; glmkit sets the base URL of its ``zai-coding-plan``
provider as for OpenCode. Its tools: ``read {filePath}``, ``write {filePath, content}``.
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

QUIET = {  # no model lists from kilo.ai or models.dev, no updater, indexing, sharing, telemetry or daemon
    "KILO_DISABLE_MODELS_FETCH": "1",
    "KILO_DISABLE_AUTOUPDATE": "1",
    "KILO_DISABLE_CODEBASE_INDEXING": "1",
    "KILO_DISABLE_DEFAULT_PLUGINS": "1",
    "KILO_DISABLE_LSP_DOWNLOAD": "1",
    "KILO_DISABLE_SHARE": "1",
    "KILO_DISABLE_SESSION_INGEST": "1",
    "KILO_DISABLE_PRESENCE": "1",
    "KILO_TELEMETRY_LEVEL": "off",
    "KILO_NO_DAEMON": "1",
}


@pytest.fixture
def kilo(agent_bin: Callable[[str], Agent]) -> Agent:
    return agent_bin("kilo")


@pytest.fixture(params=ROUTES)
def target(
    request: pytest.FixtureRequest,
    emulator: Callable[..., str],
    gateway: Callable[..., Gateway],
    recorder: Callable[[str], Recorder],
) -> Target:
    return point(str(request.param), emulator, gateway, recorder)


def test_plain_prompt(kilo: Agent, target: Target, box: Sandbox) -> None:
    glm_setup("kilo-code", box, target)
    run = run_agent(kilo, box, ["run", "--format", "json", PLAIN], **QUIET)
    run.check()
    texts = [e["part"]["text"] for e in run.lines() if e.get("type") == "text"]
    assert texts and "on the glmkit emulator" in texts[-1] and "glm-5.3" in texts[-1], run.stdout[-2000:]
    record("kilo", "plain", target, box)


def test_tool_loop_reads_one_file_and_writes_another(kilo: Agent, target: Target, box: Sandbox) -> None:
    glm_setup("kilo-code", box, target)
    source, written = loop_files(box)
    prompt = loop_prompt("read", {"filePath": str(source)}, "write", {"filePath": str(written), "content": "$RESULT"})
    run = run_agent(kilo, box, ["run", "--format", "json", prompt], **QUIET)
    run.check()
    tools = [e["part"] for e in run.lines() if e.get("type") == "tool_use"]
    assert [t["tool"] for t in tools] == ["read", "write"], tools
    check_loop(target, source, written, "read", "write")
    record("kilo", "loop", target, box)
