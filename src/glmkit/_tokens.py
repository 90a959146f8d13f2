"""A local token estimate, shared by the emulator (usage, /tokenizer) and the gateway (message_start).

GLM's tokenizer is not available offline; this counts word pieces and punctuation, which lands
within a few percent of it on English prose and over-counts code slightly (a safe direction).
"""

from __future__ import annotations

import re
from typing import Any

from glmkit._json import dumps

_PIECE = re.compile(r"[A-Za-z]{1,6}|\d{1,3}|[^\sA-Za-z\d]")
_SPACE = re.compile(r"\s")
_SLICE = 1 << 20  # findall's list for a whole 50 MB text would take ~12x the text's size: count in slices
_KEEP_FROM = 256  # texts this long or longer have their count kept
_KEPT_MAX = 16384
_KEPT: dict[tuple[int, int], int] = {}
"""Counts of the longer texts seen, by (length, hash): a coding agent sends its system prompt, its tools and the
conversation so far again with every request, and counting them takes ~0.12 µs a character (~5 ms for Claude
Code's tools and system prompt) against ~0.4 ns a character to hash them. Only numbers are kept, not the texts."""


def estimate_text(text: str) -> int:
    """Estimated tokens of a text."""
    if len(text) < _KEEP_FROM:
        return len(_PIECE.findall(text)) if text else 0
    key = (len(text), hash(text))
    count = _KEPT.get(key)
    if count is None:
        if len(_KEPT) >= _KEPT_MAX:
            _KEPT.clear()
        count = _KEPT[key] = _count(text)
    return count


def _count(text: str) -> int:
    if len(text) <= _SLICE:
        return len(_PIECE.findall(text))
    total = start = 0
    while start < len(text):
        cut = _SPACE.search(text, start + _SLICE)  # no piece holds whitespace: a cut there changes no count
        end = cut.start() if cut else len(text)
        total += len(_PIECE.findall(text, start, end))
        start = end
    return total


def estimate_tools(tools: Any) -> int:
    """Estimated tokens of tool definitions: the sum of each one's compact JSON, counted as one text (one
    ``dumps``, one look-up of a known list) with the brackets and commas between them, a piece each, taken back."""
    if not isinstance(tools, list) or not tools:
        return 0
    return estimate_text(dumps(tools)) - len(tools) - 1


def estimate_messages(messages: Any) -> int:
    """Estimated prompt tokens of a message list (text parts counted; images a flat 1,000 each)."""
    total = 0
    if not isinstance(messages, list):
        return 0
    for m in messages:
        if not isinstance(m, dict):
            continue
        total += 4
        content = m.get("content")
        if isinstance(content, str):
            total += estimate_text(content)
        elif isinstance(content, list):
            for part in content:
                if not isinstance(part, dict):
                    continue
                if part.get("type") == "text":
                    total += estimate_text(str(part.get("text", "")))
                else:
                    total += 1000
        if m.get("reasoning_content"):
            total += estimate_text(str(m["reasoning_content"]))
        for call in m.get("tool_calls") or []:
            fn = call.get("function") or {}
            total += estimate_text(str(fn.get("name", ""))) + estimate_text(str(fn.get("arguments", "")))
    return total + 2
