"""Tool definitions in the Responses API's shape that the Responses tests send: a function tool and Codex's
custom (grammar) patch tool."""

from __future__ import annotations

from typing import Any

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather of a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
PATCH = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Edit files with a patch.",
    "format": {"type": "grammar", "syntax": "lark", "definition": "start: begin_patch hunk+ end_patch"},
}

TOOLS: Any = [WEATHER, PATCH]


def first_round(client: Any, prompt: str, *, stream: bool) -> Any:
    """The first answer of an ``openai`` client to ``prompt`` offered both tools, created or streamed."""
    if stream:
        with client.responses.stream(model="glm-5.3", input=prompt, tools=TOOLS) as s:
            return s.get_final_response()
    return client.responses.create(model="glm-5.3", input=prompt, tools=TOOLS)
