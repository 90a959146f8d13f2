"""Reading media formats from their own bytes: pure functions, no I/O; of glmkit only its sibling ``_pdf``.

Image sizes from PNG/JPEG/WebP/GIF headers, WAV parameters from the RIFF chunks (the
same on every Python: ``wave`` reads WAVE_FORMAT_EXTENSIBLE only from 3.12 on), MP3 duration from the MPEG frame
headers, PDF pages (``_pdf``, re-exported here), and cutting WAV/MP3
into pieces without re-encoding. ``glmkit.media`` builds the user-facing checks on these; the
emulator uses them to judge uploads.
"""

from __future__ import annotations

import io
import struct
import wave
from dataclasses import dataclass

from glmkit._pdf import pdf_page_count

__all__ = [
    "WavParams",
    "audio_duration",
    "cut_mp3",
    "cut_wav",
    "image_size",
    "mp3_frames",
    "pdf_page_count",
    "sniff_format",
    "wav_params",
]


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
    format_tag: int = 1
    """1 PCM, 3 IEEE float, 0xFFFE extensible."""
    fmt_chunk: bytes = b""
    """The raw ``fmt `` chunk of a float or extensible file (copied into the pieces as is)."""

    @property
    def seconds(self) -> float:
        """The duration."""
        return self.frames / self.rate if self.rate else 0.0


def wav_params(data: bytes) -> WavParams:
    """The PCM parameters of a WAV file, read from its RIFF chunks (the same on every Python)."""
    return _wav(data, read=False)[0]


def _wav(data: bytes, *, read: bool) -> tuple[WavParams, bytes]:
    # The RIFF chunks are read here rather than with ``wave``: ``wave`` reads WAVE_FORMAT_EXTENSIBLE
    # from Python 3.12 on only, and the pieces cut from a file must be the same bytes on every Python.
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    pos, fmt, raw_fmt, size = 12, None, b"", None
    while pos + 8 <= len(data):
        cid, clen = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if cid == b"fmt " and clen >= 16:
            if pos + 24 > len(data):
                raise ValueError("truncated WAV header")
            fmt = struct.unpack("<HHIIHH", data[pos + 8 : pos + 24])
            raw_fmt = data[pos + 8 : pos + 8 + clen]
        elif cid == b"data":
            size = min(clen, len(data) - pos - 8)
            break
        pos += 8 + clen + (clen & 1)
    if fmt is None or size is None:
        raise ValueError("no readable fmt/data chunks")
    if fmt[0] not in (1, 3, 0xFFFE):
        raise ValueError(f"WAV encoding {fmt[0]:#06x} is compressed, not PCM")
    if not fmt[1] or fmt[5] < 8:
        raise ValueError("no channels or bits per sample in the fmt chunk")
    channels, rate, bits = fmt[1], fmt[2], fmt[5]
    width = fmt[4] // channels if fmt[4] >= channels else (bits + 7) // 8  # block align covers padded samples
    # Plain PCM pieces get a canonical header from ``wave``; the others keep their own fmt chunk.
    params = WavParams(channels, width, rate, size // (channels * width), fmt[0], b"" if fmt[0] == 1 else raw_fmt)
    return params, (data[pos + 8 : pos + 8 + size] if read else b"")


def _wav_bytes(params: WavParams, pcm: bytes) -> bytes:
    """A WAV file of ``pcm`` in the layout of ``params`` (its own fmt chunk when it had one)."""
    if not params.fmt_chunk:
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(params.channels)
            w.setsampwidth(params.sample_width)
            w.setframerate(params.rate)
            w.writeframes(pcm)
        return buf.getvalue()
    fmt = params.fmt_chunk + (b"\x00" if len(params.fmt_chunk) & 1 else b"")
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(params.fmt_chunk)) + fmt
    body += b"data" + struct.pack("<I", len(pcm)) + pcm + (b"\x00" if len(pcm) & 1 else b"")
    return b"RIFF" + struct.pack("<I", len(body)) + body


def audio_duration(data: bytes, fmt: str) -> float:
    """Seconds of a WAV (RIFF chunks) or MP3 (frame headers). Raises ``ValueError`` when unreadable."""
    if fmt == "wav":
        params = wav_params(data)
        if not params.frames:
            raise ValueError("no audio samples")
        return params.seconds
    frames = mp3_frames(data)
    if not frames:
        raise ValueError("no MPEG audio frames")
    return sum(f[2] for f in frames)


def cut_wav(data: bytes, target: float, search: float) -> list[tuple[float, float, bytes]]:
    """Cut PCM WAV into pieces of about ``target`` seconds, each ending at the quietest point of the last ``search`` s."""
    if target <= 0:
        raise ValueError("the piece length must be positive")
    params, pcm = _wav(data, read=True)
    if not params.frames:
        raise ValueError("no audio samples")
    step = params.channels * params.sample_width
    rate, total = params.rate, params.frames
    out: list[tuple[float, float, bytes]] = []
    start = 0
    while start < total:
        end = min(total, start + int(target * rate))
        if end < total:
            end = _quietest(pcm, params, max(start + 1, end - int(search * rate)), end)
        end = max(end, start + 1)  # always move on, however short the target
        out.append((start / rate, end / rate, _wav_bytes(params, pcm[start * step : end * step])))
        start = end
    return out


def _quietest(pcm: bytes, params: WavParams, lo: int, hi: int) -> int:
    """The frame in the middle of the quietest 50 ms window between frames ``lo`` and ``hi``."""
    import array
    import sys

    if params.sample_width != 2 or params.format_tag == 3:
        return hi  # 8/24/32-bit or float samples: cut at the fixed point
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


def cut_mp3(data: bytes, target: float) -> list[tuple[float, float, bytes]]:
    """Cut MPEG audio between frames into pieces of at most ``target`` seconds."""
    frames = mp3_frames(data)
    if not frames:
        raise ValueError("no MPEG audio frames")
    out: list[tuple[float, float, bytes]] = []
    begin, clock, seg_start = 0, 0.0, 0.0
    for i, (_, _, seconds) in enumerate(frames):
        if clock + seconds - seg_start > target and i > begin:
            first, last = frames[begin], frames[i - 1]
            out.append((seg_start, clock, data[first[0] : last[0] + last[1]]))
            begin, seg_start = i, clock
        clock += seconds
    first, last = frames[begin], frames[-1]
    out.append((seg_start, clock, data[first[0] : last[0] + last[1]]))
    return out
