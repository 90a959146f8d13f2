"""Writing TOML: the config file and the coding tools' files (``tomllib`` only reads)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["dump_toml", "toml_key", "toml_value"]


def toml_value(value: Any) -> str:
    """One TOML value: a string, number, bool, list or inline table."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    # A JSON string is a valid TOML basic string (control characters escaped) once DEL is escaped too.
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_key(key: str) -> str:
    """A bare key when TOML allows one, else a quoted key."""
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else toml_value(key)


def dump_toml(data: Mapping[str, Any]) -> str:
    """Write a config mapping (top-level scalars, then one table per nested mapping) as TOML."""
    lines: list[str] = []
    tables: list[tuple[str, Mapping[str, Any]]] = []
    for key, value in data.items():
        if isinstance(value, Mapping):
            tables.append((toml_key(key), value))
        else:
            lines.append(f"{toml_key(key)} = {toml_value(value)}")

    def emit(prefix: str, table: Mapping[str, Any]) -> None:
        lines.append("")
        lines.append(f"[{prefix}]")
        nested = []
        for k, v in table.items():
            if isinstance(v, Mapping):
                nested.append((f"{prefix}.{toml_key(k)}", v))
            else:
                lines.append(f"{toml_key(k)} = {toml_value(v)}")
        for p, t in nested:
            emit(p, t)

    for prefix, table in tables:
        emit(prefix, table)
    return "\n".join(lines).lstrip("\n") + "\n"
