"""``@tool``: schemas from type hints and docstrings, argument validation, the tools list."""

from __future__ import annotations

import enum
import typing
from typing import Annotated, Literal, Optional

import pytest
import typing_extensions
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from glmkit import InputError, Tool, tool
from glmkit.tools import MAX_TOOLS, ToolArgumentsError, check_schema, parse_docstring, tool_params


def params(t: Tool) -> dict:
    return t.to_param()["function"]["parameters"]


def prop(t: Tool, name: str) -> dict:
    return params(t)["properties"][name]


# ---- type hints ------------------------------------------------------------------------------------


def test_scalars_defaults_and_required() -> None:
    @tool
    def f(s: str, i: int, x: float, b: bool, n: int = 3) -> None:
        """Scalars."""

    assert params(f) == {
        "type": "object",
        "properties": {
            "s": {"type": "string"},
            "i": {"type": "integer"},
            "x": {"type": "number"},
            "b": {"type": "boolean"},
            "n": {"type": "integer", "default": 3},
        },
        "required": ["s", "i", "x", "b"],
    }


def test_literal_and_enum_become_enums() -> None:
    class Unit(enum.Enum):
        C = "celsius"
        F = "fahrenheit"

    @tool
    def f(mode: Literal["fast", "slow"], unit: Unit = Unit.C, one: Literal[1] = 1) -> None:
        """Enums."""

    assert prop(f, "mode") == {"type": "string", "enum": ["fast", "slow"]}
    assert prop(f, "unit") == {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"}
    assert prop(f, "one") == {"type": "integer", "const": 1, "default": 1}


def test_optional_and_union_none_are_nullable_types() -> None:
    @tool
    def f(a: Optional[int] = None, b: str | None = None, c: int | str = 0) -> None:  # noqa: UP045
        """Nullable."""

    assert prop(f, "a") == {"type": ["integer", "null"], "default": None}
    assert prop(f, "b") == {"type": ["string", "null"], "default": None}
    assert prop(f, "c") == {"type": ["integer", "string"], "default": 0}
    assert "required" not in params(f)


def test_containers() -> None:
    @tool
    def f(tags: list[str], counts: dict[str, int], point: tuple[int, str], many: tuple[float, ...]) -> None:
        """Containers."""

    assert prop(f, "tags") == {"type": "array", "items": {"type": "string"}}
    assert prop(f, "counts") == {"type": "object", "additionalProperties": {"type": "integer"}}
    assert prop(f, "point") == {
        "type": "array",
        "prefixItems": [{"type": "integer"}, {"type": "string"}],
        "minItems": 2,
        "maxItems": 2,
    }
    assert prop(f, "many") == {"type": "array", "items": {"type": "number"}}


class Address(BaseModel):
    """A postal address."""

    street: str
    zip: str = Field(description="Postal code")


class Box(TypedDict):
    width: int
    height: int


def test_pydantic_models_and_typeddicts_are_inlined_without_titles() -> None:
    @tool
    def f(home: Address, boxes: list[Box], other: Address | None = None) -> None:
        """Nested."""

    address = {
        "type": "object",
        "description": "A postal address.",
        "properties": {"street": {"type": "string"}, "zip": {"type": "string", "description": "Postal code"}},
        "required": ["street", "zip"],
    }
    assert prop(f, "home") == address
    assert prop(f, "boxes") == {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"width": {"type": "integer"}, "height": {"type": "integer"}},
            "required": ["width", "height"],
        },
    }
    assert prop(f, "other") == {"anyOf": [address, {"type": "null"}], "default": None}
    assert "$defs" not in params(f) and "title" not in str(params(f))


def test_values_inside_a_schema_keep_their_title_keys() -> None:
    class Kind(BaseModel):
        title: str
        rank: int = 0

    @tool
    def f(
        meta: dict[str, str] = {"title": "Untitled", "lang": "en"},  # noqa: B006
        kind: Kind = Kind(title="chapter"),
        mode: Literal["title", "body"] = "title",
    ) -> None:
        """Defaults that look like schema keywords."""

    assert prop(f, "meta")["default"] == {"title": "Untitled", "lang": "en"}
    assert prop(f, "kind")["default"] == {"title": "chapter", "rank": 0}
    assert prop(f, "kind")["properties"] == {"title": {"type": "string"}, "rank": {"type": "integer", "default": 0}}
    assert prop(f, "mode") == {"type": "string", "enum": ["title", "body"], "default": "title"}


def test_annotated_descriptions_string_and_field() -> None:
    @tool
    def f(
        path: Annotated[str, "The file to read."],
        limit: Annotated[int, Field(description="Most lines.", ge=1, le=500)] = 200,
    ) -> None:
        """Annotated.

        Args:
            path: loses to the Annotated text.
        """

    assert prop(f, "path") == {"type": "string", "description": "The file to read."}
    assert prop(f, "limit") == {
        "type": "integer",
        "description": "Most lines.",
        "minimum": 1,
        "maximum": 500,
        "default": 200,
    }


def test_parameter_names_that_clash_with_pydantic_are_fine() -> None:
    @tool
    def f(json: str, model_config: int = 1, schema: bool = False) -> str:
        """Clashing names."""
        return f"{json}-{model_config}-{schema}"

    assert set(params(f)["properties"]) == {"json", "model_config", "schema"}
    args, kwargs = f.bind({"json": "x", "model_config": 2})
    assert f(*args, **kwargs) == "x-2-False"


def test_methods_become_tools_when_bound() -> None:
    class Repo:
        def __init__(self) -> None:
            self.root = "/src"

        def read(self, path: str) -> str:
            """Read a file of the repo."""
            return f"{self.root}/{path}"

    t = tool(Repo().read)
    assert list(params(t)["properties"]) == ["path"]
    args, kwargs = t.bind({"path": "a.py"})
    assert t(*args, **kwargs) == "/src/a.py"
    with pytest.raises(InputError, match="unbound method"):
        tool(Repo.read)


def test_var_args_are_refused_with_a_fix() -> None:
    def f(*items: str) -> None:
        """Var."""

    with pytest.raises(InputError, match="named parameters"):
        tool(f)


class Opaque:
    pass


def test_types_without_a_json_schema_are_refused_with_a_fix() -> None:
    def f(x: Opaque) -> None:
        """F."""

    with pytest.raises(InputError, match="tool f") as info:
        tool(f)
    assert "parameters=" in (info.value.hint or "")


class Old(typing.TypedDict, total=False):
    a: int
    tags: typing.Required[list[str]]


class New(typing_extensions.TypedDict, total=False):
    a: int
    tags: typing_extensions.Required[list[str]]


class OldOuter(typing.TypedDict):
    inner: list[Old] | None


def test_a_typing_typeddict_gives_the_same_schema_as_a_typing_extensions_one_on_every_python() -> None:
    def g(x: Old, y: OldOuter) -> None:
        """G."""

    def h(x: New) -> None:
        """H."""

    old, new = tool(g).parameters, tool(h).parameters
    assert old["properties"]["x"] == new["properties"]["x"]
    assert old["properties"]["x"]["required"] == ["tags"]
    assert old["properties"]["y"]["properties"]["inner"]["anyOf"][0]["items"] == old["properties"]["x"]
    assert tool(g).bind({"x": {"tags": ["a"]}, "y": {"inner": None}}) == (
        [],
        {"x": {"tags": ["a"]}, "y": {"inner": None}},
    )


# ---- docstrings ------------------------------------------------------------------------------------


def test_google_docstring() -> None:
    @tool
    def search(query: str, limit: int = 10) -> list[str]:
        """Search the code base.

        Longer text that is not the summary.

        Args:
            query (str): What to look for;
                a regular expression.
            limit: How many hits at most.

        Returns:
            The matching lines.
        """
        return []

    fn = search.to_param()["function"]
    assert fn["name"] == "search"
    assert fn["description"] == "Search the code base."
    assert fn["parameters"]["properties"]["query"]["description"] == "What to look for; a regular expression."
    assert fn["parameters"]["properties"]["limit"]["description"] == "How many hits at most."


def test_numpy_docstring() -> None:
    def convert(amount: float, currency: str) -> float:
        """Convert money
        between currencies.

        Parameters
        ----------
        amount : float
            How much money,
            in the source currency.
        currency : str
            ISO code of the target.

        Returns
        -------
        float
        """
        return amount

    t = tool(convert)
    assert t.description == "Convert money between currencies."
    assert prop(t, "amount")["description"] == "How much money, in the source currency."
    assert prop(t, "currency")["description"] == "ISO code of the target."


def test_rest_docstring() -> None:
    @tool
    def move(src: str, dst: str, force: bool = False) -> None:
        """Move a file.

        :param src: Where from.
        :param str dst: Where to,
            relative to the workspace.
        :param force: Overwrite.
        :type force: bool
        :returns: nothing
        """

    assert move.description == "Move a file."
    assert prop(move, "src")["description"] == "Where from."
    assert prop(move, "dst")["description"] == "Where to, relative to the workspace."
    assert prop(move, "force")["description"] == "Overwrite."


def test_parse_docstring_without_sections_and_none() -> None:
    assert parse_docstring("Just a line.\n\nAnd more.") == ("Just a line.", {})
    assert parse_docstring(None) == ("", {})


def test_name_description_and_strict_overrides() -> None:
    @tool(name="read-file", description="Read it.", strict=True)
    def read_file(path: str) -> str:
        """Ignored summary."""
        return path

    fn = read_file.to_param()["function"]
    assert fn["name"] == "read-file" and fn["description"] == "Read it."
    assert fn["parameters"]["additionalProperties"] is False
    with pytest.raises(ToolArgumentsError, match="extra: Extra inputs are not permitted"):
        read_file.bind({"path": "a", "extra": 1})
    with pytest.raises(ToolArgumentsError):
        read_file.bind({"path": 5})  # strict: no coercion
    assert read_file("x") == "x"  # still the function


def test_bad_tool_name_is_refused() -> None:
    with pytest.raises(InputError, match="1-64 characters"):
        tool(name="has space")(lambda: None)


# ---- validation ------------------------------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


def test_bind_converts_to_real_python_values() -> None:
    @tool
    def paint(color: Color, where: Address, size: tuple[int, int], count: int = 1, /) -> str:
        """Paint."""
        return "ok"

    args, kwargs = paint.bind({"color": "blue", "where": {"street": "Main", "zip": "1"}, "size": [1, 2]})
    assert args == [Color.BLUE, Address(street="Main", zip="1"), (1, 2), 1] and kwargs == {}


def test_bind_reports_every_problem() -> None:
    @tool
    def f(a: int, b: Literal["x", "y"]) -> None:
        """F."""

    with pytest.raises(ToolArgumentsError) as info:
        f.bind({"a": "many", "b": "z"})
    assert info.value.tool == "f"
    assert len(info.value.errors) == 2
    assert "a:" in info.value.errors[0] and '"many"' in info.value.errors[0]
    assert "b:" in info.value.errors[1]


def test_hand_written_schema_with_an_implementation() -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string", "minLength": 2}, "days": {"type": "integer", "maximum": 7}},
        "required": ["city"],
        "additionalProperties": False,
    }

    @tool(parameters=schema, description="Weather.")
    def weather(**kwargs: object) -> str:
        return str(kwargs)

    assert params(weather) == schema
    assert weather.bind({"city": "Oslo", "days": 3}) == ([], {"city": "Oslo", "days": 3})
    with pytest.raises(ToolArgumentsError) as info:
        weather.bind({"city": "O", "days": 9, "x": 1})
    assert len(info.value.errors) == 3


@pytest.mark.parametrize(
    ("schema", "value", "ok"),
    [
        ({"type": ["string", "null"]}, None, True),
        ({"type": "integer"}, True, False),
        ({"enum": ["a"]}, "b", False),
        ({"anyOf": [{"type": "integer"}, {"type": "string"}]}, 1.5, False),
        ({"type": "array", "prefixItems": [{"type": "integer"}], "items": {"type": "string"}}, [1, "a"], True),
        ({"type": "array", "prefixItems": [{"type": "integer"}]}, ["a"], False),
        ({"type": "object", "required": ["a"]}, {}, False),
        ({"type": "array", "minItems": 1}, [], False),
    ],
)
def test_check_schema(schema: dict, value: object, ok: bool) -> None:
    assert (check_schema(schema, value) == []) is ok


# ---- the tools list --------------------------------------------------------------------------------


def test_functions_dicts_and_builtin_tools_mix() -> None:
    def plain(x: int) -> int:
        """Plain function."""
        return x

    web = {"type": "web_search", "web_search": {"enable": True, "search_engine": "search_pro_jina"}}
    retrieval = {"type": "retrieval", "retrieval": {"knowledge_id": "k1"}}
    hand = {"type": "function", "function": {"name": "ext", "description": "d", "parameters": {"type": "object"}}}
    api, local = tool_params([plain, web, retrieval, hand])
    assert [t["type"] for t in api] == ["function", "web_search", "retrieval", "function"]
    assert api[1] is web and api[3] is hand
    assert list(local) == ["plain"]


def test_more_than_128_function_tools_is_refused_locally() -> None:
    tools = [tool(name=f"t{i}")(lambda: None) for i in range(MAX_TOOLS)]
    tool_params(tools)  # 128 is fine
    web = {"type": "web_search", "web_search": {}}
    tool_params([*tools, web])  # built-in tools do not count
    with pytest.raises(InputError, match="129 function tools"):
        tool_params([*tools, tool(name="one_more")(lambda: None)])


def test_a_single_tool_instead_of_a_list_is_refused_with_a_fix() -> None:
    @tool
    def one() -> None:
        """One."""

    for wrong in (one, {"type": "web_search", "web_search": {}}, "one"):
        with pytest.raises(InputError, match="tools must be a list") as err:
            tool_params(wrong)  # type: ignore[arg-type]
        assert "tools=[one]" in (err.value.hint or "")


@pytest.mark.parametrize(
    ("item", "needle"),
    [({"type": "code_interpreter"}, "Unknown tool type"), (42, "int"), ({"type": "function"}, "needs")],
)
def test_bad_tools_are_refused(item: object, needle: str) -> None:
    with pytest.raises(InputError, match=needle):
        tool_params([item])


def test_duplicate_names_are_refused() -> None:
    def a() -> None:
        """A."""

    with pytest.raises(InputError, match="Two tools"):
        tool_params([a, tool(a)])
    hand = {"type": "function", "function": {"name": "a", "description": "Runs elsewhere.", "parameters": {}}}
    for tools in ([hand, a], [a, hand], [hand, dict(hand)]):
        with pytest.raises(InputError, match="Two tools are named 'a'"):
            tool_params(tools)
