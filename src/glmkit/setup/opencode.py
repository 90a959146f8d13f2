"""OpenCode: the zai-coding-plan provider in opencode.json."""

from __future__ import annotations

from glmkit.setup._tool import Tool

TOOL = Tool("opencode")
