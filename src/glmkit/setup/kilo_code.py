"""Kilo Code: as Roo Code (a fork of it), with its own setting and storage names."""

from __future__ import annotations

from glmkit.setup._tool import Tool

TOOL = Tool("kilo-code")
