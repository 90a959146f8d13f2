"""What users pass as media, read into bytes: a path, bytes, a file object, base64, a data URL, or an http(s) URL.

``glmkit.media`` checks what this reads (format, size, pixels, duration, pages); this module only reads
and names it, so messages can say which file is at fault.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glmkit._errors import InputError

__all__ = ["MIME", "MediaInput", "data_url", "load_input"]

MIME = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "mkv": "video/x-matroska",
    "pdf": "application/pdf",
    "txt": "text/plain",
    "jsonl": "application/jsonl",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
_EXT_ALIASES = {"jpg": "jpeg", "jpe": "jpeg", "m4v": "mp4", "webm": "mkv", "mpeg": "mp3"}
_URL = re.compile(r"^https?://", re.I)
_B64 = re.compile(r"^[A-Za-z0-9+/\s]+={0,2}$")


@dataclass(frozen=True)
class MediaInput:
    """Bytes to upload (``data``) or a remote ``url``, and a name for messages."""

    data: bytes | None = field(repr=False)
    url: str | None = None
    name: str = "<bytes>"

    @property
    def size(self) -> int:
        """The size in bytes (0 for a URL)."""
        return len(self.data) if self.data is not None else 0

    @property
    def label(self) -> str:
        """The name for messages ("the input" for unnamed bytes)."""
        return "the input" if self.name.startswith("<") else self.name

    @property
    def extension(self) -> str | None:
        """The normalized extension of the name (``jpg`` reads as ``jpeg``), if it has one."""
        suffix = Path(self.name).suffix.lower().lstrip(".") if not self.name.startswith("<") else ""
        return _EXT_ALIASES.get(suffix, suffix) or None


def load_input(source: Any, *, name: str | None = None, allow_url: bool = True) -> MediaInput:
    """Read a path, bytes, a file object, base64 (or a data URL), or keep an http(s) URL as is.

    Raises:
        InputError: the file does not exist, or the source is of no known kind.
    """
    if isinstance(source, MediaInput):
        return source
    if isinstance(source, bytes | bytearray | memoryview):
        return MediaInput(bytes(source), name=name or "<bytes>")
    if isinstance(source, os.PathLike):
        return _read_path(Path(source), name)
    if hasattr(source, "read"):
        raw = source.read()
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        fname = name or os.path.basename(str(getattr(source, "name", "") or "")) or "<file>"
        return MediaInput(bytes(raw), name=fname)
    if not isinstance(source, str):
        raise InputError(f"Cannot read a {type(source).__name__}: give a path, bytes, a file object, base64 or a URL.")
    text = source.strip()
    if _URL.match(text):
        if not allow_url:
            raise InputError(
                f"This endpoint takes the file itself, not a URL ({text[:80]}).", hint="Download it first."
            )
        return MediaInput(None, url=text, name=name or text.rsplit("/", 1)[-1].split("?")[0] or text)
    if text.startswith("data:"):
        header, _, payload = text.partition(",")
        if ";base64" not in header:
            raise InputError("Only base64 data URLs are supported (data:<mime>;base64,...).")
        return MediaInput(_b64decode(payload), name=name or "<data url>")
    path = _existing_file(text)
    if path is not None:
        return _read_path(path, name)
    _refuse_special(text)
    # Base64 may contain "/" (JPEG data starts "/9j/"), so it is tried only when no such file exists.
    if len(text) >= 64 and _B64.match(text):
        return MediaInput(_b64decode(text), name=name or "<base64>")
    raise InputError(f"No such file: {text[:80]!r}.", hint="Give a path to an existing file, bytes, base64 or a URL.")


def _existing_file(text: str) -> Path | None:
    if len(text) > 4096 or "\n" in text:
        return None
    try:
        path = Path(text).expanduser()
        return path if path.is_file() else None
    except (OSError, ValueError):  # a name too long for the OS, or a NUL byte: not a path
        return None


def _refuse_special(text: str) -> None:
    """An accurate error for a path that exists but is no regular file (a folder, a FIFO, ``/dev/zero``)."""
    from glmkit._fileio import not_a_regular_file

    if len(text) <= 4096 and "\n" not in text:
        kind = not_a_regular_file(Path(text).expanduser())
        if kind is not None:
            raise InputError(f"{text} is not a regular file: it is {kind}.", hint="Give the path of a file.")


def _read_path(path: Path, name: str | None) -> MediaInput:
    if not path.is_file():
        _refuse_special(str(path))
        raise InputError(f"No such file: {str(path)!r}.", hint="Check the path.")
    return MediaInput(path.read_bytes(), name=name or path.name)


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError(f"The base64 data does not decode: {exc}.") from None


def data_url(data: bytes, mime: str) -> str:
    """``data:<mime>;base64,<...>``."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
