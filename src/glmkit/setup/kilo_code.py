"""Kilo Code: the `kilo` CLI's kilo.json(c), OpenCode's zai-coding-plan provider with the base URL set."""

from __future__ import annotations

from glmkit.setup._tool import Tool

TOOL = Tool("kilo-code")
