"""Line edits of block-style YAML (Goose's ``config.yaml``) without a YAML dependency.

Only what ``glm setup`` needs: top-level scalars, and one mapping block one level below a top-level
key. Before any edit the file passes checks that catch what a careless edit would break (tabs, lines
that are not ``key: value``, unclosed quotes); anything we cannot place is refused, never guessed.
"""

from __future__ import annotations

import json
import re
from typing import Any

from glmkit.setup.errors import SetupError

__all__ = ["yaml_get", "yaml_set", "yaml_validate"]

Path_ = tuple[str, ...]


_YAML_KEY = re.compile(r"""^(?P<key>[A-Za-z0-9_.\-]+|"[^"]*"|'[^']*'):(?:\s+(?P<value>.*?))?\s*$""")
_PLAIN = re.compile(r"^[A-Za-z0-9_./@-][A-Za-z0-9_./@ -]*$")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"}


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_yaml_scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{" + ", ".join(f"{_yaml_scalar(k)}: {_yaml_scalar(v)}" for k, v in value.items()) + "}"
    s = str(value)
    if _PLAIN.match(s) and s.lower() not in _RESERVED and not re.fullmatch(r"[-+.\d_eE]+", s):
        return s
    return json.dumps(s, ensure_ascii=False).replace("\x7f", "\\u007f")  # a YAML double-quoted scalar


def _yaml_read_scalar(raw: str | None) -> Any:
    if raw is None or raw == "":
        return None
    raw = re.sub(r"\s+#.*$", "", raw)
    if raw[:1] == '"':
        try:
            return json.loads(raw)
        except ValueError:
            return raw.strip('"')
    if raw[:1] == "'":
        return raw[1:-1].replace("''", "'")
    if raw in ("true", "false"):
        return raw == "true"
    if re.fullmatch(r"-?\d+", raw):
        return int(raw)
    return raw


def _yaml_unquote(key: str) -> str:
    return key[1:-1] if key[:1] in "\"'" else key


def yaml_validate(text: str) -> list[str]:
    """Lines of a block-style YAML mapping, after checks that catch what a careless edit would break."""
    lines = text.splitlines(keepends=True)
    for n, ln in enumerate(lines, 1):
        body = ln.rstrip("\r\n")
        if not body.strip() or body.lstrip().startswith("#"):
            continue
        if body[:1] == "\t" or re.match(r"^ *\t", body):
            raise SetupError(f"a tab in the indentation at line {n} (YAML allows spaces only)")
        if body[0] != " ":
            if body in ("---", "...") and n == 1:
                continue
            m = _YAML_KEY.match(body)
            if not m:
                raise SetupError(f"line {n} is not a 'key: value' line")  # no content: it may hold a key
            value = (m.group("value") or "").strip()
            if value and value[0] in "\"'" and not re.match(r"""^(["']).*\1\s*(#.*)?$""", value):
                raise SetupError(f"an unclosed quote at line {n}")
    return lines


def _yaml_top(lines: list[str], key: str) -> tuple[int | None, int]:
    """The index of a top-level key's line and the end of its block."""
    for i, ln in enumerate(lines):
        m = _YAML_KEY.match(ln.rstrip("\r\n"))
        if m and _yaml_unquote(m.group("key")) == key:
            end = i + 1
            while end < len(lines) and (not lines[end].strip() or lines[end][:1] in (" ", "#")):
                end += 1
            while end > i + 1 and not lines[end - 1].strip():
                end -= 1
            return i, end
    return None, len(lines)


def _yaml_block(value: dict[str, Any], indent: str, unit: str) -> list[str]:
    out = []
    for k, v in value.items():
        if isinstance(v, dict) and v:
            out.append(f"{indent}{_yaml_scalar(k)}:\n")
            out.extend(_yaml_block(v, indent + unit, unit))
        else:
            out.append(f"{indent}{_yaml_scalar(k)}: {_yaml_scalar(v)}\n")
    return out


def yaml_set(text: str, path: Path_, value: Any) -> str:
    lines = yaml_validate(text)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    top, end = _yaml_top(lines, path[0])
    if len(path) == 1 and not isinstance(value, dict):
        new_line = f"{_yaml_scalar(path[0])}: {_yaml_scalar(value)}\n"
        if top is None:
            return "".join(lines) + new_line
        m = _YAML_KEY.match(lines[top].rstrip("\r\n"))
        if m and not m.group("value") and end > top + 1:
            raise SetupError(f"'{path[0]}' holds a block, not a single value")
        if m and _yaml_read_scalar(m.group("value")) == value:
            return text
        lines[top] = new_line
        return "".join(lines)
    if len(path) != 2 or not isinstance(value, dict):
        raise SetupError(f"glmkit edits only top-level values and blocks one level down, not '{'/'.join(path)}'")
    unit = "  "
    if top is None:
        return "".join(lines) + f"{_yaml_scalar(path[0])}:\n" + "".join(_yaml_block({path[1]: value}, unit, unit))
    head = _YAML_KEY.match(lines[top].rstrip("\r\n"))
    current = (head.group("value") or "").strip() if head else ""
    if current and current not in ("{}", "null", "~"):
        raise SetupError(f"'{path[0]}' is written inline; glmkit edits only block mappings")
    children = [i for i in range(top + 1, end) if lines[i].strip() and not lines[i].lstrip().startswith("#")]
    if children:
        unit = re.match(r" *", lines[children[0]]).group(0) or "  "  # type: ignore[union-attr]
    block = _yaml_block({path[1]: value}, unit, unit)
    for i in children:
        if not lines[i].startswith(unit) or lines[i][len(unit)] == " ":
            continue
        m = _YAML_KEY.match(lines[i][len(unit) :].rstrip("\r\n"))
        if m and _yaml_unquote(m.group("key")) == path[1]:
            stop = i + 1
            while stop < end and (not lines[stop].strip() or lines[stop].startswith(unit + " ")):
                stop += 1
            while stop > i + 1 and not lines[stop - 1].strip():
                stop -= 1
            if "".join(lines[i:stop]) == "".join(block):
                return text
            return "".join(lines[:i] + block + lines[stop:])
    if current:
        lines[top] = f"{_yaml_scalar(path[0])}:\n"
    return "".join(lines[:end] + block + lines[end:])


def yaml_get(text: str, path: Path_) -> Any:
    lines = yaml_validate(text)
    top, end = _yaml_top(lines, path[0])
    if top is None:
        return None
    m = _YAML_KEY.match(lines[top].rstrip("\r\n"))
    if len(path) == 1:
        return _yaml_read_scalar(m.group("value")) if m else None
    for i in range(top + 1, end):
        sub = _YAML_KEY.match(lines[i].strip())
        if sub and _yaml_unquote(sub.group("key")) == path[1] and not lines[i].startswith("    "):
            return {"present": True}
    return None
