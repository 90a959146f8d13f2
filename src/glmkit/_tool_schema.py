"""JSON schemas from Python signatures and docstrings, for ``glmkit.tools`` (``@tool``, ``function_schema``)."""

from __future__ import annotations

import inspect
import json
import sys
import typing
from collections.abc import Callable, Mapping
from typing import Any

from glmkit._docstrings import parse_docstring
from glmkit._errors import InputError
from glmkit._json_schema import clean_schema

# ---- schemas -------------------------------------------------------------------------------------


def _annotated_description(annotation: Any) -> tuple[Any, str | None]:
    """``Annotated[X, "text"]`` -> (``Annotated[X, ...]`` without the text, "text")."""
    if typing.get_origin(annotation) is not typing.Annotated:
        return annotation, None
    base, *meta = typing.get_args(annotation)
    texts = [m for m in meta if isinstance(m, str)]
    rest = [m for m in meta if not isinstance(m, str)]
    clean = typing.Annotated[(base, *rest)] if rest else base
    return clean, (texts[-1] if texts else None)


def _portable_typeddicts(tp: Any) -> Any:
    """``tp`` with each ``typing.TypedDict`` rebuilt as a ``typing_extensions`` one, on Python 3.11.

    pydantic describes a ``typing.TypedDict`` only from Python 3.12 on; rebuilding it keeps a tool's
    schema the same on every Python the package supports.
    """
    if sys.version_info >= (3, 12):
        return tp
    return _rebuild(tp, {})


def _rebuild(tp: Any, seen: dict[Any, Any]) -> Any:
    import typing_extensions

    if isinstance(tp, type) and typing.is_typeddict(tp) and tp.__class__.__module__ == "typing":
        if tp in seen:
            return seen[tp]
        hints = typing.get_type_hints(tp, include_extras=True)
        required = getattr(tp, "__required_keys__", frozenset(hints))
        fields = {}
        for key, hint in hints.items():
            needed = key in required  # 3.11 misses Required/NotRequired written as strings: the hint says
            while typing.get_origin(hint) in (typing.Required, typing.NotRequired):
                needed = typing.get_origin(hint) is typing.Required
                hint = typing.get_args(hint)[0]
            inner = _rebuild(hint, seen)
            fields[key] = inner if needed else typing_extensions.NotRequired[inner]
        make: Any = typing_extensions.TypedDict  # the functional form, with fields known only at run time
        new = make(tp.__name__, fields)
        new.__doc__ = tp.__doc__
        seen[tp] = new
        return new
    args = typing.get_args(tp)
    origin = typing.get_origin(tp)
    if not args or origin is None:
        return tp
    new_args = tuple(_rebuild(a, seen) if not isinstance(a, str) else a for a in args)
    if new_args == args:
        return tp
    if origin is typing.Annotated:
        return typing.Annotated[(new_args[0], *tp.__metadata__)]
    if origin is typing.Union or type(tp).__name__ == "UnionType":
        return typing.Union[new_args]  # noqa: UP007
    try:
        return tp.copy_with(new_args)
    except AttributeError:
        return origin[new_args] if len(new_args) > 1 else origin[new_args[0]]


class Signature:
    """A function's parameters as a pydantic model (field ``f<i>`` aliased to the parameter name)."""

    def __init__(
        self, fn: Callable[..., Any], docs: Mapping[str, str], strict: bool, localns: Mapping[str, Any] | None = None
    ) -> None:
        from pydantic import ConfigDict, Field, PydanticUserError, create_model

        sig = inspect.signature(fn)
        try:
            hints = typing.get_type_hints(fn, localns=dict(localns or {}), include_extras=True)
        except Exception as exc:  # a forward reference that cannot be resolved
            raise InputError(f"Cannot read the type hints of {fn.__name__}: {exc}.") from exc
        fields: dict[str, Any] = {}
        self.positional: list[tuple[str, str]] = []  # (field, parameter) passed positionally
        self.keyword: list[tuple[str, str]] = []
        for i, (name, p) in enumerate(sig.parameters.items()):
            if i == 0 and name in ("self", "cls"):
                raise InputError(
                    f"Tool {fn.__name__} takes {name}: it is an unbound method.",
                    hint=f"Make the tool from the bound method: tool(instance.{fn.__name__}).",
                )
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise InputError(
                    f"Tool {fn.__name__} takes *{name}; a tool needs named parameters.",
                    hint="Declare each argument, or pass a hand-written schema with tool(fn, parameters=...).",
                )
            annotation, text = _annotated_description(_portable_typeddicts(hints.get(name, Any)))
            described = text or docs.get(name)
            default = ... if p.default is p.empty else p.default
            # never hide an Annotated Field(description=...) behind description=None
            info = Field(default, alias=name, description=described) if described else Field(default, alias=name)
            fields[f"f{i}"] = (annotation, info)
            (self.positional if p.kind == p.POSITIONAL_ONLY else self.keyword).append((f"f{i}", name))
        config = ConfigDict(
            extra="forbid" if strict else "ignore", strict=strict, arbitrary_types_allowed=True, validate_by_alias=True
        )
        self.fn_name = fn.__name__
        try:
            self.model = create_model(f"{fn.__name__}_arguments", __config__=config, **fields)
        except PydanticUserError as exc:
            raise _unsupported(fn.__name__, exc) from None

    def schema(self, strict: bool) -> dict[str, Any]:
        from pydantic import PydanticUserError

        try:
            raw = self.model.model_json_schema(by_alias=True)
        except PydanticUserError as exc:
            raise _unsupported(self.fn_name, exc) from None
        schema = clean_schema(raw, raw.get("$defs", {}))
        schema.pop("description", None)
        schema.setdefault("properties", {})
        if strict:
            schema["additionalProperties"] = False
        return {"type": "object", **{k: v for k, v in schema.items() if k != "type"}}

    def bind(self, arguments: Mapping[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        inst = self.model.model_validate(dict(arguments))
        args = [getattr(inst, f) for f, _ in self.positional]
        kwargs = {name: getattr(inst, f) for f, name in self.keyword}
        return args, kwargs


def _unsupported(name: str, exc: Exception) -> InputError:
    first = str(exc).split("\n", 1)[0]
    return InputError(
        f"Cannot describe the parameters of tool {name} as a JSON schema: {first}",
        hint="Use str, int, float, bool, Literal, Enum, list, dict, tuple, pydantic models or "
        "typing_extensions.TypedDict; or pass a hand-written schema with tool(fn, parameters=...).",
    )


def function_schema(fn: Callable[..., Any], *, strict: bool = False) -> tuple[str, dict[str, Any]]:
    """The (description, parameters schema) of a function, from its docstring and signature."""
    summary, docs = parse_docstring(fn.__doc__)
    return summary, Signature(fn, docs, strict).schema(strict)


def pydantic_errors(exc: Any) -> list[str]:
    out = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(x) for x in err.get("loc", ())) or "(arguments)"
        value = err.get("input")
        got = "" if err.get("type") == "missing" else f" (got {json.dumps(value, default=str)[:80]})"
        out.append(f"{loc}: {err.get('msg')}{got}")
    return out


# ---- the Tool ------------------------------------------------------------------------------------
