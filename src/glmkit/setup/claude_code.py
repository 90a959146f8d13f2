"""Claude Code: the env block of settings.json, Anthropic-compatible endpoint (reference §15 errata 1)."""

from __future__ import annotations

from glmkit.setup._tool import Tool

TOOL = Tool("claude-code")
