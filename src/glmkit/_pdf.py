"""A PDF's page count from its own bytes: the page tree's ``/Count``, compressed object streams included.

Pure functions, no I/O and no glmkit imports (``_formats`` re-exports ``pdf_page_count``).
"""

from __future__ import annotations

import bisect
import re
import zlib

__all__ = ["pdf_page_count"]

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


_DICT_MARK = re.compile(rb"<<|>>")


def _pages_counts(body: bytes) -> list[bytes]:
    """The ``/Count`` of each ``/Type /Pages`` dict, read inside that dict only (outlines have a /Count too)."""
    marks = [(m.start(), m.group()) for m in _DICT_MARK.finditer(body)] if _PAGES_DICT.search(body) else []
    out = []
    for m in _PAGES_DICT.finditer(body):
        span = _enclosing_dict(marks, m.start())
        # Only the dict's own entries: nested dicts (/Resources ...) are cut out before searching. A dict
        # that cannot be delimited (a damaged file) falls back to the text around the /Type key.
        own = _own_entries(marks, body, *span) if span else body[max(0, m.start() - 300) : m.end() + 300]
        out.extend(_COUNT.findall(own))
    return out


def _enclosing_dict(marks: list[tuple[int, bytes]], at: int) -> tuple[int, int] | None:
    """(start, end) of the innermost ``<< ... >>`` around offset ``at``."""
    i = bisect.bisect_left(marks, (at, b""))
    depth, start = 0, None
    for pos, mark in reversed(marks[:i]):
        if mark == b">>":
            depth += 1
        elif depth:
            depth -= 1
        else:
            start = pos
            break
    if start is None:
        return None
    depth = 0
    for pos, mark in marks[i:]:
        if mark == b"<<":
            depth += 1
        elif depth:
            depth -= 1
        else:
            return start, pos + 2
    return None


def _own_entries(marks: list[tuple[int, bytes]], body: bytes, start: int, end: int) -> bytes:
    inner = marks[bisect.bisect_right(marks, (start, b">>")) : bisect.bisect_left(marks, (end - 2, b""))]
    parts, depth, last = [], 0, start + 2
    for pos, mark in inner:
        if mark == b"<<":
            if depth == 0:
                parts.append(body[last:pos])
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                last = pos + 2
    parts.append(body[last : end - 2] if depth == 0 else b"")
    return b" ".join(parts)


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
