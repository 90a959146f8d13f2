"""Crush: the zai provider in crush.json."""

from __future__ import annotations

from glmkit.setup._tool import Tool

TOOL = Tool("crush")
