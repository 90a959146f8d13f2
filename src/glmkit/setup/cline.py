"""Cline: provider settings live in VS Code's secret storage; MCP servers in cline_mcp_settings.json."""

from __future__ import annotations

from glmkit.setup._tool import Tool

TOOL = Tool("cline")
