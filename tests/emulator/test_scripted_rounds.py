"""The ``[emulator:round=...]`` and ``[emulator:no-tools]`` markers that make coding-agent runs deterministic."""

from __future__ import annotations

import json
from typing import Any

from glmkit.emulator.app import EmulatorState
from glmkit.emulator.chat_answers import scripted_calls, tool_calls_for

TOOLS = [
    {"type": "function", "function": {"name": n, "parameters": {"type": "object", "properties": {}}}}
    for n in ("Read", "Write", "Agent")
]


def state() -> EmulatorState:
    from glmkit.emulator import EmulatorConfig

    return EmulatorState(EmulatorConfig())


def user(text: str) -> dict[str, Any]:
    return {
        "role": "user",
        "content": [{"type": "text", "text": "<system-reminder>x</system-reminder>"}, {"type": "text", "text": text}],
    }


def answered(calls: list[dict[str, Any]], result: str) -> list[dict[str, Any]]:
    return [
        {"role": "assistant", "content": "", "tool_calls": calls},
        *({"role": "tool", "tool_call_id": c["id"], "content": result} for c in calls),
        {"role": "user", "content": "<system-reminder>files changed</system-reminder>"},  # what agents add
    ]


def test_rounds_run_in_order_with_the_latest_result_then_text() -> None:
    s = state()
    prompt = user(
        'Go [emulator:round=Read {"file_path": "/w/in.txt"}] [emulator:round=Write {"file_path": "/w/out.txt", "content": "got: $RESULT"}]'
    )
    messages = [prompt]
    first = tool_calls_for(s, {"messages": messages, "tools": TOOLS})
    assert first is not None and [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in first] == [
        ("Read", {"file_path": "/w/in.txt"})
    ]
    messages += answered(first, '1\t"hello"')
    second = tool_calls_for(s, {"messages": messages, "tools": TOOLS})
    assert second is not None
    assert json.loads(second[0]["function"]["arguments"]) == {"file_path": "/w/out.txt", "content": 'got: 1\t"hello"'}
    messages += answered(second, "written")
    assert tool_calls_for(s, {"messages": messages, "tools": TOOLS}) is None


def test_parallel_calls_and_a_nested_marker() -> None:
    prompt = user('[emulator:round=Agent {"prompt": "one [emulator:no-tools]"} && Agent {"prompt": "two"}]')
    calls = scripted_calls(state(), [prompt])
    assert isinstance(calls, list)
    assert [json.loads(c["function"]["arguments"])["prompt"] for c in calls] == ["one [emulator:no-tools]", "two"]


def test_no_tools_marker_and_no_script() -> None:
    assert tool_calls_for(state(), {"messages": [user("Say hello [emulator:no-tools]")], "tools": TOOLS}) is None
    assert scripted_calls(state(), [user("Say hello")]) is False


def test_new_user_text_ends_the_script() -> None:
    s = state()
    messages = [user('[emulator:round=Read {"file_path": "/w/a"}]')]
    calls = tool_calls_for(s, {"messages": messages, "tools": TOOLS})
    assert calls is not None
    messages += answered(calls, "x")[:-1] + [{"role": "user", "content": "Summarise the conversation. TEXT ONLY."}]
    assert tool_calls_for(s, {"messages": messages, "tools": TOOLS}) is None


def test_a_text_only_instruction_after_the_markers_ends_the_script() -> None:
    """Claude Code's compaction request appends "TEXT ONLY" instructions to the marked prompt: no scripted call."""
    prompt = user('Go [emulator:round=Read {"file_path": "/w/a"}]\nCRITICAL: Respond with TEXT ONLY.')
    assert tool_calls_for(state(), {"messages": [prompt], "tools": TOOLS}) is None
