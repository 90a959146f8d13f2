"""Parameter descriptions from a function's docstring: Google, NumPy and reST styles (used by ``@tool``)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator

__all__ = ["parse_docstring"]

_GOOGLE_HEADERS = {"args", "arguments", "parameters", "params", "keyword args", "keyword arguments"}
_GOOGLE_ANY = re.compile(r"^([A-Z][A-Za-z ]*):\s*$")
_GOOGLE_ITEM = re.compile(r"^\*{0,2}(\w+)\s*(?:\(([^)]*)\))?\s*:\s*(.*)$")
_NUMPY_RULE = re.compile(r"^\s*-{3,}\s*$")
_NUMPY_ITEM = re.compile(r"^\*{0,2}(\w+)\s*(?::\s*(.*))?$")
_REST_PARAM = re.compile(r"^:(?:param|parameter|arg|argument|key|keyword)\s+(?:([^:]*?)\s+)?(\w+)\s*:\s*(.*)$")
_REST_FIELD = re.compile(r"^:\w[^:]*:")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """The summary (first paragraph) and the parameter descriptions of a Google, NumPy or reST docstring."""
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    summary: list[str] = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        is_numpy_header = i + 1 < len(lines) and _NUMPY_RULE.match(lines[i + 1]) is not None
        if not stripped or _GOOGLE_ANY.match(stripped) or _REST_FIELD.match(stripped) or is_numpy_header:
            break
        summary.append(stripped)
    params = _google_params(lines) or _numpy_params(lines) or _rest_params(lines)
    return " ".join(summary), params


def _collect(lines: list[str], start: int, base: int) -> tuple[list[str], int]:
    """Continuation lines indented deeper than ``base`` (blank lines kept inside), and where they end."""
    out: list[str] = []
    j = start
    while j < len(lines) and (not lines[j].strip() or _indent(lines[j]) > base):
        out.append(lines[j].strip())
        j += 1
    while out and not out[-1]:
        out.pop()
    return out, j


def _join(parts: list[str]) -> str:
    return " ".join(p for p in parts if p).strip()


def _section_items(lines: list[str], start: int, min_indent: int, *, numpy: bool) -> Iterator[tuple[str, list[str]]]:
    """A parameter section's items from line ``start``, each line with its continuation lines; the section ends
    at a line indented less than ``min_indent`` (NumPy: or at the next section's header, a line over a rule)."""
    j = start
    while j < len(lines):
        item = lines[j]
        if not item.strip():
            j += 1
            continue
        if _indent(item) < min_indent or (numpy and j + 1 < len(lines) and _NUMPY_RULE.match(lines[j + 1])):
            break
        more, j = _collect(lines, j + 1, _indent(item))
        yield item, more


def _google_params(lines: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, line in enumerate(lines):
        if line.strip().rstrip(":").lower() not in _GOOGLE_HEADERS or not line.strip().endswith(":"):
            continue
        for item, more in _section_items(lines, i + 1, _indent(line) + 1, numpy=False):
            m = _GOOGLE_ITEM.match(item.strip())
            if m:
                out[m.group(1)] = _join([m.group(3), *more])
    return out


def _numpy_params(lines: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, line in enumerate(lines):
        if line.strip().lower() not in ("parameters", "other parameters") or i + 1 >= len(lines):
            continue
        if not _NUMPY_RULE.match(lines[i + 1]):
            continue
        for item, more in _section_items(lines, i + 2, _indent(line), numpy=True):
            for name in item.split(":")[0].split(","):  # "x, y : int" documents both
                m = _NUMPY_ITEM.match(name.strip())
                if m:
                    out[m.group(1)] = _join(more)
    return out


def _rest_params(lines: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, line in enumerate(lines):
        m = _REST_PARAM.match(line.strip())
        if m:
            more, _ = _collect(lines, i + 1, _indent(line))
            out[m.group(2)] = _join([m.group(3), *more])
    return out
