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

import base64
import binascii
import io
import os
import re
import struct
import wave
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glmkit._errors import InputError

__all__ = [
    "AudioInfo",
    "AudioSegment",
    "ImageInfo",
    "MediaInput",
    "PdfInfo",
    "VideoInfo",
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


def limits(section: str) -> dict[str, Any]:
    """One section of ``data/limits.toml`` (``audio``, ``image``, ``video``, ``file``, ``ocr``, ``files``, ...)."""
    from glmkit import data

    return dict(data.load("limits")[section])


def _mb(n: float) -> str:
    return f"{n / 1048576:.1f} MB" if n >= 1048576 else f"{n / 1024:.1f} KB"


# --- loading ------------------------------------------------------------------------------------


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


def _read_path(path: Path, name: str | None) -> MediaInput:
    if not path.is_file():
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


# --- sniffing -----------------------------------------------------------------------------------


def sniff_format(data: bytes) -> str | None:
    """The format the bytes themselves say: png, jpeg, webp, gif, wav, mp3, pdf, mp4, mov, mkv, zip, ole."""
    head = data[:16]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "wav"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head[4:8] == b"ftyp":
        return "mov" if head[8:12] == b"qt  " else "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "mkv"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "ole"
    if head.startswith(b"ID3") or (len(data) >= 4 and _mp3_header(data, 0) is not None):
        return "mp3"
    return None


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
        raise InputError(f"{item.label} is {_mb(item.size)}; {what} takes at most {_mb(max_bytes)}.", hint=hint)


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


# --- images -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageInfo:
    """A checked image."""

    format: str
    width: int
    height: int
    data: bytes = field(repr=False)
    name: str

    @property
    def mime(self) -> str:
        """The MIME type."""
        return MIME[self.format]


def image_size(data: bytes) -> tuple[int, int]:
    """``(width, height)`` from a PNG, JPEG, WebP or GIF header. Raises ``ValueError`` when unreadable."""
    fmt = sniff_format(data)
    if fmt == "png" and len(data) >= 24 and data[12:16] == b"IHDR":
        w, h = struct.unpack(">II", data[16:24])
        return w, h
    if fmt == "gif" and len(data) >= 10:
        w, h = struct.unpack("<HH", data[6:10])
        return w, h
    if fmt == "webp" and len(data) >= 30:
        kind = data[12:16]
        if kind == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
            w, h = struct.unpack("<HH", data[26:30])
            return w & 0x3FFF, h & 0x3FFF
        if kind == b"VP8L" and data[20] == 0x2F:
            b0, b1, b2, b3 = data[21:25]
            return 1 + (((b1 & 0x3F) << 8) | b0), 1 + (((b3 & 0x0F) << 10) | (b2 << 2) | ((b1 & 0xC0) >> 6))
        if kind == b"VP8X":
            return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if fmt == "jpeg":
        return _jpeg_size(data)
    raise ValueError("no readable image header")


def _jpeg_size(data: bytes) -> tuple[int, int]:
    pos, n = 2, len(data)
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            pos += 1
            continue
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC) and pos + 9 <= n:
            h, w = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return w, h
        pos += 2 + length
    raise ValueError("no JPEG frame header")


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
    item = load_input(source, name=name, allow_url=False)
    _check_extension(item, formats, what, hint="Convert it, e.g. to PNG or JPEG.")
    _check_size(item, max_bytes, what, hint="Compress it (JPEG at a lower quality) or scale it down.")
    fmt = _check_content(item, formats, what)
    assert item.data is not None
    try:
        width, height = image_size(item.data)
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
    return ImageInfo(fmt, width, height, item.data, item.name)


# --- audio --------------------------------------------------------------------------------------

_BITRATES = {
    (3, 3): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (3, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (3, 1): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (2, 3): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (2, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_BITRATES[(2, 1)] = _BITRATES[(2, 2)]
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mp3_header(data: bytes, pos: int) -> tuple[int, float] | None:
    """``(frame length, seconds)`` of the MPEG audio frame header at ``pos``, or ``None``."""
    if pos + 4 > len(data) or data[pos] != 0xFF or data[pos + 1] & 0xE0 != 0xE0:
        return None
    b1, b2 = data[pos + 1], data[pos + 2]
    version, layer = (b1 >> 3) & 3, (b1 >> 1) & 3  # version 3 = MPEG1, 2 = MPEG2, 0 = MPEG2.5; layer 3 = I
    br_index, sr_index, padding = b2 >> 4, (b2 >> 2) & 3, (b2 >> 1) & 1
    if version == 1 or layer == 0 or br_index in (0, 15) or sr_index == 3:
        return None
    bitrate = _BITRATES[(3 if version == 3 else 2, layer)][br_index] * 1000
    rate = _RATES[version][sr_index]
    if layer == 3:  # Layer I
        return (12 * bitrate // rate + padding) * 4, 384 / rate
    samples = 1152 if (layer == 2 or version == 3) else 576
    return samples // 8 * bitrate // rate + padding, samples / rate


def mp3_frames(data: bytes) -> list[tuple[int, int, float]]:
    """The MPEG audio frames as ``(offset, length, seconds)``; ID3 tags and junk between frames skipped."""
    pos, n = 0, len(data)
    if data.startswith(b"ID3") and n >= 10:
        size = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]
        pos = 10 + size + (10 if data[5] & 0x10 else 0)
    frames: list[tuple[int, int, float]] = []
    while pos + 4 <= n:
        header = _mp3_header(data, pos)
        if header is not None:
            length, seconds = header
            nxt = pos + length
            in_sync = bool(frames) and frames[-1][0] + frames[-1][1] == pos
            # Out of sync, a header must be followed by another one (or the end) to count.
            if nxt <= n and (in_sync or nxt == n or _mp3_header(data, nxt) is not None):
                frames.append((pos, length, seconds))
                pos = nxt
                continue
        pos += 1
    return frames


@dataclass(frozen=True)
class WavParams:
    """What ``transcribe_long`` needs to cut a WAV: PCM layout and where the samples are."""

    channels: int
    sample_width: int
    rate: int
    frames: int

    @property
    def seconds(self) -> float:
        """The duration."""
        return self.frames / self.rate if self.rate else 0.0


def wav_params(data: bytes) -> WavParams:
    """The PCM parameters of a WAV file, read with ``wave`` (RIFF chunks for WAVE_FORMAT_EXTENSIBLE)."""
    return _wav(data, read=False)[0]


def _wav(data: bytes, *, read: bool) -> tuple[WavParams, bytes]:
    try:
        with wave.open(io.BytesIO(data)) as w:
            params = WavParams(w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes())
            return params, (w.readframes(params.frames) if read else b"")
    except wave.Error:
        pass  # Python 3.11's wave rejects WAVE_FORMAT_EXTENSIBLE: read the chunks ourselves
    except EOFError as exc:
        raise ValueError("truncated WAV header") from exc
    pos, fmt, size = 12, None, None
    while pos + 8 <= len(data):
        cid, clen = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if cid == b"fmt " and clen >= 16:
            fmt = struct.unpack("<HHIIHH", data[pos + 8 : pos + 24])
        elif cid == b"data":
            size = min(clen, len(data) - pos - 8)
            break
        pos += 8 + clen + (clen & 1)
    if fmt is None or size is None or fmt[0] not in (1, 0xFFFE) or not fmt[1] or not fmt[5]:
        raise ValueError("not a PCM WAV file")
    channels, rate, bits = fmt[1], fmt[2], fmt[5]
    width = bits // 8
    params = WavParams(channels, width, rate, size // (channels * width))
    return params, (data[pos + 8 : pos + 8 + size] if read else b"")


@dataclass(frozen=True)
class AudioInfo:
    """A checked audio file."""

    format: str
    seconds: float
    data: bytes = field(repr=False)
    name: str

    @property
    def mime(self) -> str:
        """The MIME type."""
        return MIME[self.format]


def audio_duration(data: bytes, fmt: str) -> float:
    """Seconds of a WAV (``wave``) or MP3 (frame headers). Raises ``ValueError`` when unreadable."""
    if fmt == "wav":
        params = wav_params(data)
        if not params.frames:
            raise ValueError("no audio samples")
        return params.seconds
    frames = mp3_frames(data)
    if not frames:
        raise ValueError("no MPEG audio frames")
    return sum(f[2] for f in frames)


def check_audio(source: Any, *, max_seconds: float | None = None, name: str | None = None) -> AudioInfo:
    """Check audio for GLM-ASR: WAV or MP3, at most 25 MB and 30 s (duration read from the file).

    Raises:
        InputError: wrong format, too large, too long, or unreadable.
    """
    lim = limits("audio")
    limit_s = max_seconds if max_seconds is not None else lim["max_seconds"]
    item = load_input(source, name=name, allow_url=False)
    what = "GLM-ASR"
    _check_extension(item, lim["formats"], what, hint="Convert it, e.g. `ffmpeg -i in.m4a out.mp3`.")
    _check_size(
        item, lim["max_bytes"], what, hint="Compress it to MP3, or split it: client.audio.transcribe_long(...)."
    )
    fmt = _check_content(item, lim["formats"], what)
    assert item.data is not None
    try:
        seconds = audio_duration(item.data, fmt)
    except (ValueError, struct.error, EOFError) as exc:
        raise InputError(
            f"{item.label} is a damaged {fmt.upper()} file ({exc}).", hint="Re-export the audio and try again."
        ) from None
    if seconds > limit_s + 1e-6:
        raise InputError(
            f"{item.label} is {seconds:.1f} s long; {what} takes at most {limit_s:g} s per request.",
            hint="Use client.audio.transcribe_long(...) (or `glm transcribe`, which splits on silence).",
        )
    return AudioInfo(fmt, seconds, item.data, item.name)


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
    target = min(target_seconds or lim["segment_seconds"], max_s)
    search = min(lim["silence_search_seconds"], target / 2)
    item = load_input(source, name=name, allow_url=False)
    _check_extension(item, lim["formats"], "GLM-ASR", hint="Convert it, e.g. `ffmpeg -i in.m4a out.wav`.")
    fmt = _check_content(item, lim["formats"], "GLM-ASR")
    assert item.data is not None
    try:
        if fmt == "wav":
            return _split_wav(item.data, target, search)
        return _split_mp3(item.data, target)
    except (ValueError, struct.error, EOFError) as exc:
        raise InputError(f"{item.label} is a damaged {fmt.upper()} file ({exc}).") from None


def _split_wav(data: bytes, target: float, search: float) -> list[AudioSegment]:
    params, pcm = _wav(data, read=True)
    if not params.frames:
        raise ValueError("no audio samples")
    step = params.channels * params.sample_width
    rate, total = params.rate, params.frames
    out: list[AudioSegment] = []
    start = 0
    while start < total:
        end = min(total, start + int(target * rate))
        if end < total:
            end = _quietest(pcm, params, max(start + 1, end - int(search * rate)), end)
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(params.channels)
            w.setsampwidth(params.sample_width)
            w.setframerate(rate)
            w.writeframes(pcm[start * step : end * step])
        out.append(AudioSegment(len(out), start / rate, end / rate, buf.getvalue(), "wav"))
        start = end
    return out


def _quietest(pcm: bytes, params: WavParams, lo: int, hi: int) -> int:
    """The frame in the middle of the quietest 50 ms window between frames ``lo`` and ``hi``."""
    import array
    import sys

    if params.sample_width != 2:
        return hi  # 8/24/32-bit PCM: cut at the fixed point
    step = params.channels * 2
    window = max(1, params.rate // 20)
    best, best_at = None, hi
    for at in range(lo, hi - window + 1, window):
        samples = array.array("h", pcm[at * step : (at + window) * step])
        if sys.byteorder == "big":
            samples.byteswap()
        energy = sum(x * x for x in samples)
        if best is None or energy <= best:  # ties go to the later window: longer segments, fewer calls
            best, best_at = energy, at + window // 2
    return best_at


def _split_mp3(data: bytes, target: float) -> list[AudioSegment]:
    frames = mp3_frames(data)
    if not frames:
        raise ValueError("no MPEG audio frames")
    out: list[AudioSegment] = []
    begin, clock, seg_start = 0, 0.0, 0.0
    for i, (_, _, seconds) in enumerate(frames):
        if clock + seconds - seg_start > target and i > begin:
            first, last = frames[begin], frames[i - 1]
            out.append(AudioSegment(len(out), seg_start, clock, data[first[0] : last[0] + last[1]], "mp3"))
            begin, seg_start = i, clock
        clock += seconds
    first, last = frames[begin], frames[-1]
    out.append(AudioSegment(len(out), seg_start, clock, data[first[0] : last[0] + last[1]], "mp3"))
    return out


# --- video, pdf, files --------------------------------------------------------------------------


@dataclass(frozen=True)
class VideoInfo:
    """A checked video file."""

    format: str
    data: bytes = field(repr=False)
    name: str

    @property
    def mime(self) -> str:
        """The MIME type."""
        return MIME[self.format]


def check_video(source: Any, *, max_bytes: int | None = None, name: str | None = None) -> VideoInfo:
    """Check a local video for chat: mp4, mkv or mov, under 200 MB.

    Raises:
        InputError: wrong format, too large, or not a video.
    """
    lim = limits("video")
    item = load_input(source, name=name, allow_url=False)
    what = "a chat video"
    _check_extension(item, lim["formats"], what, hint="Convert it, e.g. `ffmpeg -i in.avi out.mp4`.")
    _check_size(item, max_bytes or lim["max_bytes"], what, hint="Shorten it or lower its bitrate, or pass a URL.")
    fmt = _check_content(item, lim["formats"], what)
    assert item.data is not None
    return VideoInfo(fmt, item.data, item.name)


_COUNT = re.compile(rb"/Count\s+(\d+)")
_PAGES_DICT = re.compile(rb"/Type\s*/Pages\b")
_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")
_STREAM = re.compile(rb"<<(.{0,400}?)>>\s*stream\r?\n", re.S)


def pdf_page_count(data: bytes) -> int:
    """Pages in a PDF, from the page tree's ``/Count`` (compressed object streams included).

    Falls back to counting ``/Type /Page`` objects. Raises ``ValueError`` for something that is not a PDF.
    """
    if not data.startswith(b"%PDF-"):
        raise ValueError("not a PDF (no %PDF- header)")
    bodies = [data, *_object_streams(data)]
    counts = [int(m) for body in bodies for m in _pages_counts(body)]
    if counts:
        return max(counts)
    pages = sum(len(_PAGE.findall(body)) for body in bodies)
    if not pages:
        raise ValueError("no pages found")
    return pages


def _pages_counts(body: bytes) -> list[bytes]:
    out = []
    for m in _PAGES_DICT.finditer(body):
        # The /Count of a /Pages dict sits within that dict: look a little around the /Type key.
        window = body[max(0, m.start() - 300) : m.end() + 300]
        out.extend(_COUNT.findall(window))
    return out


def _object_streams(data: bytes) -> list[bytes]:
    out = []
    for m in _STREAM.finditer(data):
        if b"/FlateDecode" not in m.group(1):
            continue
        start = m.end()
        end = data.find(b"endstream", start)
        if end < 0:
            continue
        try:
            out.append(zlib.decompressobj().decompress(data[start:end], 10_000_000))
        except zlib.error:
            continue
    return out


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
    item = load_input(source, name=name, allow_url=False)
    what = "GLM-OCR"
    _check_extension(item, ["pdf"], what, hint="Give a PDF, or an image (PNG/JPEG).")
    _check_size(item, max_bytes or lim["pdf_max_bytes"], what, hint="Split the PDF into smaller files.")
    _check_content(item, ["pdf"], what)
    assert item.data is not None
    try:
        pages = pdf_page_count(item.data)
    except ValueError as exc:
        raise InputError(f"{item.label} is a damaged PDF ({exc}).", hint="Re-save the PDF and try again.") from None
    cap = lim["pdf_max_pages"] if max_pages is None else max_pages
    if cap and pages > cap:
        raise InputError(
            f"{item.label} has {pages} pages; {what} takes at most {cap} pages per request.",
            hint="Split it into page ranges (start_page_id/end_page_id).",
        )
    return PdfInfo(pages, item.data, item.name)


# --- chat content parts -------------------------------------------------------------------------


def image_part(source: Any, *, name: str | None = None) -> dict[str, Any]:
    """An ``image_url`` content part: URLs pass through; local images are checked and sent as data URLs."""
    item = load_input(source, name=name)
    if item.url is not None:
        return {"type": "image_url", "image_url": {"url": item.url}}
    info = check_image(item)
    return {"type": "image_url", "image_url": {"url": data_url(info.data, info.mime)}}


def video_part(source: Any, *, name: str | None = None) -> dict[str, Any]:
    """A ``video_url`` content part (local files as data URLs, as Z.AI's own vision MCP server sends them)."""
    item = load_input(source, name=name)
    if item.url is not None:
        return {"type": "video_url", "video_url": {"url": item.url}}
    info = check_video(item)
    return {"type": "video_url", "video_url": {"url": data_url(info.data, info.mime)}}


def file_part(source: Any, *, name: str | None = None) -> dict[str, Any]:
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
