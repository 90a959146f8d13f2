"""Long answers: written to a file, with a preview and the path for the agent; never cut off silently."""

from __future__ import annotations

import os
import time
from pathlib import Path

from glmkit._fileio import atomic_write
from glmkit.mcp_server.paths import local_path

__all__ = ["INLINE_MAX_CHARS", "check_target", "deliver", "write_text"]

# About 15k tokens: one tool result stays well under Claude Code's default cap of 25k tokens.
INLINE_MAX_CHARS = 60_000
PREVIEW_CHARS = 2_000


def write_text(path: Path, text: str) -> None:
    """Write beside the target and rename, so a failure never leaves half a file."""
    atomic_write(path, text)


def check_target(save_to: str | None) -> Path | None:
    """The resolved ``save_to`` path, refused if a file is already there (checked before any request is paid for).

    Raises:
        InputError: the path exists, or is a folder.
    """
    if not save_to:
        return None
    from glmkit._errors import InputError

    target = local_path(save_to)
    if target.is_dir():
        raise InputError(f"save_to {target} is a folder.", hint="Give a file name, e.g. notes.md.")
    if target.exists():
        raise InputError(f"save_to {target} already exists.", hint="Choose a new file name (nothing was overwritten).")
    return target


def _preview(text: str) -> str:
    piece = text[:PREVIEW_CHARS]
    rest = len(text) - len(piece)
    return piece + (f"\n\n[... {rest} more characters in the file]" if rest else "")


def deliver(text: str, *, what: str, save_to: str | None = None, name: str = "output") -> str:
    """``text`` itself, or, when asked (``save_to``) or too long to return, a file path and a preview.

    Args:
        text: the whole answer.
        what: what it is, for the message ("Markdown (12 pages)", "transcript").
        save_to: a path the agent named; relative paths resolve against the server's working directory.
        name: a stem for the file made under the data folder when the text is too long.
    """
    if save_to:
        target = local_path(save_to)
        write_text(target, text)
        return f"Wrote {len(text)} characters of {what} to {target}.\n\n{_preview(text)}"
    if len(text) <= INLINE_MAX_CHARS:
        return text
    from glmkit._config import data_dir
    from glmkit._fileio import private_dir

    folder = private_dir(data_dir() / "mcp-output")
    target = folder / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.md"
    atomic_write(target, text, mode=0o600)  # a document or transcript the server chose to keep: private
    return (
        f"The {what} is {len(text)} characters, too long for one answer: all of it is in {target} "
        f"(read it in parts, or pass save_to next time).\n\n{_preview(text)}"
    )
