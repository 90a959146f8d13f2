"""Writing a file so that an interruption never leaves half of it: a temp file beside it, then a rename."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write"]


def atomic_write(path: str | os.PathLike[str], data: bytes | str, *, mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and an atomic rename.

    ``mode`` defaults to the existing file's mode, or 0644 for a new file (``mkstemp`` would leave 0600);
    pass 0o600 for files holding a key. A symlink is followed, so a linked dotfile stays a link.
    Text is written as UTF-8 without newline translation.
    """
    target = Path(path).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    if mode is None:
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
