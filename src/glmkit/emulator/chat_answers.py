"""What the emulator's chat answers say: text, reasoning, tool calls and JSON, as deterministic functions of the request.

Tool calling: with function tools and a user message last, the answer is tool calls whose arguments
are generated from each tool's JSON schema (deterministic by seed; two calls in parallel for some
prompts); after tool results, text that cites them. Markers in the last user message steer it, for
tests (ours and users'):

- ``[emulator:tools=a,b]``: call exactly these tools, in parallel, in this order.
- ``[emulator:tool-rounds=N]``: keep calling tools for N rounds before answering (default 1).
- ``[emulator:invalid-args]``: the first round's arguments do not fit the schemas (wrong types).
- ``[emulator:long-args=N]``: each call's ``content`` (else first string) argument is N characters long (a Write tool writing a whole
  file): streamed in fragments with ``tool_stream``, else sent whole after a silence (``--chunk-delay`` a fragment).
- ``[emulator:no-tools]``: answer in text, never call a tool (holds for the rest of the conversation).
- ``[emulator:round=Name {json} && Name {json}]``: a scripted tool round: exactly these calls with exactly
  these arguments. Each ``round`` marker is one round, in order; after the last round the answer is text.
  Rounds count from the last user message holding a ``round`` marker (coding agents add reminder
  messages between tool rounds; a later user message with other text, or an instruction after the markers to
  answer in text only (an agent's compaction request), ends the
  script), and ``$RESULT`` inside a JSON string is replaced by the text of the
  latest tool result. The value may hold one level of ``[...]`` (a subagent's prompt with its own marker).
- ``[emulator:invalid-json]`` / ``[emulator:invalid-json=N]`` (in any user message): with
  ``response_format`` json_object, the first (N) answers are not valid JSON. Otherwise json_object answers are an
  object valid against the JSON schema found in a ```json fenced block of the system prompt (``{"answer": ...}``
  without one).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from glmkit._json import dumps as DUMPS
from glmkit._tokens import estimate_messages
from glmkit.catalog import get_model
from glmkit.emulator.state import EmulatorState

WORD = re.compile(r"\S+\s*")


def last_user_text(messages: list[dict[str, Any]]) -> str:
    """The text of the last user message (text parts joined)."""
    for m in reversed(messages):
        if m.get("role") == "user":
            c = m.get("content")
            if isinstance(c, str):
                return c
            if isinstance(c, list):
                return " ".join(str(p.get("text", "")) for p in c if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "big")


def media_count(messages: list[dict[str, Any]]) -> dict[str, int]:
    """How many image/video/file parts the messages carry."""
    counts = {"image_url": 0, "video_url": 0, "file_url": 0, "file": 0}
    for m in messages:
        c = m.get("content")
        if isinstance(c, list):
            for p in c:
                if isinstance(p, dict) and p.get("type") in counts:
                    counts[p["type"]] += 1
    return counts


def text_tokens(messages: list[dict[str, Any]]) -> int:
    """The estimated prompt tokens of the messages without their media parts (which the estimate counts at a flat
    1,000 each: reference silent on what a part costs)."""
    media = sum(media_count(messages).values())
    return max(0, estimate_messages(messages) - 1000 * media)


def answer_text(model: str, messages: list[dict[str, Any]]) -> str:
    """A deterministic answer that mentions what it was asked."""
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        results = [str(m.get("content", ""))[:200] for m in messages if m.get("role") == "tool"]
        tail = list(results[-8:])
        return "Based on the tool results: " + "; ".join(tail) + "."
    prompt = last_user_text(messages).strip()
    snippet = prompt if len(prompt) <= 80 else prompt[:77] + "..."
    media = media_count(messages)
    seen = ""
    if media["image_url"]:
        seen = f" I looked at {media['image_url']} image(s): an emulated picture with a title bar and a chart."
    if media["video_url"]:
        seen += f" I watched {media['video_url']} video(s)."
    n = _digest(prompt) % 3
    endings = ["Let me know if you need more detail.", "That is all there is to it.", "Happy to help further."]
    return f'This is {model} on the glmkit emulator, answering "{snippet}".{seen} {endings[n]}'


def reasoning_text(messages: list[dict[str, Any]]) -> str:
    """Deterministic reasoning for a thinking model."""
    prompt = last_user_text(messages).strip()[:60]
    if messages and messages[-1].get("role") == "tool":
        n = sum(1 for m in messages if m.get("role") == "tool")
        return f'I have {n} tool result(s) for "{prompt}". I should answer from them.'
    return f'The user asks: "{prompt}". I should answer briefly and accurately.'


def thinks(model: str, body: dict[str, Any]) -> bool:
    """Whether the answer carries reasoning_content (reference §2.5)."""
    info = get_model(model.lower())
    if info is None or info.thinking == "none":
        return False
    if info.thinking == "always":
        return True  # the GLM-5.3 family: thinking cannot be disabled (the coding endpoint accepts "disabled")
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "disabled":
        return False
    # GLM-5.2: efforts none/minimal skip thinking; models without efforts ignore reasoning_effort
    return not (info.efforts and body.get("reasoning_effort") in ("none", "minimal"))


def _schema_value(schema: dict[str, Any], name: str, seed: int) -> Any:
    """A value valid against a (simple) JSON schema, deterministic by seed."""
    if "enum" in schema and schema["enum"]:
        return schema["enum"][seed % len(schema["enum"])]
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return _schema_value(options[0], name, seed)
    t = schema.get("type", "string")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "string")
    if t == "integer":
        lo = schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1)
        hi = schema.get("maximum", schema.get("exclusiveMaximum", lo + 10) - 1)
        lo = min(lo, hi)
        return int(lo + seed % (int(hi) - int(lo) + 1))
    if t == "number":
        lo = float(schema.get("minimum", schema.get("exclusiveMinimum", -0.5) + 0.5))
        hi = float(schema.get("maximum", schema.get("exclusiveMaximum", lo + 10.5) - 0.5))
        return min(lo + (seed % 100) / 10, max(lo, hi))
    if t == "boolean":
        return seed % 2 == 0
    if t == "array" and schema.get("prefixItems"):
        return [_schema_value(sub, name, seed + i) for i, sub in enumerate(schema["prefixItems"])]
    if t == "array":
        item = schema.get("items", {"type": "string"})
        n = max(int(schema.get("minItems", 1)), 1)
        return [_schema_value(item, name, seed + i) for i in range(n)]
    if t == "object":
        return schema_instance(schema, seed)
    words = ["alpha", "beta", "gamma", "delta"]
    value = f"{name}-{words[seed % 4]}"
    if "minLength" in schema and len(value) < schema["minLength"]:
        value = value.ljust(int(schema["minLength"]), "x")
    if "maxLength" in schema:
        value = value[: int(schema["maxLength"])]
    return value


def schema_instance(schema: dict[str, Any], seed: int) -> dict[str, Any]:
    """An object valid against an object schema: every required property, plus the others."""
    props = schema.get("properties") or {}
    return {name: _schema_value(sub or {}, name, seed + i) for i, (name, sub) in enumerate(props.items())}


_MARKER = re.compile(r"\[emulator:([a-z-]+)(?:=((?:[^\[\]]|\[[^\[\]]*\])*))?\]")


def markers(messages: list[dict[str, Any]]) -> dict[str, str]:
    """The ``[emulator:name=value]`` markers of the last user message (see the module docstring)."""
    return {m.group(1): m.group(2) or "" for m in _MARKER.finditer(last_user_text(messages))}


_TEXT_ONLY = re.compile(r"(?i)\btext only\b|\bdo not (?:call|use) any tools?\b")
_REMINDER = re.compile(r"<system-reminder>.*?</system-reminder>", re.S)


def _user_text(m: dict[str, Any]) -> str:
    """A user message's text; a part that is a JSON string literal is decoded first (OpenCode and Kilo send the
    prompt of ``run`` so: ``"Copy ... {\\"filePath\\": ...}"``, and a marker's JSON must survive that)."""
    content = m.get("content")
    parts = [content] if isinstance(content, str) else [p.get("text", "") for p in content or [] if isinstance(p, dict)]
    return " ".join(_unquoted(str(p)) for p in parts)


def _unquoted(text: str) -> str:
    stripped = text.strip()
    if len(stripped) > 1 and stripped[0] == stripped[-1] == '"':
        try:
            value = json.loads(stripped)
        except ValueError:
            return text
        return value if isinstance(value, str) else text
    return text


def _script_start(messages: list[dict[str, Any]]) -> int | None:
    """The index of the last user message holding a ``round`` or ``no-tools`` marker."""
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") == "user" and any(
            m.group(1) in ("round", "no-tools") for m in _MARKER.finditer(_user_text(messages[i]))
        ):
            return i
    return None


def _latest_result(messages: list[dict[str, Any]]) -> str:
    for m in reversed(messages):
        if m.get("role") == "tool":
            c = m.get("content")
            return c if isinstance(c, str) else DUMPS(c)
    return ""


def scripted_calls(state: EmulatorState, messages: list[dict[str, Any]]) -> list[dict[str, Any]] | None | bool:
    """The calls of the next scripted round; ``None`` once the script is done; ``False`` without a script."""
    start = _script_start(messages)
    if start is None:
        return False
    text = _REMINDER.sub("", _user_text(messages[start]))
    matches = list(_MARKER.finditer(text))
    if _TEXT_ONLY.search(text[matches[-1].end() :]):
        return None  # asked for text only after the markers (Claude Code's compaction request): the script is over
    found = [(m.group(1), m.group(2) or "") for m in matches]
    if any(name == "no-tools" for name, _ in found):
        return None
    script = [value for name, value in found if name == "round"]
    if any(m.get("role") == "user" and _REMINDER.sub("", _user_text(m)).strip() for m in messages[start + 1 :]):
        return None  # the user spoke again (a new prompt, a compaction request): the script is over
    done = sum(1 for m in messages[start + 1 :] if m.get("role") == "assistant" and m.get("tool_calls"))
    if done >= len(script):
        return None
    result = DUMPS(_latest_result(messages))[1:-1]  # JSON-escaped, without the quotes
    calls = []
    for spec in script[done].split("&&"):
        name, _, args = spec.strip().partition(" ")
        args = (args.strip() or "{}").replace("$RESULT", result)
        json.loads(args)  # a malformed script fails loudly in the emulator's log, not as a silent odd call
        calls.append(
            {"id": f"call_{state.new_id()}", "type": "function", "function": {"name": name, "arguments": args}}
        )
    return calls


def tool_rounds(messages: list[dict[str, Any]]) -> int:
    """Assistant turns with tool calls since the last user message."""
    n = 0
    for m in reversed(messages):
        if m.get("role") == "user":
            break
        if m.get("role") == "assistant" and m.get("tool_calls"):
            n += 1
    return n


def _invalid_instance(schema: dict[str, Any], seed: int) -> dict[str, Any]:
    """Arguments of the wrong type for every property (a string where a number goes, a number elsewhere)."""
    props = schema.get("properties") or {}
    if not props:
        return {"unexpected": seed}

    def wrong(name: str, sub: dict[str, Any]) -> Any:
        t = sub.get("type")
        return seed if t == "string" or (isinstance(t, list) and "string" in t) else f"not-a-{name}"

    return {name: wrong(name, sub or {}) for name, sub in props.items()}


def forced_tool(choice: Any) -> str | None:
    """The tool name a forced ``tool_choice`` (``{"type": "function", "function": {"name": ...}}``) names."""
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        name = choice["function"].get("name")
        return name if isinstance(name, str) else None
    return None


def tool_calls_for(state: EmulatorState, body: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Tool calls when the request has function tools and the last message is the user's (or, with
    ``[emulator:tool-rounds=N]``, a tool result of a round before the N-th). ``tool_choice`` ``"none"`` makes
    none; a forced function choice calls exactly that tool, once."""
    tools = [t for t in body.get("tools") or [] if isinstance(t, dict) and t.get("type") == "function"]
    messages = body["messages"]
    choice = body.get("tool_choice")
    if not tools or choice == "none":
        return None
    scripted = scripted_calls(state, messages)
    if isinstance(scripted, list) or scripted is None:
        return scripted or None
    forced = forced_tool(choice)
    if forced is not None:  # live evidence §1: a forced function choice calls exactly that tool
        # reference silent: a forced name that no tool has; no call is made here
        tools = [t for t in tools if (t.get("function") or {}).get("name") == forced][:1]
        if not tools:
            return None
    marks = markers(messages)
    rounds = tool_rounds(messages)
    wanted_rounds = int(marks["tool-rounds"]) if marks.get("tool-rounds", "").isdigit() else 1
    if messages[-1].get("role") != "user" and not (messages[-1].get("role") == "tool" and rounds < wanted_rounds):
        return None
    seed = _digest(last_user_text(messages)) + state.config.seed + rounds
    by_name = {t["function"].get("name"): t["function"] for t in tools}
    if forced is not None:
        chosen = [tools[0]["function"]]
    elif marks.get("tools"):
        chosen = [by_name[n.strip()] for n in marks["tools"].split(",") if n.strip() in by_name]
    else:
        count = 2 if len(tools) > 1 and seed % 2 == 0 else 1
        chosen = [tools[(seed + i) % len(tools)]["function"] for i in range(count)]
    invalid = "invalid-args" in marks and rounds == 0
    calls = []
    for i, fn in enumerate(chosen):
        make = _invalid_instance if invalid else schema_instance
        args = make(fn.get("parameters") or {}, seed + i)
        if marks.get("long-args", "").isdigit():
            args = _long(args, fn.get("parameters") or {}, int(marks["long-args"]))
        calls.append(
            {
                "id": f"call_{state.new_id()}",
                "type": "function",
                "function": {"name": fn["name"], "arguments": DUMPS(args)},
            }
        )
    return calls or None


def _long(args: dict[str, Any], schema: dict[str, Any], size: int) -> dict[str, Any]:
    """``args`` with its ``content`` property (else its first string one) ``size`` characters of file-like text."""
    props = schema.get("properties") or {}
    strings = [k for k, v in props.items() if isinstance(v, dict) and v.get("type") == "string"]
    key = "content" if "content" in strings or not strings else strings[0]
    lines = "".join(f"line {n}: the model writes a long file\n" for n in range(size // 30 + 1))
    return {**args, key: lines[:size]}


_FENCED_JSON = re.compile(r"```json\s*(\{.*?\})\s*```", re.S)


def json_answer(body: dict[str, Any], text: str) -> str:
    """The content of a ``response_format: json_object`` answer (see the module docstring)."""
    messages = body["messages"]
    marks: dict[str, str] = {}
    for m in messages:  # the retry's own user message carries no marker: read the whole conversation
        if m.get("role") == "user":
            marks.update(markers([m]))
    if "invalid-json" in marks:
        bad_answers = int(marks["invalid-json"]) if marks["invalid-json"].isdigit() else 1
        answered = sum(1 for m in messages if m.get("role") == "assistant")
        if answered < bad_answers:
            return '{"answer": "unfinished'  # cut mid-string: not JSON
    schema = None
    for m in messages:
        content = m.get("content")
        if m.get("role") == "system" and isinstance(content, str):
            for block in _FENCED_JSON.findall(content):
                try:
                    schema = json.loads(block)
                except ValueError:
                    continue
    if isinstance(schema, dict) and schema.get("type") == "object":
        return DUMPS(schema_instance(schema, _digest(last_user_text(messages))))
    return DUMPS({"answer": text})
