"""The local token estimate (glmkit._tokens): what the gateway reports as a prompt's size and checks against the
model's window (Claude Code compacts on its answer), and what the emulator bills. Long texts come again with every
request of an agent's session and have their count kept: it must be the count of that very text, every time."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glmkit import _tokens
from glmkit._json import dumps
from glmkit._tokens import estimate_messages, estimate_text, estimate_tools

PIECE = re.compile(r"[A-Za-z]{1,6}|\d{1,3}|[^\sA-Za-z\d]")


def reference(text: str) -> int:
    return len(PIECE.findall(text))


def test_pieces_are_short_words_digit_groups_and_single_signs() -> None:
    assert estimate_text("") == 0
    assert estimate_text("hello world") == 2
    assert estimate_text("internationalization") == 4  # 20 letters in pieces of 6
    assert estimate_text("1234567") == 3
    assert estimate_text("a+b = c; é") == 7  # a + b = c ; é


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=200, max_size=2000))
def test_a_long_text_counts_the_same_first_and_again(text: str) -> None:
    expected = reference(text)
    assert estimate_text(text) == expected
    assert estimate_text("".join(list(text))) == expected  # an equal text, another object: as a new request has


ASCII = st.text(alphabet=st.sampled_from('abcXYZ0123456789 \t\n\x0b\x1c.,{}_-"\\'), min_size=32, max_size=400)


@settings(max_examples=500, deadline=None)
@given(ASCII)
def test_an_ascii_text_counts_as_the_pieces_it_has(text: str) -> None:
    """ASCII text is counted by whole-text byte operations, not the regex: the same count, run lengths of every
    size around 3 and 6 included."""
    assert estimate_text(text) == reference(text)


@pytest.mark.parametrize("run", range(1, 20))
def test_runs_of_letters_and_digits_of_every_length(run: int) -> None:
    for text in ("a" * run, "7" * run, f"x{'b' * run}.{'4' * run}y", f"{'c' * run}{'9' * run}" * 3):
        padded = text + " " * 40  # long enough to be counted as a whole text
        assert estimate_text(padded) == reference(padded)


def test_texts_of_the_same_length_are_not_confused() -> None:
    base = "word " * 100
    variants = [base[:i] + "!" + base[i + 1 :] for i in range(0, 500, 5)]  # same length, one sign more or less
    for text in [base, *variants, base]:
        assert estimate_text(text) == reference(text)


def test_what_is_kept_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_tokens, "_KEPT_MAX", 50)
    monkeypatch.setattr(_tokens, "_KEPT", {})
    texts = [f"{n} " + "lorem ipsum " * 30 for n in range(200)]
    for text in texts:
        assert estimate_text(text) == reference(text)
    assert len(_tokens._KEPT) <= 50
    assert all(isinstance(k, tuple) and isinstance(v, int) for k, v in _tokens._KEPT.items())  # no text kept


def test_a_conversation_counts_every_message() -> None:
    tool_result = "x = 1\n" * 100
    messages = [
        {"role": "system", "content": "You are a coding agent. " * 20},
        {"role": "user", "content": [{"type": "text", "text": "fix the bug"}, {"type": "image_url"}]},
        {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "read", "arguments": "{}"}}]},
        {"role": "tool", "content": tool_result},
    ]
    body = sum(reference(t) for t in ("You are a coding agent. " * 20, "fix the bug", "read", "{}", tool_result))
    assert estimate_messages(messages) == body + 1000 + 4 * len(messages) + 2
    assert estimate_messages(messages) == estimate_messages([dict(m) for m in messages])


def test_tools_count_as_the_sum_of_each_definition() -> None:
    tools = [
        {"type": "function", "function": {"name": f"tool_{n}", "description": "Reads a file. " * n, "parameters": {}}}
        for n in range(1, 30)
    ]
    assert estimate_tools(tools) == sum(reference(dumps(t)) for t in tools)
    assert estimate_tools(tools[:1]) == reference(dumps(tools[0]))
    assert estimate_tools([]) == estimate_tools(None) == 0


def test_tools_seen_again_or_changed_count_as_they_are_now() -> None:
    """The count of a tool list is kept by its JSON's bytes: the same list again counts the same, a list that
    differs by a character counts anew, and a list whose JSON is also a text's counts apart from that text."""
    tools = [{"type": "function", "function": {"name": "read", "description": "Reads a file, ünïcode too. " * 9}}]
    first = estimate_tools(tools)
    assert estimate_tools(tools) == first == reference(dumps(tools[0]))
    tools[0]["function"]["description"] += "!"
    assert estimate_tools(tools) == first + 1
    as_text = dumps(tools)
    assert estimate_text(as_text) == reference(as_text)  # a text's key never meets the list's


def test_tools_with_a_lone_surrogate_are_counted_as_text() -> None:
    """The emulator reads a body the standard way, where a string may hold a lone surrogate: no UTF-8 for it."""
    tools = [{"type": "function", "function": {"name": "look", "description": "odd \ud800 text " * 5}}]
    assert estimate_tools(tools) == reference(dumps(tools[0]))
