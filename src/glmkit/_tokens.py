"""A local token estimate, shared by the emulator (usage, /tokenizer) and the gateway (message_start).

GLM's tokenizer is not available offline; this counts word pieces and punctuation, which lands
within a few percent of it on English prose and over-counts code slightly (a safe direction).
"""

from __future__ import annotations

import re
from typing import Any

from glmkit._json import dumpb, dumps

_PIECE = re.compile(r"[A-Za-z]{1,6}|\d{1,3}|[^\sA-Za-z\d]")
_SPACE = re.compile(r"\s")
_SLICE = 1 << 20  # findall's list for a whole 50 MB text would take ~12x the text's size: count in slices
_KEEP_FROM = 32  # texts this long or longer have their count kept
_KEPT_MAX = 16384
_KEPT: dict[tuple[int, int], int] = {}
"""Counts of the texts seen, by (length, hash): a coding agent sends its system prompt, its tools and the
conversation so far again with every request; hashing a text costs ~0.4 ns a character, counting it ~25 ns
(ASCII) to ~110 ns (other text). Only numbers are kept, not the texts."""

# Each ASCII character as the class _PIECE gives it: b"a" a letter, b"1" a digit, b" " whitespace, b"." a sign.
_CLASSES = (
    bytes(
        ord("a" if c.isalpha() else "1" if re.fullmatch(r"\d", c) else " " if re.fullmatch(r"\s", c) else ".")
        for c in map(chr, range(128))
    )
    + b"." * 128
)  # (bytes.translate takes a table of 256; an ASCII text has none of these)


def estimate_text(text: str) -> int:
    """Estimated tokens of a text: its pieces, runs of up to 6 ASCII letters, runs of up to 3 digits, and every
    other character that is not whitespace."""
    if len(text) < _KEEP_FROM:
        return _count(text)
    key = (len(text), hash(text))
    count = _KEPT.get(key)
    if count is None:
        count = _keep(key, _ascii_count(text) if text.isascii() else _count(text))
    return count


def _keep(key: tuple[int, int], count: int) -> int:
    """``count`` kept under ``key`` (the store emptied when full), and returned."""
    if len(_KEPT) >= _KEPT_MAX:
        _KEPT.clear()
    _KEPT[key] = count
    return count


def _ascii_count(text: str) -> int:
    """``_PIECE``'s count of an ASCII text from whole-text byte operations (4-5x quicker than the regex).

    A run of L letters is ceil(L/6) pieces: the whole groups of six (removed from the text), plus one for each run
    with letters left over (a run still there once the groups are gone, counted where it starts). Digits the same
    in threes, counted on the text before the letters were taken out (so no two runs of digits join)."""
    shape = (" " + text).encode("ascii").translate(_CLASSES)
    signs = shape.count(b".")
    letters = shape.replace(b"aaaaaa", b"")
    digits = shape.replace(b"111", b"")
    return (
        signs
        + (len(shape) - len(letters)) // 6
        + letters.count(b" a")
        + letters.count(b".a")
        + letters.count(b"1a")
        + (len(shape) - len(digits)) // 3
        + digits.count(b" 1")
        + digits.count(b".1")
        + digits.count(b"a1")
    )


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
    """Estimated tokens of tool definitions: the sum of each one's compact JSON, counted as one text (one dump
    to JSON bytes, one look-up of a known list by those bytes) with the brackets and commas between them, a piece
    each, taken back."""
    if not isinstance(tools, list) or not tools:
        return 0
    try:
        raw = dumpb(tools)
    except UnicodeEncodeError:  # a lone surrogate (JSON may carry one, UTF-8 cannot): counted as text
        return estimate_text(dumps(tools)) - len(tools) - 1
    key = (-len(raw), hash(raw))  # the JSON's bytes, not decoded again for a list seen before (no text's key is < 0)
    count = _KEPT.get(key)
    if count is None:
        count = _keep(key, estimate_text(raw.decode()))
    return count - len(tools) - 1


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
