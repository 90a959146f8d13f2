"""Media fixtures made in code (no binary files in the repo): PNG via zlib, WAV via wave, MP3 frames by hand."""

from __future__ import annotations

import io
import math
import struct
import wave
import zlib


def png(width: int = 4, height: int = 3, *, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A real, decodable RGB PNG."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * width
    raw = zlib.compress(row * height, 9)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def jpeg_header(width: int, height: int) -> bytes:
    """The start of a baseline JPEG (SOI, APP0, SOF0): enough for a size check."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x11\x00\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def gif_header(width: int, height: int) -> bytes:
    """A GIF logical screen header."""
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00;"


def webp_vp8x(width: int, height: int) -> bytes:
    """A WebP extended header."""
    body = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little")
    body += (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def wav(seconds: float, *, rate: int = 8000, pattern: list[tuple[float, bool]] | None = None) -> bytes:
    """16-bit mono PCM: a 440 Hz tone, or ``pattern`` of (seconds, loud) pieces."""
    pattern = pattern or [(seconds, True)]
    frames = bytearray()
    n = 0
    for length, loud in pattern:
        for _ in range(round(length * rate)):
            value = int(8000 * math.sin(2 * math.pi * 440 * n / rate)) if loud else 0
            frames += struct.pack("<h", value)
            n += 1
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return buf.getvalue()


MP3_FRAME_SECONDS = 1152 / 44100


def mp3(seconds: float, *, id3: bool = True) -> bytes:
    """MPEG-1 Layer III, 128 kbit/s, 44.1 kHz frames (417 bytes each), with an ID3v2 tag in front."""
    frames = math.ceil(seconds / MP3_FRAME_SECONDS)
    frame = b"\xff\xfb\x90\x00" + b"\x00" * 413
    tag = b"ID3\x03\x00\x00" + bytes([0, 0, 0, 10]) + b"\x00" * 10 if id3 else b""
    return tag + frame * frames


def pdf(pages: int) -> bytes:
    """A minimal PDF with a page tree of ``pages`` pages."""
    kids = " ".join(f"{3 + i} 0 R" for i in range(pages))
    objs = ["<< /Type /Catalog /Pages 2 0 R >>", f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>"]
    objs += ["<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"] * pages
    out = b"%PDF-1.4\n"
    for i, body in enumerate(objs, 1):
        out += f"{i} 0 obj\n{body}\nendobj\n".encode()
    return out + b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"


def wav_raw(seconds: float, *, tag: int = 3, bits: int = 32, rate: int = 8000) -> bytes:
    """A WAV written chunk by chunk with any format tag (3: IEEE float, 0x11: IMA ADPCM, 0xFFFE: extensible)."""
    width = bits // 8
    data = b"\x00" * (round(seconds * rate) * width)
    fmt = struct.pack("<HHIIHH", tag, 1, rate, rate * width, width, bits)
    if tag == 0xFFFE:
        fmt += struct.pack("<HHI", 22, bits, 0) + b"\x01\x00\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body
