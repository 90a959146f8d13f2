"""Documents made in code for the OCR tests: PDFs whose pages carry known text, PNGs with a text chunk."""

from __future__ import annotations

import struct
import zlib


def text_pdf(pages: int | list[list[str]], *, compress: bool = False, object_stream: bool = False) -> bytes:
    """A real PDF (page tree, content streams, xref) whose page i shows the lines of ``pages[i]``.

    An int ``n`` gives ``n`` pages saying "Page k of n". ``object_stream`` packs the catalog, page tree
    and pages into one compressed object stream, as PDF 1.5+ writers do.
    """
    if isinstance(pages, int):
        pages = [[f"Page {k} of {pages}"] for k in range(1, pages + 1)]
    objs = {1: b"<< /Type /Catalog /Pages 2 0 R >>"}
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(len(pages)))
    objs[2] = f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} /MediaBox [0 0 612 792] >>".encode()
    for i, lines in enumerate(pages):
        shown = " ".join("(" + _escape(line) + ") Tj 0 -16 Td" for line in lines)
        stream = f"BT /F1 12 Tf 72 720 Td {shown} ET".encode("latin-1")
        flt = b""
        if compress:
            stream, flt = zlib.compress(stream), b" /Filter /FlateDecode"
        objs[3 + 2 * i] = f"<< /Type /Page /Parent 2 0 R /Contents {4 + 2 * i} 0 R >>".encode()
        objs[4 + 2 * i] = b"<< /Length %d%s >>\nstream\n" % (len(stream), flt) + stream + b"\nendstream"
    if object_stream:
        packed = [n for n in sorted(objs) if b"stream" not in objs[n]]
        head, body = b"", b""
        for n in packed:
            head += b"%d %d " % (n, len(body))
            body += objs.pop(n) + b"\n"
        data = zlib.compress(head + body)
        objs[max([*objs, *packed]) + 1] = (
            b"<< /Type /ObjStm /N %d /First %d /Length %d /Filter /FlateDecode >>\nstream\n"
            % (len(packed), len(head), len(data))
            + data
            + b"\nendstream"
        )
    out = bytearray(b"%PDF-1.5\n" if object_stream else b"%PDF-1.4\n")
    offsets = []
    for num in sorted(objs):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % num + objs[num] + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def _escape(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def text_png(width: int = 16, height: int = 8, text: str | None = None) -> bytes:
    """A real greyscale PNG; ``text`` is stored in a ``tEXt`` chunk (what the emulator "recognises")."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    body = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    if text:
        body += chunk(b"tEXt", b"Description\x00" + text.encode("latin-1"))
    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    body += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body
