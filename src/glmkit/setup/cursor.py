"""Cursor: custom models live in Cursor's app database, so only MCP registration is a file edit."""

from __future__ import annotations

from glmkit.setup._tool import Tool

TOOL = Tool("cursor")
