"""Hypothesis strategies drawn from the official SDK's own request types (TypedDicts and pydantic models), so that
"any request the SDK can express" is what a property test draws, whatever release of the SDK is installed.

``from_sdk_type(anthropic.types.MessageCreateParamsNonStreaming)`` walks the annotations: TypedDicts become
dicts (``Required`` keys always, the others sometimes), pydantic models (which the SDK also accepts, e.g. a
response's content blocks sent back) their dumped dicts, ``Literal`` its values, ``Union`` any member,
``Iterable``/``Sequence``/``list`` short lists, ``Dict``/``Mapping`` small dicts, scalars small values. Recursion
stops at a fixed depth with the smallest value the type allows.
"""

from __future__ import annotations

import collections.abc
import types
import typing
from typing import Any

import typing_extensions
from hypothesis import strategies as st

JSON_SCALAR = st.none() | st.booleans() | st.integers(-100, 100) | st.text(max_size=8)
JSON = st.recursive(
    JSON_SCALAR,
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=4), inner, max_size=2),
    max_leaves=4,
)
MAX_DEPTH = 7
_SEQUENCES = (collections.abc.Iterable, collections.abc.Sequence, list, tuple, collections.abc.Collection)
_MAPPINGS = (dict, collections.abc.Mapping)


def _alias(metadata: tuple[Any, ...]) -> str | None:
    for m in metadata:
        alias = getattr(m, "alias", None)
        if isinstance(alias, str):
            return alias
    return None


def _unwrap(tp: Any) -> tuple[Any, str | None]:
    """Strip ``Required``/``NotRequired``/``Annotated``; return the type and an SDK field alias if any."""
    alias = None
    while True:
        origin = typing.get_origin(tp)
        if origin in (typing_extensions.Required, typing_extensions.NotRequired, typing.Required, typing.NotRequired):
            tp = typing.get_args(tp)[0]
        elif origin is typing.Annotated or origin is typing_extensions.Annotated:
            args = typing.get_args(tp)
            alias = alias or _alias(tuple(getattr(tp, "__metadata__", args[1:])))
            tp = args[0]
        else:
            return tp, alias


def _is_required(hint: Any, tp: Any) -> bool:
    """``Required[...]`` / ``NotRequired[...]`` as written (``__required_keys__`` is wrong for TypedDicts whose
    annotations are strings, as the SDK's are), else the class's totality."""
    while typing.get_origin(hint) in (typing.Annotated, typing_extensions.Annotated):
        hint = typing.get_args(hint)[0]
    origin = typing.get_origin(hint)
    if origin in (typing.Required, typing_extensions.Required):
        return True
    if origin in (typing.NotRequired, typing_extensions.NotRequired):
        return False
    return bool(getattr(tp, "__total__", True))


def _typed_dict(tp: Any, depth: int) -> st.SearchStrategy[dict[str, Any]]:
    hints = typing.get_type_hints(tp, include_extras=True)
    required, optional = {}, {}
    for name, hint in hints.items():
        inner, alias = _unwrap(hint)
        target = required if _is_required(hint, tp) else optional
        target[alias or name] = from_sdk_type(inner, depth + 1)
    return st.fixed_dictionaries(required, optional=optional)


def _model(tp: Any, depth: int) -> st.SearchStrategy[dict[str, Any]]:
    required, optional = {}, {}
    for name, info in tp.model_fields.items():
        target = required if info.is_required() else optional
        target[info.alias or name] = from_sdk_type(info.annotation, depth + 1)
    return st.fixed_dictionaries(required, optional=optional)


def from_sdk_type(tp: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """A strategy of JSON-ready values of the SDK type ``tp``."""
    tp, _ = _unwrap(tp)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is type(None) or tp is None:
        return st.none()
    if origin is typing.Literal:
        return st.sampled_from(args)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in args if a is not type(None)] if depth >= MAX_DEPTH else list(args)
        return st.one_of([from_sdk_type(a, depth) for a in members]) if members else st.none()
    if typing_extensions.is_typeddict(tp):
        return _typed_dict(tp, depth)
    if isinstance(tp, type) and hasattr(tp, "model_fields"):
        return _model(tp, depth)
    if origin in _SEQUENCES or tp in _SEQUENCES:
        item = args[0] if args else Any
        if depth >= MAX_DEPTH:
            return st.just([])
        return st.lists(from_sdk_type(item, depth + 1), max_size=2 if depth > 2 else 3)
    if origin in _MAPPINGS or tp in _MAPPINGS:
        value = args[1] if len(args) == 2 else Any
        return st.dictionaries(st.text(max_size=6), from_sdk_type(value, depth + 1), max_size=2)
    if tp is str:
        return st.text(max_size=16)
    if tp is bool:
        return st.booleans()
    if tp is int:
        return st.integers(-5, 200_000)
    if tp is float:
        return st.floats(-2, 2, allow_nan=False)
    if tp in (object, Any) or tp is typing.Any:
        return JSON
    if isinstance(tp, typing.TypeVar):
        return JSON
    if tp is bytes:
        return st.binary(max_size=8).map(lambda b: b.hex())
    # anything else (a date, a file handle): a string is what crosses the wire
    return st.text(max_size=8)
