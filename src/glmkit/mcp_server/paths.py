"""Where a tool's file argument points: URLs as given, local paths made absolute against the server's cwd,
and refused when they leave the folders the server may use.

Those folders are the roots the MCP client declares (the roots capability) plus the ``--root`` folders,
or, when the client declares none, the ``--root`` folders alone (default: the working folder). ``guard``
sets them for each tool call (``allowed_roots``); a path is checked after symlinks are resolved, so a link
inside a root that points outside it is refused too. Outside a tool call nothing is confined.
"""

from __future__ import annotations

import contextvars
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

__all__ = ["allowed_roots", "local_path", "megabytes", "source"]

# The folders the current tool call may read and write; None outside a call (a direct library use).
allowed_roots: contextvars.ContextVar[Sequence[Path] | None] = contextvars.ContextVar("glmkit_mcp_roots", default=None)


def local_path(text: str) -> Path:
    """An absolute path from a path or a ``file://`` URL (``~`` expanded), so errors name the file looked for.

    Raises:
        InputError: the path (or the file a link in it points to) is outside the allowed roots.
    """
    text = text.strip()
    if text.lower().startswith("file://"):
        text = unquote(urlsplit(text).path)
    given = Path(text).expanduser()
    path = given.resolve()
    roots = allowed_roots.get()
    if roots is not None and not any(path.is_relative_to(root) for root in roots):
        from glmkit._errors import InputError

        shown = f"{text} (which leads to {path})" if given.absolute() != path else str(path)
        folders = ", ".join(str(r) for r in roots)
        raise InputError(
            f"{shown} is outside the folders this MCP server may use: {folders}.",
            hint=f"Start glm mcp with --root {path.parent} (repeatable) to allow that folder, or move the file "
            "into one of them.",
        )
    return path


def source(text: str) -> str:
    """An http(s) or data URL as given, else the absolute local path."""
    stripped = text.strip()
    if stripped.lower().startswith(("http://", "https://", "data:")):
        return stripped
    return str(local_path(stripped))


def megabytes(n: int) -> str:
    """``5242880`` -> ``"5 MB"`` (for tool descriptions written from ``data/limits.toml``)."""
    return f"{n / 1048576:g} MB"
