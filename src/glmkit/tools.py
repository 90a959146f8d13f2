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
import re
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, cast, overload

from typing_extensions import ParamSpec, TypeVar

from glmkit._docstrings import parse_docstring
from glmkit._errors import GLMError, InputError
from glmkit._json_schema import check_schema, clean_schema
from glmkit._tool_schema import Signature, function_schema, pydantic_errors

if TYPE_CHECKING:
    from glmkit.types.chat import FunctionToolParam, ToolParam

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

P = ParamSpec("P", default=...)
R = TypeVar("R", covariant=True, default=Any)  # a bare ``Tool`` is ``Tool[..., Any]``, as a bare ``list`` is
_P = ParamSpec("_P")
_R = TypeVar("_R")


class ToolArgumentsError(GLMError, ValueError):
    """The model called a tool with arguments that do not fit its schema."""

    def __init__(self, message: str, *, tool: str, errors: list[str]) -> None:
        super().__init__(message, hint="The runner sends this back to the model, which usually corrects itself.")
        self.tool = tool
        self.errors = errors


class Tool(Generic[P, R]):
    """A function the model may call; calling the ``Tool`` calls the function unchanged.

    ``Tool[P, R]`` keeps the function's signature: ``@tool`` on ``def f(city: str) -> str`` gives a
    ``Tool[[str], str]`` that type checkers call as they would call ``f``.

    Attributes:
        name: the name the model sees (1-64 of ``[a-zA-Z0-9_-]``).
        description: what the tool does (the docstring's summary by default).
        parameters: the JSON schema of the arguments.
        strict: reject unknown arguments and do not coerce types ("1" is no integer).
    """

    def __init__(
        self,
        fn: Callable[P, R],
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
        self._signature: Signature | None = None
        if parameters is None:
            self._signature = Signature(fn, docs, strict, localns)
            self.parameters = self._signature.schema(strict)
        else:
            self.parameters = dict(parameters)
        self.description = description or summary or self.name.replace("_", " ")
        self.is_async = inspect.iscoroutinefunction(fn)
        functools.update_wrapper(self, fn)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Tool(name={self.name!r})"

    def to_param(self) -> FunctionToolParam:
        """The tool as the API wants it: ``{"type": "function", "function": {...}}``."""
        # ``strict`` is local only: the reference (§2.3) lists name, description and parameters, nothing more.
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }

    def bind(self, arguments: Mapping[str, Any]) -> tuple[list[object], dict[str, object]]:
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
            errors = pydantic_errors(exc)
            raise ToolArgumentsError(self._message(errors), tool=self.name, errors=errors) from None

    def _message(self, errors: list[str]) -> str:
        return f"Invalid arguments for {self.name}: " + "; ".join(errors)


@overload
def tool(fn: Callable[_P, _R], /) -> Tool[_P, _R]: ...
@overload
def tool(
    fn: None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    strict: bool = False,
) -> Callable[[Callable[_P, _R]], Tool[_P, _R]]: ...
@overload
def tool(
    fn: Callable[_P, _R],
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    strict: bool = False,
) -> Tool[_P, _R]: ...
def tool(
    fn: Callable[_P, _R] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    strict: bool = False,
) -> Tool[_P, _R] | Callable[[Callable[_P, _R]], Tool[_P, _R]]:
    """Make a function a tool: ``@tool``, ``@tool(name=..., description=..., strict=True)`` or ``tool(fn)``.

    ``parameters`` replaces the generated schema with a hand-written one (checked by ``check_schema``).
    """

    def wrap(f: Callable[_P, _R], depth: int = 1) -> Tool[_P, _R]:
        if isinstance(f, Tool):
            f = f.fn
        localns = sys._getframe(depth).f_locals  # the decorating code's locals, for string annotations
        return Tool(f, name=name, description=description, parameters=parameters, strict=strict, localns=localns)

    return wrap(fn, 2) if fn is not None else wrap


def tool_params(tools: list[Any] | None) -> tuple[list[ToolParam], dict[str, Tool[..., object]]]:
    """Split a mixed ``tools=[...]`` list into the API's tool objects and the local implementations by name.

    Items may be ``Tool``s, plain functions (made tools here), API tool dicts (hand-written function
    schemas without an implementation, ``web_search``, ``retrieval``).
    """
    if tools is not None and not isinstance(tools, list | tuple):
        raise InputError(
            f"tools must be a list (got a {type(tools).__name__}).", hint="Wrap a single tool in a list: tools=[one]."
        )
    params: list[ToolParam] = []
    local: dict[str, Tool[..., object]] = {}
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
            params.append(cast("ToolParam", item))  # checked above: a known type, a named function
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
