"""Markers in prompts as OpenCode and Kilo send them: the ``run`` prompt as a JSON string literal."""

from __future__ import annotations

import json

from glmkit.emulator import EmulatorConfig
from glmkit.emulator.app import EmulatorState
from glmkit.emulator.chat_answers import tool_calls_for

TOOLS = [
    {"type": "function", "function": {"name": n, "parameters": {"type": "object", "properties": {}}}}
    for n in ("read", "write")
]
PROMPT = 'Copy [emulator:round=read {"filePath":"/w/in.txt"}][emulator:round=write {"filePath":"/w/out.md"}]'


def test_a_prompt_sent_as_a_json_string_literal_keeps_its_markers() -> None:
    quoted = json.dumps(PROMPT)  # '"Copy [emulator:round=read {\\"filePath\\": ...'
    for content in (quoted, [{"type": "text", "text": quoted}, {"type": "text", "text": "<environment_details>"}]):
        body = {"model": "glm-5.3", "tools": TOOLS, "messages": [{"role": "user", "content": content}]}
        calls = tool_calls_for(EmulatorState(EmulatorConfig()), body)
        assert calls is not None
        assert [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls] == [
            ("read", {"filePath": "/w/in.txt"})
        ]


def test_a_quoted_prompt_that_is_not_json_is_read_as_it_is() -> None:
    text = '"no [emulator:round=read {"filePath":"/a"}] here"'  # starts and ends with a quote, not a JSON string
    body = {"model": "glm-5.3", "tools": TOOLS, "messages": [{"role": "user", "content": text}]}
    calls = tool_calls_for(EmulatorState(EmulatorConfig()), body)
    assert calls is not None and json.loads(calls[0]["function"]["arguments"]) == {"filePath": "/a"}
