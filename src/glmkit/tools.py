"""``@tool``: a Python function becomes a GLM function tool, its JSON schema built from its signature.

```python
from glmkit import tool

@tool
def read_file(path: str, max_lines: int = 200) -> str:
    '''Read a text file from the workspace.

    Args:
        path: the file, relative to the workspace.
        max_lines: stop after this many lines.
    '''
```
The schema comes from the type hints (str/int/float/bool, ``Literal``, ``Enum``, ``Optional``/``X | None``,
``list``/``dict``/``tuple``, pydantic models, TypedDicts from ``typing_extensions``, ``Annotated[X,
"description"]`` or ``Annotated[X, Field(description=...)]``, defaults) and the docstring (summary ->
description; parameter descriptions from Google, NumPy and reST styles).

Validation choice: each tool holds a pydantic model built from its signature (as the MCP SDK's
``func_metadata`` does). The same model gives the schema and validates the model's arguments, and it
hands the function real values (an ``Enum`` member, a pydantic instance, a tuple), which a JSON-schema
validator would not; pydantic-core validates in microseconds. Hand-written schemas
(``tool(fn, parameters={...})``) are checked with ``check_schema``, a small validator of the
JSON-schema subset tools use (``_json_schema.py``; docstrings are read by ``_docstrings.py``).

The run loop that calls these tools is ``glmkit.resources._runner`` (``client.chat.run``).
"""

from __future__ import annotations

import functools
import inspect
import json
import re
import sys
import typing
from collections.abc import Callable, Mapping
from typing import Any, overload

from glmkit._docstrings import parse_docstring
from glmkit._errors import GLMError, InputError
from glmkit._json_schema import check_schema, clean_schema

# The run loop's records and events (``resources/_run_types.py``) are public here, loaded on first use.
_RUN_NAMES = (
    "Done",
    "ParsedCompletion",
    "ReasoningDelta",
    "RunEvent",
    "RunResult",
    "RunStep",
    "StepFinished",
    "TextDelta",
    "ToolCallFinished",
    "ToolCallRecord",
    "ToolCallStarted",
)

__all__ = [
    *_RUN_NAMES,
    "MAX_TOOLS",
    "Tool",
    "ToolArgumentsError",
    "check_schema",
    "clean_schema",
    "function_schema",
    "parse_docstring",
    "tool",
    "tool_params",
]

MAX_TOOLS = 128  # function tools per request (reference §2.3)
_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
BUILTIN_TOOL_TYPES = frozenset({"web_search", "retrieval"})


class ToolArgumentsError(GLMError, ValueError):
    """The model called a tool with arguments that do not fit its schema."""

    def __init__(self, message: str, *, tool: str, errors: list[str]) -> None:
        super().__init__(message, hint="The runner sends this back to the model, which usually corrects itself.")
        self.tool = tool
        self.errors = errors


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


class _Signature:
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
    return summary, _Signature(fn, docs, strict).schema(strict)


def _pydantic_errors(exc: Any) -> list[str]:
    out = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(x) for x in err.get("loc", ())) or "(arguments)"
        value = err.get("input")
        got = "" if err.get("type") == "missing" else f" (got {json.dumps(value, default=str)[:80]})"
        out.append(f"{loc}: {err.get('msg')}{got}")
    return out


# ---- the Tool ------------------------------------------------------------------------------------


class Tool:
    """A function the model may call; calling the ``Tool`` calls the function unchanged.

    Attributes:
        name: the name the model sees (1-64 of ``[a-zA-Z0-9_-]``).
        description: what the tool does (the docstring's summary by default).
        parameters: the JSON schema of the arguments.
        strict: reject unknown arguments and do not coerce types ("1" is no integer).
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        strict: bool = False,
        localns: Mapping[str, Any] | None = None,
    ) -> None:
        """``localns``: names for string annotations (default: the caller's locals, so classes defined in a
        function work under ``from __future__ import annotations``)."""
        if localns is None:
            localns = sys._getframe(1).f_locals
        self.fn = fn
        self.name: str = name or str(getattr(fn, "__name__", ""))
        if not _NAME.match(self.name):
            raise InputError(
                f"Tool name {self.name!r} must be 1-64 characters of letters, digits, '_' or '-'.",
                hint="Pass tool(name='...') to choose another name.",
            )
        summary, docs = parse_docstring(fn.__doc__)
        self.strict = strict
        self._signature: _Signature | None = None
        if parameters is None:
            self._signature = _Signature(fn, docs, strict, localns)
            self.parameters = self._signature.schema(strict)
        else:
            self.parameters = dict(parameters)
        self.description = description or summary or self.name.replace("_", " ")
        self.is_async = inspect.iscoroutinefunction(fn)
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Tool(name={self.name!r})"

    def to_param(self) -> dict[str, Any]:
        """The tool as the API wants it: ``{"type": "function", "function": {...}}``."""
        # ``strict`` is local only: the reference (§2.3) lists name, description and parameters, nothing more.
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }

    def bind(self, arguments: Mapping[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        """Validate the model's arguments; the ``(args, kwargs)`` to call the function with.

        Raises:
            ToolArgumentsError: the arguments do not fit the schema; ``errors`` lists each problem.
        """
        if not isinstance(arguments, Mapping):
            raise ToolArgumentsError(
                f"Arguments for {self.name} must be a JSON object.", tool=self.name, errors=["not an object"]
            )
        if self._signature is None:
            errors = check_schema(self.parameters, dict(arguments))
            if errors:
                raise ToolArgumentsError(self._message(errors), tool=self.name, errors=errors)
            return [], dict(arguments)
        from pydantic import ValidationError

        try:
            return self._signature.bind(arguments)
        except ValidationError as exc:
            errors = _pydantic_errors(exc)
            raise ToolArgumentsError(self._message(errors), tool=self.name, errors=errors) from None

    def _message(self, errors: list[str]) -> str:
        return f"Invalid arguments for {self.name}: " + "; ".join(errors)


@overload
def tool(fn: Callable[..., Any], /) -> Tool: ...
@overload
def tool(
    fn: None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    strict: bool = False,
) -> Callable[[Callable[..., Any]], Tool]: ...
@overload
def tool(
    fn: Callable[..., Any],
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    strict: bool = False,
) -> Tool: ...
def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    strict: bool = False,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a function a tool: ``@tool``, ``@tool(name=..., description=..., strict=True)`` or ``tool(fn)``.

    ``parameters`` replaces the generated schema with a hand-written one (checked by ``check_schema``).
    """

    def wrap(f: Callable[..., Any], depth: int = 1) -> Tool:
        if isinstance(f, Tool):
            f = f.fn
        localns = sys._getframe(depth).f_locals  # the decorating code's locals, for string annotations
        return Tool(f, name=name, description=description, parameters=parameters, strict=strict, localns=localns)

    return wrap(fn, 2) if fn is not None else wrap


def tool_params(tools: list[Any] | None) -> tuple[list[dict[str, Any]], dict[str, Tool]]:
    """Split a mixed ``tools=[...]`` list into the API's tool objects and the local implementations by name.

    Items may be ``Tool``s, plain functions (made tools here), API tool dicts (hand-written function
    schemas without an implementation, ``web_search``, ``retrieval``).
    """
    if tools is not None and not isinstance(tools, list | tuple):
        raise InputError(
            f"tools must be a list (got a {type(tools).__name__}).", hint="Wrap a single tool in a list: tools=[one]."
        )
    params: list[dict[str, Any]] = []
    local: dict[str, Tool] = {}
    names: set[str] = set()  # every function tool's, local or not: the model tells them apart by name
    for item in tools or []:
        if isinstance(item, dict):
            kind = item.get("type")
            if kind == "function":
                if not isinstance(item.get("function"), dict) or not item["function"].get("name"):
                    raise InputError("A function tool dict needs {'type': 'function', 'function': {'name': ...}}.")
                _claim(names, str(item["function"]["name"]))
            elif kind not in BUILTIN_TOOL_TYPES:
                raise InputError(
                    f"Unknown tool type {kind!r}; use 'function', 'web_search' or 'retrieval' "
                    f"(e.g. {{'type': 'web_search', 'web_search': {{'enable': True, 'search_engine': 'search_pro_jina'}}}})."
                )
            params.append(item)
            continue
        t = item if isinstance(item, Tool) else Tool(item, localns={}) if callable(item) else None
        if t is None:
            raise InputError(f"tools[{len(params)}] is a {type(item).__name__}; pass functions, Tools or tool dicts.")
        _claim(names, t.name)
        local[t.name] = t
        params.append(t.to_param())
    if len(names) > MAX_TOOLS:
        raise InputError(
            f"{len(names)} function tools given; the API takes at most {MAX_TOOLS} per request.",
            hint="Offer fewer tools, or group related actions into one tool with a 'action' Literal parameter.",
        )
    return params, local


def _claim(names: set[str], name: str) -> None:
    if name in names:
        raise InputError(f"Two tools are named {name!r}; give one another name with tool(name=...).")
    names.add(name)


def __getattr__(name: str) -> Any:
    if name in _RUN_NAMES:
        import importlib

        module = "_structured" if name == "ParsedCompletion" else "_run_types"
        return getattr(importlib.import_module(f"glmkit.resources.{module}"), name)
    raise AttributeError(f"module 'glmkit.tools' has no attribute {name!r}")
