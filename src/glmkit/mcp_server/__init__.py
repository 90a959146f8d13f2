"""``glm mcp``: GLM's vision, search, reader, OCR, speech and image tools for any MCP client.

Named ``mcp_server`` so that ``mcp`` always means the official SDK it is built on.
"""

from __future__ import annotations

from glmkit.mcp_server.server import GROUPS, build_server, parse_groups

__all__ = ["GROUPS", "build_server", "parse_groups"]
