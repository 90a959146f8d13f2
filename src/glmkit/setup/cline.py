"""Cline: the CLI's providers.json (OpenAI-compatible provider); steps for the VS Code extension's secret storage."""

from __future__ import annotations

from glmkit.setup._tool import Tool

TOOL = Tool("cline")
