"""``role: system`` inside ``messages`` (the anthropic package's SystemMessageParam, sent by Claude Code 2.1.3xx):
kept as a GLM system message in its place (translate), folded into the top-level ``system`` (passthrough)."""

from __future__ import annotations

from typing import Any

import pytest

from glmkit.emulator.chat import validate as emulator_validate
from glmkit.gateway.anthropic import TranslationError, to_chat
from glmkit.gateway.config import GatewayConfig
from glmkit.gateway.passthrough import fold_system_messages

CONFIG = GatewayConfig(ledger=False)
ENV = {"type": "text", "text": "# Environment\nPrimary working directory: /w", "cache_control": {"type": "ephemeral"}}


def body(*messages: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"model": "claude-opus-5-5", "max_tokens": 128000, "messages": list(messages), **extra}


def test_translate_keeps_a_system_message_in_its_place() -> None:
    glm, _ = to_chat(
        body(
            {"role": "user", "content": [{"type": "text", "text": "Say hello"}]},
            {"role": "system", "content": [ENV]},
            {"role": "assistant", "content": "Hello"},
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Again"},
            system=[{"type": "text", "text": "You are Claude Code."}],
        ),
        CONFIG,
    )
    assert [(m["role"], m["content"]) for m in glm["messages"]] == [
        ("system", "You are Claude Code."),
        ("user", "Say hello"),
        ("system", ENV["text"]),
        ("assistant", "Hello"),
        ("system", "Be brief."),
        ("user", "Again"),
    ]
    assert emulator_validate(glm, "coding") is None  # GLM takes system messages anywhere (reference §2.1)


def test_passthrough_folds_system_messages_into_the_top_level_system() -> None:
    out = fold_system_messages(
        body(
            {"role": "user", "content": "Say hello"},
            {"role": "system", "content": [ENV]},
            {"role": "system", "content": "Be brief."},
            system="You are Claude Code.",
        )
    )
    assert out["messages"] == [{"role": "user", "content": "Say hello"}]
    assert out["system"] == [
        {"type": "text", "text": "You are Claude Code."},
        ENV,  # cache_control kept
        {"type": "text", "text": "Be brief."},
    ]
    untouched = body({"role": "user", "content": "hi"})
    assert fold_system_messages(untouched) is untouched


def test_only_system_messages_is_a_400_naming_the_field() -> None:
    with pytest.raises(TranslationError, match="messages"):
        fold_system_messages(body({"role": "system", "content": "x"}))


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"role": "system", "content": [{"type": "image", "source": {}}]}, "messages.0.content.0"),
        ({"role": "tool", "content": "x"}, "messages.0.role"),
    ],
)
def test_malformed_system_message_names_the_field(message: dict[str, Any], field: str) -> None:
    with pytest.raises(TranslationError, match=field.replace(".", r"\.")):
        to_chat(body(message), CONFIG)
