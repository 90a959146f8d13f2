"""JSON as the wire wants it, written once: compact UTF-8 text that keeps non-ASCII, read and written fast.

The encoding and decoding go through orjson when it is installed (a runtime dependency on CPython): the bodies
coding agents send are 10-60 KB, which the standard library's encoder takes 0.3-0.6 ms to write and orjson 3-5% of
that, and its reader half the time. The standard library stays the reference: what orjson refuses (integers beyond
64 bits and keys that are not strings when writing; lone surrogates, NaN and Infinity when reading) or would
change (an integer beyond 64 bits, which it reads as a float) goes the standard way, so values, errors and their
messages are ``json.dumps``'s and ``json.loads``'s. Where orjson writes what the standard library would not (NaN
and Infinity as ``null``, which is valid JSON; dataclasses, dates) it is kept. ``dumps`` is ``json.dumps(...,
ensure_ascii=False, separators=(",", ":"))``; ``dumpb`` the same as UTF-8 bytes (what goes on the wire), without an
encode of the text.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["dumpb", "dumps", "loads", "loads_text"]

_std_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_SCAN = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # the C scanner (not in the stubs)


def _std_loads(data: bytes | str) -> Any:
    """``json.loads(data)``, with the C scanner straight for a JSON value that starts at the first byte."""
    try:
        text = data.decode() if isinstance(data, bytes) else data
        value, end = _SCAN(text, 0)
    except (StopIteration, UnicodeDecodeError):
        return json.loads(data)  # leading whitespace, another encoding, or not JSON: the full path says why
    if end != len(text) and text[end:].strip():
        return json.loads(data)  # extra data after the value: json.loads raises
    return value


def _std_loads_text(raw: bytes) -> Any:
    value = _std_loads(raw)
    if b"\\u" in raw:  # a lone surrogate can only come as an escape
        dumpb(value)  # raises UnicodeEncodeError where a string holds one
    return value


try:
    import orjson
except ImportError:  # not built for this interpreter: the standard library alone

    def loads(data: bytes | str) -> Any:
        """``json.loads(data)``."""
        return _std_loads(data)

    def dumpb(value: Any) -> bytes:
        """Compact JSON as UTF-8 bytes."""
        return _std_dumps(value).encode()

    def dumps(value: Any) -> str:
        """Compact JSON text, non-ASCII kept."""
        return _std_dumps(value)

    def loads_text(raw: bytes) -> Any:
        """``loads`` for a body whose strings must go on as UTF-8; see the other definition."""
        return _std_loads_text(raw)

else:
    _fast_loads = orjson.loads
    _fast_dumps = orjson.dumps
    _Refused = orjson.JSONDecodeError
    _Unwritable = orjson.JSONEncodeError

    # Each digit to b"1", what may come before a number (",:[-", whitespace) to b"2", the rest to b"0": a number
    # of 19 digits or more shows as b"2" and 19 b"1" (or 19 b"1" at the start). Digits after a quote or a letter
    # (a device id in a string) do not count.
    _DIGITS = bytes(49 if 48 <= i <= 57 else 50 if i in b",:[- \t\r\n" else 48 for i in range(256))
    _RUN = b"1" * 19
    _LONG = b"2" + _RUN  # the shortest number that can be an integer beyond 64 bits

    def _may_overflow(raw: bytes) -> bool:
        shape = raw.translate(_DIGITS)
        return _LONG in shape or shape.startswith(_RUN)

    def loads(data: bytes | str) -> Any:
        """``json.loads(data)``: orjson's reading, the standard library's for what orjson refuses or would change."""
        raw = data.encode(errors="surrogatepass") if isinstance(data, str) else data
        if _may_overflow(raw):
            return _std_loads(data)  # maybe an integer beyond 64 bits, which orjson reads as a float
        try:
            return _fast_loads(raw)
        except _Refused:
            return _std_loads(data)  # not JSON (raises as json.loads does), NaN and Infinity, lone surrogates

    def loads_text(raw: bytes) -> Any:
        """``loads`` for a body whose strings must go on as UTF-8 (a request the gateway sends on): raises
        ``UnicodeEncodeError``, naming the character, where a string holds a lone surrogate (``"\\ud800"``: JSON
        may carry one, UTF-8 cannot). orjson refuses those, so what it reads needs no look for them."""
        if not _may_overflow(raw):
            try:
                return _fast_loads(raw)
            except _Refused:
                pass
        return _std_loads_text(raw)

    def dumpb(value: Any) -> bytes:
        """Compact JSON as UTF-8 bytes."""
        try:
            return _fast_dumps(value)
        except _Unwritable:
            return _std_dumps(value).encode()  # big integers, keys that are not strings, surrogates: or its error

    def dumps(value: Any) -> str:
        """Compact JSON text, non-ASCII kept."""
        try:
            return _fast_dumps(value).decode()
        except _Unwritable:
            return _std_dumps(value)
