"""Shape checks of an Anthropic Messages request, before any translation: a malformed body is a 400 that names
the field and the fix (``invalid_request_error``), never a crash inside the translator. Liberal in what it accepts:
fields and block types the gateway has no use for pass (the translator drops them); a 400 is for a request whose
meaning cannot be kept (a malformed block, a PDF GLM cannot read here).

One pass over the body and its blocks, plain ``isinstance`` tests (no model validation on the hot path).
"""

from __future__ import annotations

from typing import Any

__all__ = ["TranslationError", "check_request"]

TOOL_CHOICES = ("auto", "any", "tool", "none")
THINKING_TYPES = ("enabled", "disabled", "adaptive")
# ``system`` inside ``messages``: the anthropic package's SystemMessageParam (2.13), which Claude Code 2.1.3xx sends
ROLES = ("user", "assistant", "system")


class TranslationError(ValueError):
    """The Anthropic request cannot be translated; the message names the field and the fix (a 400)."""


def _number(body: dict[str, Any], key: str) -> None:
    value = body.get(key)
    if value is not None and (not isinstance(value, int | float) or isinstance(value, bool)):
        raise TranslationError(f"{key}: must be a number.")


def _text_blocks(blocks: Any, where: str) -> None:
    for i, b in enumerate(blocks):
        if not isinstance(b, dict) or b.get("type") != "text" or not isinstance(b.get("text"), str):
            raise TranslationError(f"{where}.{i}: must be a text block {{'type': 'text', 'text': '...'}}.")


def _image(block: dict[str, Any], where: str) -> None:
    src = block.get("source")
    ok = isinstance(src, dict) and (
        (src.get("type") == "base64" and isinstance(src.get("data"), str))
        or (src.get("type") == "url" and isinstance(src.get("url"), str))
    )
    if not ok:
        raise TranslationError(
            f"{where}.source: an image needs {{'type': 'base64', 'media_type': ..., 'data': ...}} "
            "or {'type': 'url', 'url': ...}."
        )


def _document(block: dict[str, Any], at: str) -> None:
    """A document must reach GLM as text (its meaning is its content): plain text or content blocks, not a PDF."""
    src = block.get("source")
    if not isinstance(src, dict) or src.get("type") not in ("text", "content"):
        kind = src.get("type") if isinstance(src, dict) else None
        raise TranslationError(
            f"{at}.source: a {kind or 'missing'} document cannot be read by GLM through the gateway; send its text "
            "(source type 'text'), or extract it first (`glm ocr` reads PDFs)."
        )


def _tool_result(block: dict[str, Any], at: str) -> None:
    content = block.get("content")
    if isinstance(content, list):
        for k, part in enumerate(content):
            if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                raise TranslationError(f"{at}.content.{k}: every block of a tool result must be an object with a type.")
            if part["type"] == "image":
                _image(part, f"{at}.content.{k}")
            elif part["type"] == "text" and not isinstance(part.get("text"), str):
                raise TranslationError(f"{at}.content.{k}.text: must be a string.")
    elif content is not None and not isinstance(content, str):
        raise TranslationError(f"{at}.content: a string or a list of content blocks.")


def _blocks(blocks: list[Any], where: str) -> None:
    for j, b in enumerate(blocks):
        at = f"{where}.{j}"
        if not isinstance(b, dict):
            raise TranslationError(f"{at}: every block must be an object with a type.")
        kind = b.get("type")
        if kind in ("text", "thinking") and not isinstance(b.get(kind), str):
            raise TranslationError(f"{at}.{kind}: must be a string.")
        if kind == "image":
            _image(b, at)
        elif kind == "tool_result":
            _tool_result(b, at)
        elif kind == "document":
            _document(b, at)


def _tools(body: dict[str, Any]) -> None:
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise TranslationError("tools: must be a list of {name, description, input_schema}.")
        for i, t in enumerate(tools):
            if not isinstance(t, dict) or not isinstance(t.get("name"), str) or not t["name"]:
                raise TranslationError(f"tools.{i}.name: required, a non-empty string.")
            if t.get("type") in (None, "custom") and not isinstance(t.get("input_schema"), dict):
                raise TranslationError(f"tools.{i}.input_schema: required, a JSON Schema object.")
    choice = body.get("tool_choice")
    if choice is not None:
        if not isinstance(choice, dict) or choice.get("type") not in TOOL_CHOICES:
            raise TranslationError("tool_choice: an object whose type is one of " + ", ".join(TOOL_CHOICES) + ".")
        if choice["type"] == "tool" and not isinstance(choice.get("name"), str):
            raise TranslationError("tool_choice.name: required with type 'tool', the name of a tool.")


def _options(body: dict[str, Any]) -> None:
    system = body.get("system")
    if system is not None and not isinstance(system, str):
        if not isinstance(system, list):
            raise TranslationError("system: a string or a list of text blocks.")
        _text_blocks(system, "system")
    thinking = body.get("thinking")
    if thinking is not None and not isinstance(thinking, dict):  # an unknown type reads as no thinking asked for
        raise TranslationError("thinking: an object whose type is one of " + ", ".join(THINKING_TYPES) + ".")
    for key in ("metadata", "output_config"):
        if body.get(key) is not None and not isinstance(body[key], dict):
            raise TranslationError(f"{key}: must be an object.")
    _number(body, "temperature")
    _number(body, "top_p")
    stops = body.get("stop_sequences")
    if stops is not None and (not isinstance(stops, list) or not all(isinstance(s, str) for s in stops)):
        raise TranslationError("stop_sequences: must be a list of strings.")  # empty ones stop nothing: dropped


def _empty(content: Any) -> bool:
    """No content at all: ``""``, ``[]``, or only empty text blocks."""
    if isinstance(content, list):
        return all(isinstance(b, dict) and b.get("type") == "text" and not b.get("text") for b in content)
    return not content


def check_request(body: Any) -> None:
    """Raise ``TranslationError`` naming the first malformed field of an Anthropic request."""
    if not isinstance(body, dict):
        raise TranslationError("The request body must be a JSON object.")
    if not isinstance(body.get("model"), str) or not body["model"].strip():
        raise TranslationError("model: required, a string such as 'claude-sonnet-4-5' or 'glm-5.3'.")
    mt = body.get("max_tokens")
    if not isinstance(mt, int) or isinstance(mt, bool) or mt < 1:
        raise TranslationError("max_tokens: required, an integer of 1 or more.")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise TranslationError("messages: required, a non-empty list of {role, content}.")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            raise TranslationError(f"messages.{i}.role: must be 'user', 'assistant' or 'system'.")
        content = m.get("content")
        if m["role"] == "user" and _empty(content):
            raise TranslationError(
                f"messages.{i}.content: a user message needs content (the Messages API refuses an empty one)."
            )
        if m["role"] == "system" and isinstance(content, list):
            _text_blocks(content, f"messages.{i}.content")  # SystemMessageParam: a string or text blocks
        elif isinstance(content, list):
            _blocks(content, f"messages.{i}.content")
        elif not isinstance(content, str):
            raise TranslationError(f"messages.{i}.content: must be a string or a list of content blocks.")
    _options(body)
    _tools(body)
