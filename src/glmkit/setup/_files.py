"""Merging settings into other programs' config files without disturbing anything else.

Every edit is a targeted splice of the original text: JSON members are found by a small span scanner,
TOML and YAML keys by line, so unrelated keys, comments, ordering and formatting stay byte-for-byte.
A file we cannot read is never written: ``SetupError`` names the file and the fix, and nothing changes.

YAML (``_yaml.py``) is edited by lines rather than with a new dependency.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from glmkit._toml import toml_key, toml_value
from glmkit.setup._yaml import yaml_get, yaml_set, yaml_validate
from glmkit.setup.errors import SetupError

__all__ = ["SetupError", "get_value", "set_value", "validate"]

Path_ = tuple[str, ...]


# --------------------------------------------------------------------------------------------------- JSON


@dataclass
class _Node:
    kind: str  # object | array | string | literal
    start: int
    end: int
    members: list[tuple[str, int, _Node]] = field(default_factory=list)  # (key, key start, value)


class _JSONScanner:
    """Spans of a JSON (or, with ``comments``, JSONC) document: enough to splice, nothing more."""

    _LITERAL = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null")

    def __init__(self, text: str, *, comments: bool) -> None:
        self.text = text
        self.comments = comments

    def error(self, pos: int, what: str) -> SetupError:
        line = self.text.count("\n", 0, pos) + 1
        col = pos - (self.text.rfind("\n", 0, pos) + 1) + 1
        return SetupError(f"{what} at line {line}, column {col}")

    def ws(self, i: int) -> int:
        t = self.text
        while i < len(t):
            c = t[i]
            if c in " \t\r\n\ufeff":
                i += 1
            elif self.comments and t.startswith("//", i):
                j = t.find("\n", i)
                i = len(t) if j < 0 else j + 1
            elif self.comments and t.startswith("/*", i):
                j = t.find("*/", i + 2)
                if j < 0:
                    raise self.error(i, "unterminated comment")
                i = j + 2
            else:
                break
        return i

    def document(self) -> _Node:
        i = self.ws(0)
        node = self.value(i)
        if self.ws(node.end) != len(self.text):
            raise self.error(self.ws(node.end), "unexpected text after the document")
        return node

    def value(self, i: int) -> _Node:
        t = self.text
        if i >= len(t):
            raise self.error(i, "unexpected end of file")
        c = t[i]
        if c == "{":
            return self._container(i, "}", object_=True)
        if c == "[":
            return self._container(i, "]", object_=False)
        if c == '"':
            return _Node("string", i, self._string_end(i))
        m = self._LITERAL.match(t, i)
        if not m:
            raise self.error(i, "unexpected character")
        return _Node("literal", i, m.end())

    def _string_end(self, i: int) -> int:
        t = self.text
        j = i + 1
        while j < len(t):
            if t[j] == "\\":
                j += 2
                continue
            if t[j] == '"':
                return j + 1
            if t[j] == "\n":
                break
            j += 1
        raise self.error(i, "unterminated string")

    def _container(self, i: int, close: str, *, object_: bool) -> _Node:
        node = _Node("object" if object_ else "array", i, -1)
        j = self.ws(i + 1)
        if j < len(self.text) and self.text[j] == close:
            node.end = j + 1
            return node
        while True:
            if object_:
                if j >= len(self.text) or self.text[j] != '"':
                    raise self.error(j, "expected a quoted key")
                key_end = self._string_end(j)
                key = json.loads(self.text[j:key_end])
                k = self.ws(key_end)
                if k >= len(self.text) or self.text[k] != ":":
                    raise self.error(k, "expected ':'")
                child = self.value(self.ws(k + 1))
                node.members.append((key, j, child))
            else:
                child = self.value(j)
            j = self.ws(child.end)
            if j < len(self.text) and self.text[j] == ",":
                j = self.ws(j + 1)
                if self.comments and j < len(self.text) and self.text[j] == close:  # trailing comma (JSONC)
                    node.end = j + 1
                    return node
                continue
            if j < len(self.text) and self.text[j] == close:
                node.end = j + 1
                return node
            raise self.error(j, f"expected ',' or '{close}'")


def _json_tree(text: str, fmt: str) -> _Node:
    if fmt == "json":
        try:
            json.loads(text.removeprefix("\ufeff"))
        except ValueError as exc:
            raise SetupError(str(exc)) from None
    root = _JSONScanner(text, comments=fmt == "jsonc").document()
    if root.kind != "object":
        raise SetupError("the top level is not an object")
    return root


def _json_load_span(text: str, node: _Node, fmt: str) -> Any:
    span = text[node.start : node.end]
    if fmt == "jsonc" and node.kind in ("object", "array"):
        return _strip_jsonc(span)
    return json.loads(span)


def _strip_jsonc(span: str) -> Any:
    out, i = [], 0
    scanner = _JSONScanner(span, comments=True)
    while i < len(span):
        c = span[i]
        if c == '"':
            j = scanner._string_end(i)
            out.append(span[i:j])
            i = j
        elif span.startswith(("//", "/*"), i):
            i = scanner.ws(i)
        else:
            out.append(c)
            i += 1
    return json.loads(re.sub(r",(\s*[}\]])", r"\1", "".join(out)))


def _line_indent(text: str, pos: int) -> str:
    start = text.rfind("\n", 0, pos) + 1
    m = re.match(r"[ \t]*", text[start:])
    return m.group(0) if m else ""


def _indent_unit(text: str) -> str:
    m = re.search(r"\n([ \t]+)\S", text)
    if not m:
        return "  "
    return "\t" if m.group(1).startswith("\t") else " " * min(len(m.group(1)), 8)


def _json_dumps(value: Any, indent: str, unit: str) -> str:
    if not isinstance(value, dict | list) or not value:
        return json.dumps(value, ensure_ascii=False)
    text = json.dumps(value, ensure_ascii=False, indent=unit)
    return text.replace("\n", "\n" + indent)


def _nest(path: Sequence[str], value: Any) -> Any:
    for key in reversed(path):
        value = {key: value}
    return value


def _json_set(text: str, path: Path_, value: Any, fmt: str) -> str:
    if not text.strip():
        text = "{}\n" if not text else text.rstrip() + "{}\n"
    node = _json_tree(text, fmt)
    unit = _indent_unit(text)
    for depth, key in enumerate(path):
        member = next((m for m in reversed(node.members) if m[0] == key), None)
        if member is None:
            return _json_insert(text, node, key, _nest(path[depth + 1 :], value), unit)
        child = member[2]
        if depth == len(path) - 1:
            if _json_load_span(text, child, fmt) == value:
                return text
            indent = _line_indent(text, member[1])
            return text[: child.start] + _json_dumps(value, indent, unit) + text[child.end :]
        if child.kind != "object":
            raise SetupError(f"'{'/'.join(path[: depth + 1])}' is not an object")
        node = child
    return text


def _json_insert(text: str, obj: _Node, key: str, value: Any, unit: str) -> str:
    name = json.dumps(key, ensure_ascii=False)
    if obj.members:
        _, first_key, _ = obj.members[0]
        _, last_key, last = obj.members[-1]
        if "\n" in text[obj.start : first_key]:
            indent = _line_indent(text, last_key)
            piece = f",\n{indent}{name}: {_json_dumps(value, indent, unit)}"
        else:
            piece = f", {name}: {json.dumps(value, ensure_ascii=False)}"
        return text[: last.end] + piece + text[last.end :]
    outer = _line_indent(text, obj.start)
    inner = outer + unit
    body = f"\n{inner}{name}: {_json_dumps(value, inner, unit)}\n{outer}"
    inside = text[obj.start + 1 : obj.end - 1]
    if inside.strip():  # only comments inside: keep them, add after
        return text[: obj.end - 1] + body.rstrip(" \t") + text[obj.end - 1 :]
    return text[: obj.start + 1] + body + text[obj.end - 1 :]


def _json_get(text: str, path: Path_, fmt: str) -> Any:
    if not text.strip():
        return None
    node = _json_tree(text, fmt)
    for depth, key in enumerate(path):
        member = next((m for m in reversed(node.members) if m[0] == key), None)
        if member is None:
            return None
        if depth == len(path) - 1:
            return _json_load_span(text, member[2], fmt)
        node = member[2]
        if node.kind != "object":
            return None
    return None


# --------------------------------------------------------------------------------------------------- TOML

_HEADER = re.compile(r"^\s*\[(?!\[)\s*([^\]]+?)\s*\]\s*(?:#.*)?$")
_ANY_HEADER = re.compile(r"^\s*\[")


def _split_header(header: str) -> tuple[str, ...]:
    return tuple(part.strip().strip('"').strip("'") for part in header.split("."))


def _toml_parse(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SetupError(str(exc)) from None


def _dig(data: Any, path: Path_) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _toml_set(text: str, path: Path_, value: Any) -> str:
    if isinstance(value, dict) and value:
        for k, v in value.items():
            text = _toml_set(text, (*path, k), v)
        return text
    if _dig(_toml_parse(text), path) == value:
        return text
    table, key = path[:-1], path[-1]
    lines = _lines(text)
    line = f"{toml_key(key)} = {toml_value(value)}\n"
    start, end = _toml_section(lines, table)
    if start is None:
        sep = "" if not text or text.endswith("\n") else "\n"
        blank = "\n" if text.strip() else ""
        new = f"{text}{sep}{blank}[{'.'.join(toml_key(p) for p in table)}]\n{line}"
    else:
        pattern = re.compile(rf"^(\s*){re.escape(toml_key(key))}\s*=|^(\s*){re.escape(json.dumps(key))}\s*=")
        hit = next((i for i in range(start, end) if pattern.match(lines[i])), None)
        if hit is not None:
            indent = re.match(r"\s*", lines[hit]).group(0)  # type: ignore[union-attr]
            lines[hit] = indent + line
        else:
            at = end
            while at > start and not lines[at - 1].strip():
                at -= 1
            if at > 0 and not lines[at - 1].endswith("\n"):
                lines[at - 1] += "\n"
            lines.insert(at, line)
        new = "".join(lines)
    try:
        ok = _dig(tomllib.loads(new), path) == value
    except tomllib.TOMLDecodeError:
        ok = False
    if not ok:  # multi-line values, dotted keys or inline tables: not something to guess at
        raise SetupError(f"cannot set '{'.'.join(path)}' safely (it is written in a form glmkit does not edit)")
    return new


def _lines(text: str) -> list[str]:
    """The lines of a config file, split at newlines only (``str.splitlines`` also splits inside a TOML
    string holding U+0085 or U+2028, which a file may carry raw)."""
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _toml_section(lines: list[str], table: Path_) -> tuple[int | None, int]:
    if not table:
        end = next((i for i, ln in enumerate(lines) if _ANY_HEADER.match(ln)), len(lines))
        return 0, end
    for i, ln in enumerate(lines):
        m = _HEADER.match(ln)
        if m and _split_header(m.group(1)) == table:
            end = next((j for j in range(i + 1, len(lines)) if _ANY_HEADER.match(lines[j])), len(lines))
            return i + 1, end
    return None, len(lines)


# --------------------------------------------------------------------------------------------------- API


def validate(text: str, fmt: str) -> None:
    """Raise ``SetupError`` unless ``text`` is a readable ``fmt`` document (empty counts as readable)."""
    if not text.strip():
        return
    if fmt in ("json", "jsonc"):
        _json_tree(text, fmt)
    elif fmt == "toml":
        _toml_parse(text)
    elif fmt == "yaml":
        yaml_validate(text)
    else:
        raise ValueError(f"unknown format {fmt!r}")


def set_value(text: str, fmt: str, path: Path_, value: Any) -> str:
    """``text`` with ``path`` set to ``value``; every other byte kept where the format allows.

    A file written with CRLF line ends throughout keeps them: the edit is made on LF text.
    """
    if "\r\n" in text and text.count("\r\n") == text.count("\n"):
        return _set_value(text.replace("\r\n", "\n"), fmt, path, value).replace("\n", "\r\n")
    return _set_value(text, fmt, path, value)


def _set_value(text: str, fmt: str, path: Path_, value: Any) -> str:
    if fmt in ("json", "jsonc"):
        return _json_set(text, path, value, fmt)
    if fmt == "toml":
        return _toml_set(text, path, value)
    if fmt == "yaml":
        return yaml_set(text, path, value)
    raise ValueError(f"unknown format {fmt!r}")


def get_value(text: str, fmt: str, path: Path_) -> Any:
    """The value at ``path`` (``None`` when missing). For a YAML block, only whether it is present."""
    if fmt in ("json", "jsonc"):
        return _json_get(text, path, fmt)
    if fmt == "toml":
        return _dig(_toml_parse(text), path) if text.strip() else None
    if fmt == "yaml":
        return yaml_get(text, path) if text.strip() else None
    raise ValueError(f"unknown format {fmt!r}")
