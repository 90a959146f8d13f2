"""JSON as the wire wants it, written once: compact text that keeps non-ASCII, and a per-chunk reader.

``dumps`` is ``json.dumps(..., ensure_ascii=False, separators=(",", ":"))`` without the keyword handling per call
(one encoder, made here). ``loads`` reads one stream chunk's UTF-8 bytes through the C scanner: the same value
``json.loads`` gives, without its three Python frames (encoding detection, ``decode``, ``raw_decode``), which is
most of what a relay spends per chunk; anything unusual (leading whitespace, another encoding, trailing data, not
JSON) goes the full way, so the errors are ``json.loads``'s own.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["dumps", "loads"]

dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_SCAN = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # the C scanner (not in the stubs)


def loads(data: bytes | str) -> Any:
    """``json.loads(data)``, faster for a JSON value that starts at the first byte."""
    try:
        text = data.decode() if isinstance(data, bytes) else data
        value, end = _SCAN(text, 0)
    except (StopIteration, UnicodeDecodeError):
        return json.loads(data)  # leading whitespace, another encoding, or not JSON: the full path says why
    if end != len(text) and text[end:].strip():
        return json.loads(data)  # extra data after the value: json.loads raises
    return value
