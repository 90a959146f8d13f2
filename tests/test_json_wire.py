"""glmkit._json: what every request body and chunk goes through. The standard library is the reference: the same
values read and written (the text compact, non-ASCII kept), and its errors where a value is refused."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glmkit._json import dumpb, dumps, loads, loads_text

SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)


def std(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@settings(max_examples=400, deadline=None)
@given(VALUES)
def test_values_read_back_as_the_standard_library_reads_them(value: Any) -> None:
    text = dumps(value)
    assert json.loads(text) == json.loads(std(value))  # the same value (float spelling may differ: 1e+16, 1e16)
    assert dumpb(value) == text.encode()
    assert loads(text) == loads(text.encode()) == json.loads(std(value))


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_text_keeps_non_ascii_and_is_compact(text: str) -> None:
    body = {"content": text, "n": [1, 2]}
    out = dumps(body)
    assert out == std(body)
    assert ", " not in out.replace(text, "") and ": " not in out.replace(text, "")


@pytest.mark.parametrize(
    "value",
    [
        {"big": 2**70},  # beyond 64 bits
        {1: "int key", None: "null key"},  # keys that are not strings
        [-(2**64)],
    ],
)
def test_what_orjson_refuses_is_written_as_the_standard_library_writes_it(value: Any) -> None:
    assert dumps(value) == std(value)
    assert dumpb(value) == std(value).encode()


def test_reading_what_orjson_refuses() -> None:
    big = 123456789012345678901234567890
    for text in (f"{big}", f"[1,{big}]", f'{{"n":\n\t-{big}}}', f"[ {big}]"):
        assert loads(text) == json.loads(text) and loads(text.encode()) == json.loads(text)
    assert type(loads(f'{{"n": {big}}}')["n"]) is int
    assert loads(b'{"id":"0000000000000000000000000"}') == {"id": "0000000000000000000000000"}
    got = loads('{"x": NaN, "y": Infinity}')
    assert math.isnan(got["x"]) and got["y"] == math.inf
    assert loads(b"  [1]  ") == [1]


@pytest.mark.parametrize("bad", [b"{bad", b"[1] [2]", b"", b"\xff", '{"a": 1,}'])
def test_errors_are_the_standard_librarys(bad: bytes | str) -> None:
    with pytest.raises(ValueError) as ours:  # JSONDecodeError, or UnicodeDecodeError for bytes that are not UTF-8
        loads(bad)
    with pytest.raises(ValueError) as theirs:
        json.loads(bad)
    assert (type(ours.value), str(ours.value)) == (type(theirs.value), str(theirs.value))


def test_nan_and_infinity_are_written_as_null_which_is_json() -> None:
    """The standard library writes NaN and Infinity, which no JSON parser (nor Z.AI) accepts."""
    assert dumps({"t": math.nan, "u": [math.inf, -math.inf]}) == '{"t":null,"u":[null,null]}'


def test_unwritable_values_raise_the_standard_type_error() -> None:
    with pytest.raises(TypeError, match="Object of type object is not JSON serializable"):
        dumps({"x": object()})
    with pytest.raises(TypeError, match="not JSON serializable"):
        dumpb([object()])
    with pytest.raises(UnicodeEncodeError):  # a lone surrogate cannot go on the wire as UTF-8
        dumpb({"x": "\udc80"})


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": "\\ud800"}',
        b'["ok", "\\udc00x"]',
        b'{"a": "\\ud800\\u0041"}',
        b'{"n": 123456789012345678901234, "a": "\\udfff"}',
    ],
)
def test_a_body_read_as_text_refuses_a_lone_surrogate_and_names_it(raw: bytes) -> None:
    assert json.loads(raw)  # JSON allows it
    with pytest.raises(UnicodeEncodeError) as err:
        loads_text(raw)
    assert 0xD800 <= ord(err.value.object[err.value.start]) <= 0xDFFF


@pytest.mark.parametrize(
    "raw",
    [b'{"a": "\\ud83d\\ude00"}', b'{"a": "\\\\ud800"}', b'{"n": 123456789012345678901234}', b"[NaN]", b"{}"],
)
def test_a_body_read_as_text_is_what_json_reads_otherwise(raw: bytes) -> None:
    assert repr(loads_text(raw)) == repr(json.loads(raw))  # repr: NaN is not equal to itself


@pytest.mark.parametrize("bad", [b"{bad", b"", b"\xff"])
def test_a_body_read_as_text_fails_as_json_fails(bad: bytes) -> None:
    with pytest.raises(ValueError) as ours:
        loads_text(bad)
    with pytest.raises(ValueError) as theirs:
        json.loads(bad)
    assert (type(ours.value), str(ours.value)) == (type(theirs.value), str(theirs.value))
