"""JSON schemas for tools: pydantic's made plain for the model (``clean_schema``), and a small validator of
the subset tools use (``check_schema``, for hand-written schemas)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from glmkit._errors import InputError

__all__ = ["check_schema", "clean_schema"]

_VALUE_KEYWORDS = frozenset({"default", "const", "enum", "examples"})


def clean_schema(node: Any, defs: Mapping[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """A pydantic JSON schema made plain for the model: ``$ref``s inlined, ``title``s dropped, ``anyOf`` of
    bare types folded into a type list."""
    if isinstance(node, list):
        return [clean_schema(x, defs, seen) for x in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        name = ref.rsplit("/", 1)[1]
        if name in seen:
            raise InputError(f"The type {name} refers to itself; recursive types cannot be inlined in a tool schema.")
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        return clean_schema({**defs[name], **siblings}, defs, (*seen, name))
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("title", "$defs"):
            continue
        if key in _VALUE_KEYWORDS:  # data, not schema: a default {"title": ...} keeps its title
            out[key] = value
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: clean_schema(sub, defs, seen) for name, sub in value.items()}
        else:
            out[key] = clean_schema(value, defs, seen)
    options = out.get("anyOf")
    if isinstance(options, list) and all(isinstance(o, dict) and set(o) == {"type"} for o in options):
        types = [o["type"] for o in options]
        if all(isinstance(t, str) for t in types):
            del out["anyOf"]
            out["type"] = types
    return out


_JSON_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def check_schema(schema: Mapping[str, Any], value: Any, path: str = "") -> list[str]:
    """Problems of ``value`` against a JSON schema (the subset tools use: type, enum, const, properties,
    required, additionalProperties, items, prefixItems, anyOf/oneOf, length/size/range limits); [] if valid."""
    where = path or "(arguments)"
    for key in ("anyOf", "oneOf"):
        if key in schema and not any(not check_schema(s, value, path) for s in schema[key]):
            return [f"{where}: matches none of the allowed shapes"]
    t = schema.get("type")
    if t is not None:
        types = t if isinstance(t, list) else [t]
        if not any(_JSON_TYPES.get(x, lambda v: True)(value) for x in types):
            return [f"{where}: expected {' or '.join(types)}, got {json.dumps(value, default=str)[:80]}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}: must be one of {schema['enum']}"]
    if "const" in schema and value != schema["const"]:
        return [f"{where}: must be {schema['const']!r}"]
    problems: list[str] = []
    if isinstance(value, str | list | dict):
        lo, hi = ("minLength", "maxLength") if isinstance(value, str) else ("minItems", "maxItems")
        if isinstance(value, dict):
            lo, hi = "minProperties", "maxProperties"
        if lo in schema and len(value) < schema[lo]:
            problems.append(f"{where}: shorter than {schema[lo]}")
        if hi in schema and len(value) > schema[hi]:
            problems.append(f"{where}: longer than {schema[hi]}")
    if _JSON_TYPES["number"](value):
        for key, bad in (
            ("minimum", value < schema.get("minimum", value)),
            ("maximum", value > schema.get("maximum", value)),
        ):
            if key in schema and bad:
                problems.append(f"{where}: {key} is {schema[key]}")
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        problems += [f"{path}.{r}".lstrip(".") + ": missing" for r in schema.get("required", []) if r not in value]
        extra = schema.get("additionalProperties", True)
        for k, v in value.items():
            sub = props.get(k, extra)
            if sub is False:
                problems.append(f"{path}.{k}".lstrip(".") + ": not allowed")
            elif isinstance(sub, dict):
                problems += check_schema(sub, v, f"{path}.{k}".lstrip("."))
    if isinstance(value, list):
        prefix = schema.get("prefixItems") or []
        for i, item in enumerate(value):
            sub = prefix[i] if i < len(prefix) else schema.get("items")
            if isinstance(sub, dict):
                problems += check_schema(sub, item, f"{path}[{i}]")
    return problems
