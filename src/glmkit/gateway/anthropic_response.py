"""GLM chat completions -> Anthropic messages: the answer side of the translation (pure, no I/O).

- ``Plan``: what the request translation decided and the way back needs (models, stream, thinking, stop
  sequences, the input-token estimate).
- ``to_message(completion, plan)``: a whole GLM completion -> an Anthropic message (dicts in, dict out);
  ``usage_of``, ``cut_at_stop``, ``message_id`` and ``stop_reason_for`` are shared with the stream translator.

GLM reasoning has no signature: thinking blocks carry ``signature: ""`` (reference silent on signatures).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from glmkit.types.anthropic import stop_reason_for

__all__ = [
    "Plan",
    "as_int",
    "cut_at_stop",
    "message_id",
    "stop_reason_for",
    "to_message",
    "tool_input",
    "usage_of",
]


@dataclass
class Plan:
    """What the translation decided, needed to translate the answer back."""

    model_requested: str
    model: str
    stream: bool = False
    thinking: bool = False
    stop_sequences: list[str] = field(default_factory=list)
    input_tokens: int = 0
    routed_for_vision: bool = False
    labels: list[str] = field(default_factory=list)
    """How each chat message is named to the client (``messages[3]``, ``system``), for pre-flight notes."""


def as_int(value: Any) -> int:
    """A token count as an integer (floats rounded; anything unreadable is 0)."""
    try:
        return int(round(float(value)))
    except (TypeError, ValueError):
        return 0


def usage_of(usage: dict[str, Any] | None, plan: Plan) -> dict[str, int]:
    """Anthropic usage (integers always) from GLM usage.

    GLM's ``prompt_tokens`` includes the cached ones (``prompt_tokens_details.cached_tokens``, OpenAI's shape;
    the reference is silent on the subset, §2.4); Anthropic's ``input_tokens`` excludes what
    ``cache_read_input_tokens`` counts, and clients add the two up for the context in use, so the cached
    tokens are taken out of ``input_tokens`` rather than counted twice.
    """
    if not usage:
        return {"input_tokens": plan.input_tokens, "output_tokens": 0}
    prompt = as_int(usage.get("prompt_tokens"))
    out = {"input_tokens": prompt, "output_tokens": as_int(usage.get("completion_tokens"))}
    details = usage.get("prompt_tokens_details")
    cached = min(as_int(details.get("cached_tokens")), prompt) if isinstance(details, dict) else 0
    if cached > 0:
        out["input_tokens"] = prompt - cached
        out["cache_read_input_tokens"] = cached
    return out


def cut_at_stop(text: str, stops: list[str]) -> tuple[str, str | None]:
    """Cut at the stop sequence that completes first (as generation would meet it), then the earliest start."""
    best: tuple[int, int, str] | None = None
    for s in stops:
        i = text.find(s)
        if i >= 0 and (best is None or (i + len(s), i) < best[:2]):
            best = (i + len(s), i, s)
    return (text, None) if best is None else (text[: best[1]], best[2])


def tool_input(arguments: Any) -> Any:
    """A tool call's arguments (a JSON string) as the ``input`` object; unreadable JSON is kept under ``_raw``."""
    if isinstance(arguments, dict):
        return arguments
    if not arguments:
        return {}
    try:
        value = json.loads(arguments)
    except ValueError:
        return {"_raw": arguments}
    return value if isinstance(value, dict) else {"_value": value}


def message_id(upstream_id: Any) -> str:
    """``msg_<upstream id>``, or a fresh one."""
    return f"msg_{upstream_id}" if upstream_id else f"msg_{uuid.uuid4().hex[:24]}"


def to_message(completion: dict[str, Any], plan: Plan) -> dict[str, Any]:
    """Translate a GLM completion to an Anthropic message (empty text blocks dropped)."""
    choice = (completion.get("choices") or [{}])[0]
    msg = choice.get("message") or {}
    finish = choice.get("finish_reason")
    content: list[dict[str, Any]] = []
    if msg.get("reasoning_content"):
        content.append({"type": "thinking", "thinking": msg["reasoning_content"], "signature": ""})
    text, stop_seq = cut_at_stop(msg.get("content") or "", plan.stop_sequences)
    if text:
        content.append({"type": "text", "text": text})
    if stop_seq is None:
        for call in msg.get("tool_calls") or []:
            fn = call.get("function") or {}
            content.append(
                {
                    "type": "tool_use",
                    "id": call.get("id") or f"toolu_{uuid.uuid4().hex[:24]}",
                    "name": fn.get("name") or "",
                    "input": tool_input(fn.get("arguments")),
                }
            )
    return {
        "id": message_id(completion.get("id")),
        "type": "message",
        "role": "assistant",
        "model": plan.model,
        "content": content,
        "stop_reason": "stop_sequence" if stop_seq is not None else stop_reason_for(finish),
        "stop_sequence": stop_seq,
        "usage": usage_of(completion.get("usage"), plan),
    }
