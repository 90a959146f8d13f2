"""Roo Code: a provider-profile import file plus the VS Code setting that names it."""

from __future__ import annotations

from glmkit.setup._tool import Tool

TOOL = Tool("roo-code")
