"""Writing files safely: whole or not at all (a temp file beside it, then a rename), and private from the first byte.

Files that hold prompts, answers or keys are created 0600 inside folders made 0700: ``private_dir`` and
``private_file`` give them those modes at creation (never a chmod after the bytes are in), and narrow
the modes of ones an older version left readable by others.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "not_a_regular_file", "private_dir", "private_file"]


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


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Make ``path`` a folder only its owner can enter: 0700 from its creation, as is every parent it creates.

    A folder that already exists and is ours loses its group and other bits (its parents are left as they
    are); one owned by someone else (a shared folder such as ``/tmp``) is left alone.
    """
    folder = Path(path)
    missing = []
    while not folder.is_dir() and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    for step in reversed(missing):
        try:
            step.mkdir(mode=0o700)  # umask can only take bits away from 0700
        except FileExistsError:
            if not step.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, "Not a folder", str(step)) from None
    folder = Path(path)
    _narrow(folder, 0o700)
    return folder


def private_file(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` empty with mode 0600 if it is missing (in a 0700 folder); an existing one is narrowed to 0600."""
    target = Path(path)
    private_dir(target.parent)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    os.close(fd)
    _narrow(target, 0o600)
    return target


def _narrow(path: Path, mode: int) -> None:
    """Drop the bits of ``path``'s mode beyond ``mode`` when we own it (POSIX only)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        st = path.stat()
        if st.st_uid == os.getuid() and st.st_mode & 0o777 & ~mode:
            os.chmod(path, st.st_mode & mode & 0o777)


_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def not_a_regular_file(path: str | os.PathLike[str]) -> str | None:
    """What ``path`` is when it exists but is no regular file (``"a folder"``, ``"a character device"``...), else None.

    Reading ``/dev/zero`` or a FIFO as a file would never end (or block): callers refuse such paths up front.
    """
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(mode):
        return None
    return next((kind for test, kind in _KINDS if test(mode)), "not a regular file")
