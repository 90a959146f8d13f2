"""Local checks before upload (format, size, pixels, duration, pages) and data-URL encoding for chat.

Every check reads the file itself, never only its name: image sizes from the PNG/JPEG/WebP/GIF
headers, WAV duration with ``wave``, MP3 duration from the frame headers, PDF pages from the page
tree. Limits live in ``data/limits.toml``. A failed check raises ``InputError`` naming the limit and
the fix, before any request is sent.

```python
from glmkit.media import image_part
client.chat.completions.create(model="glm-5v-turbo", messages=[{"role": "user", "content": [
    image_part("chart.png"), {"type": "text", "text": "What does this show?"}]}])
```
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glmkit._errors import InputError
from glmkit._formats import (
    WavParams,
    audio_duration,
    cut_mp3,
    cut_wav,
    image_size,
    mp3_frames,
    pdf_page_count,
    sniff_format,
    wav_params,
)
from glmkit._media_input import MIME, MediaInput, data_url, load_input

if TYPE_CHECKING:
    from glmkit.types.chat import ContentPartFile, ContentPartFileURL, ContentPartImage, ContentPartVideo

__all__ = [
    "MIME",
    "AudioInfo",
    "AudioSegment",
    "ImageInfo",
    "MediaInput",
    "PdfInfo",
    "VideoInfo",
    "WavParams",
    "audio_duration",
    "check_audio",
    "check_image",
    "check_pdf",
    "check_video",
    "data_url",
    "file_part",
    "image_part",
    "image_size",
    "limits",
    "load_input",
    "mp3_frames",
    "pdf_page_count",
    "sniff_format",
    "split_audio",
    "video_part",
    "wav_params",
]


def limits(section: str) -> dict[str, Any]:
    """One section of ``data/limits.toml`` (``audio``, ``image``, ``video``, ``file``, ``ocr``, ``files``, ...)."""
    from glmkit import data

    return dict(data.load("limits")[section])


def _mb(n: float) -> str:
    return f"{n / 1048576:.1f} MB" if n >= 1048576 else f"{n / 1024:.1f} KB"


# --- sniffing -----------------------------------------------------------------------------------


def _check_extension(item: MediaInput, formats: list[str], what: str, hint: str) -> None:
    ext = item.extension
    if ext is not None and ext not in formats:
        raise InputError(
            f"{item.label}: .{Path(item.name).suffix.lstrip('.')} files are not accepted for {what}; "
            f"use {', '.join(formats)}.",
            hint=hint,
        )


def _check_size(item: MediaInput, max_bytes: int, what: str, hint: str) -> None:
    if item.size > max_bytes:
        size, cap = _mb(item.size), _mb(max_bytes)
        if size == cap:  # within rounding of the limit: the exact figures say more
            size, cap = f"{size} ({item.size} bytes)", f"{cap} ({max_bytes} bytes)"
        raise InputError(f"{item.label} is {size}; {what} takes at most {cap}.", hint=hint)


def _check_content(item: MediaInput, formats: list[str], what: str) -> str:
    assert item.data is not None
    if not item.data:
        raise InputError(f"{item.label} is empty.", hint="Check that the file was written completely.")
    fmt = sniff_format(item.data)
    if fmt not in formats:
        said = f"a {fmt.upper()} file" if fmt else "not a file format glmkit recognizes"
        raise InputError(
            f"{item.label} is {said}; {what} takes {', '.join(formats)}.",
            hint="The file may be corrupt or mislabeled; convert it to one of those formats.",
        )
    return fmt


# How to fix a file of each kind: (wrong format, too large).
_REMEDIES = {
    "image": ("Convert it, e.g. to PNG or JPEG.", "Compress it (JPEG at a lower quality) or scale it down."),
    "audio": (
        "Convert it, e.g. `ffmpeg -i in.m4a out.mp3`.",
        "Compress it to MP3, or split it: client.audio.transcribe_long(...).",
    ),
    "video": ("Convert it, e.g. `ffmpeg -i in.avi out.mp4`.", "Shorten it or lower its bitrate, or pass a URL."),
    "pdf": ("Give a PDF, or an image (PNG/JPEG).", "Split the PDF into smaller files."),
}


def _load_checked(
    source: Any, name: str | None, kind: str, formats: list[str], what: str, max_bytes: int = 0
) -> tuple[MediaInput, str, bytes]:
    """Read a local file and check its extension, size (when ``max_bytes``) and content; (item, format, bytes)."""
    convert, shrink = _REMEDIES[kind]
    item = load_input(source, name=name, allow_url=False)
    _check_extension(item, formats, what, hint=convert)
    if max_bytes:
        _check_size(item, max_bytes, what, hint=shrink)
    fmt = _check_content(item, formats, what)
    assert item.data is not None
    return item, fmt, item.data


def _damaged_audio(item: MediaInput, fmt: str, exc: Exception) -> InputError:
    return InputError(
        f"{item.label} is a damaged or unsupported {fmt.upper()} file ({exc}).",
        hint="Re-export it as 16-bit PCM WAV or as MP3.",
    )


# --- images -------------------------------------------------------------------------------------


class _Typed:
    """What a checked file of a known format shares: its MIME type."""

    format: str

    @property
    def mime(self) -> str:
        """The MIME type."""
        return MIME[self.format]


@dataclass(frozen=True)
class ImageInfo(_Typed):
    """A checked image."""

    format: str
    width: int
    height: int
    data: bytes = field(repr=False)
    name: str


def check_image(
    source: Any,
    *,
    formats: list[str] | None = None,
    max_bytes: int | None = None,
    max_width: int | None = None,
    max_height: int | None = None,
    what: str = "a chat image",
    name: str | None = None,
) -> ImageInfo:
    """Check a local image (format from its header, size, pixels); defaults are the chat-vision limits.

    Raises:
        InputError: wrong format, too large, too many pixels, or unreadable.
    """
    lim = limits("image")
    formats = formats or lim["formats"]
    max_bytes = max_bytes or lim["max_bytes"]
    max_width, max_height = max_width or lim["max_width"], max_height or lim["max_height"]
    item, fmt, data = _load_checked(source, name, "image", formats, what, max_bytes)
    try:
        width, height = image_size(data)
    except (ValueError, struct.error, IndexError):
        raise InputError(
            f"{item.label} is a damaged {fmt.upper()} file (its size cannot be read).",
            hint="Re-export the image and try again.",
        ) from None
    if width > max_width or height > max_height:
        raise InputError(
            f"{item.label} is {width}x{height} px; {what} may be at most {max_width}x{max_height} px.",
            hint=f"Scale it down so neither side exceeds {max(max_width, max_height)} px.",
        )
    return ImageInfo(fmt, width, height, data, item.name)


# --- audio --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AudioInfo(_Typed):
    """A checked audio file."""

    format: str
    seconds: float
    data: bytes = field(repr=False)
    name: str


def check_audio(source: Any, *, max_seconds: float | None = None, name: str | None = None) -> AudioInfo:
    """Check audio for GLM-ASR: WAV or MP3, at most 25 MB and 30 s (duration read from the file).

    Raises:
        InputError: wrong format, too large, too long, or unreadable.
    """
    lim = limits("audio")
    limit_s = max_seconds if max_seconds is not None else lim["max_seconds"]
    what = "GLM-ASR"
    item, fmt, data = _load_checked(source, name, "audio", lim["formats"], what, lim["max_bytes"])
    try:
        seconds = audio_duration(data, fmt)
    except (ValueError, struct.error, EOFError) as exc:
        raise _damaged_audio(item, fmt, exc) from None
    if seconds > limit_s + 1e-6:
        raise InputError(
            f"{item.label} is {seconds:.1f} s long; {what} takes at most {limit_s:g} s per request.",
            hint="Use client.audio.transcribe_long(...) (or `glm transcribe`, which splits on silence).",
        )
    return AudioInfo(fmt, seconds, data, item.name)


@dataclass(frozen=True)
class AudioSegment:
    """One piece of a longer recording, ready to send on its own."""

    index: int
    start: float
    end: float
    data: bytes = field(repr=False)
    format: str


def split_audio(
    source: Any, *, max_seconds: float | None = None, target_seconds: float | None = None, name: str | None = None
) -> list[AudioSegment]:
    """Cut WAV or MP3 audio into pieces GLM-ASR accepts (≤ 30 s each) without re-encoding.

    WAV is cut at the quietest 50 ms in the last seconds before each target point (so words are rarely
    split); MP3 is cut between frames near the target point.

    Raises:
        InputError: not WAV/MP3, or unreadable.
    """
    lim = limits("audio")
    max_s = max_seconds or lim["max_seconds"]
    if target_seconds is not None and (
        isinstance(target_seconds, bool)
        or not isinstance(target_seconds, int | float)
        or not lim["segment_min_seconds"] <= target_seconds <= max_s
    ):
        raise InputError(
            f"segment_seconds must be a number of seconds from {lim['segment_min_seconds']:g} to {max_s:g}"
            f" (got {target_seconds!r}).",
            hint=f"Leave it out for {lim['segment_seconds']:g} s pieces.",
        )
    target = min(target_seconds or lim["segment_seconds"], max_s)
    search = min(lim["silence_search_seconds"], target / 2)
    item, fmt, data = _load_checked(source, name, "audio", lim["formats"], "GLM-ASR")
    try:
        cuts = cut_wav(data, target, search) if fmt == "wav" else cut_mp3(data, target)
    except (ValueError, struct.error, EOFError) as exc:
        raise _damaged_audio(item, fmt, exc) from None
    return [AudioSegment(i, start, end, piece, fmt) for i, (start, end, piece) in enumerate(cuts)]


# --- video, pdf, files --------------------------------------------------------------------------


@dataclass(frozen=True)
class VideoInfo(_Typed):
    """A checked video file."""

    format: str
    data: bytes = field(repr=False)
    name: str


def check_video(source: Any, *, max_bytes: int | None = None, name: str | None = None) -> VideoInfo:
    """Check a local video for chat: mp4, mkv or mov, under 200 MB.

    Raises:
        InputError: wrong format, too large, or not a video.
    """
    lim = limits("video")
    item, fmt, data = _load_checked(
        source, name, "video", lim["formats"], "a chat video", max_bytes or lim["max_bytes"]
    )
    return VideoInfo(fmt, data, item.name)


@dataclass(frozen=True)
class PdfInfo:
    """A checked PDF."""

    pages: int
    data: bytes = field(repr=False)
    name: str


def check_pdf(
    source: Any, *, max_bytes: int | None = None, max_pages: int | None = None, name: str | None = None
) -> PdfInfo:
    """Check a PDF for OCR: size and page count against ``[ocr]`` in limits.toml (``max_pages=0``: no page cap).

    Raises:
        InputError: not a PDF, too large, or too many pages.
    """
    lim = limits("ocr")
    what = "GLM-OCR"
    item, _, data = _load_checked(source, name, "pdf", ["pdf"], what, max_bytes or lim["pdf_max_bytes"])
    try:
        pages = pdf_page_count(data)
    except ValueError as exc:
        raise InputError(f"{item.label} is a damaged PDF ({exc}).", hint="Re-save the PDF and try again.") from None
    cap = lim["pdf_max_pages"] if max_pages is None else max_pages
    if cap and pages > cap:
        raise InputError(
            f"{item.label} has {pages} pages; {what} takes at most {cap} pages per request.",
            hint="Split it into page ranges (start_page_id/end_page_id).",
        )
    return PdfInfo(pages, data, item.name)


# --- chat content parts -------------------------------------------------------------------------


def image_part(source: Any, *, name: str | None = None) -> ContentPartImage:
    """An ``image_url`` content part: URLs pass through; local images are checked and sent as data URLs."""
    item = load_input(source, name=name)
    if item.url is not None:
        return {"type": "image_url", "image_url": {"url": item.url}}
    info = check_image(item)
    return {"type": "image_url", "image_url": {"url": data_url(info.data, info.mime)}}


def video_part(source: Any, *, name: str | None = None) -> ContentPartVideo:
    """A ``video_url`` content part (local files as data URLs, as Z.AI's own vision MCP server sends them)."""
    item = load_input(source, name=name)
    if item.url is not None:
        return {"type": "video_url", "video_url": {"url": item.url}}
    info = check_video(item)
    return {"type": "video_url", "video_url": {"url": data_url(info.data, info.mime)}}


def file_part(source: Any, *, name: str | None = None) -> ContentPartFileURL | ContentPartFile:
    """A document part: a URL as the ``file_url`` part; a local file as the late-2026 ``file`` part with ``file_data``.

    Raises:
        InputError: an extension chat does not read, or a file over 50 MB.
    """
    item = load_input(source, name=name)
    if item.url is not None:
        return {"type": "file_url", "file_url": {"url": item.url}}
    lim = limits("file")
    what = "a chat file part"
    ext = Path(item.name).suffix.lower().lstrip(".")
    if ext not in lim["extensions"]:
        raise InputError(
            f"{item.label}: chat reads {', '.join(lim['extensions'])} files, not {ext or 'files without an extension'}.",
            hint="Convert it, or pass the text itself.",
        )
    _check_size(item, lim["max_bytes"], what, hint="Split it, or upload it with client.files.create(...).")
    assert item.data is not None
    mime = MIME.get(ext, "application/octet-stream")
    return {"type": "file", "file": {"file_data": data_url(item.data, mime), "filename": item.name}}
