"""Where a tool's file argument points: URLs as given, local paths made absolute against the server's cwd."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

__all__ = ["local_path", "megabytes", "source"]


def local_path(text: str) -> Path:
    """An absolute path from a path or a ``file://`` URL (``~`` expanded), so errors name the file looked for."""
    text = text.strip()
    if text.lower().startswith("file://"):
        text = unquote(urlsplit(text).path)
    return Path(text).expanduser().resolve()


def source(text: str) -> str:
    """An http(s) or data URL as given, else the absolute local path."""
    stripped = text.strip()
    if stripped.lower().startswith(("http://", "https://", "data:")):
        return stripped
    return str(local_path(stripped))


def megabytes(n: int) -> str:
    """``5242880`` -> ``"5 MB"`` (for tool descriptions written from ``data/limits.toml``)."""
    return f"{n / 1048576:g} MB"
