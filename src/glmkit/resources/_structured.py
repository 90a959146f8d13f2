"""Structured output: ``client.chat.parse(model=, messages=, response_format=MyModel)``.

The API's ``response_format`` takes ``{"type": "json_object"}`` only (reference §2.1: ``json_schema`` is
undocumented and reported ignored), so the schema travels in the system prompt and the answer is
validated here; an answer that does not validate goes back to the model once, with the errors. The
flow yields the run loop's ``CallModel`` effects, so the runner's drivers perform it, sync and async.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Any, TypeVar, cast

from glmkit._errors import APIResponseValidationError, InputError
from glmkit.resources._run_flow import CallModel, Effect, RunOptions
from glmkit.resources._runner import drive_async, drive_sync
from glmkit.types._model import attach_raw_response
from glmkit.types.chat import ChatCompletion

T = TypeVar("T")

__all__ = ["ParsedCompletion", "parse_async", "parse_flow", "parse_sync"]


SCHEMA_INSTRUCTION = "Reply with one JSON object, and nothing else, that is valid against this JSON schema:"


class ParsedCompletion(ChatCompletion):
    """A chat completion whose text was validated into ``parsed`` (an instance of ``response_format``)."""

    parsed: Any = None
    attempts: int = 1
    """Model calls it took (2 when the first answer did not validate)."""


def _schema_of(response_format: Any) -> tuple[Any, dict[str, Any]]:
    from pydantic import TypeAdapter

    from glmkit.tools import clean_schema

    try:
        adapter = TypeAdapter(response_format)
        raw = adapter.json_schema()
    except Exception as exc:
        raise InputError(
            f"response_format must be a pydantic model, dataclass or TypedDict (got {response_format!r}: {exc}).",
            hint="Define `class Answer(BaseModel): ...` and pass response_format=Answer.",
        ) from exc
    schema = clean_schema(raw, raw.get("$defs", {}))
    if schema.get("type") != "object":
        raise InputError(
            "response_format must describe a JSON object (the API's json_object mode answers objects only).",
            hint="Wrap the value in a model: class Answer(BaseModel): items: list[str].",
        )
    return adapter, schema


def _with_instruction(messages: list[dict[str, Any]], schema: dict[str, Any]) -> list[dict[str, Any]]:
    text = f"{SCHEMA_INSTRUCTION}\n```json\n{json.dumps(schema, ensure_ascii=False)}\n```"
    if messages and messages[0].get("role") == "system" and isinstance(messages[0].get("content"), str):
        return [{**messages[0], "content": messages[0]["content"] + "\n\n" + text}, *messages[1:]]
    return [{"role": "system", "content": text}, *messages]


def _json_text(content: str) -> str:
    text = content.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text.strip()


def parse_flow(params: dict[str, Any], retries: int = 1) -> Generator[Effect, object, ParsedCompletion]:
    """Ask for JSON, validate it; on a validation error, show the model the error and ask again."""
    from pydantic import ValidationError

    params = dict(params)
    if "response_format" not in params:
        raise InputError("parse() needs response_format=<a pydantic model>.")
    if not isinstance(params.get("messages"), list) or not params["messages"]:
        raise InputError("messages must be a non-empty list, e.g. [{'role': 'user', 'content': '...'}].")
    target = params.pop("response_format")
    adapter, schema = _schema_of(target)
    target_name = getattr(target, "__name__", None) or "the schema"
    params.pop("stream", None)
    messages = _with_instruction(params.pop("messages"), schema)
    base = {**params, "response_format": {"type": "json_object"}}
    for attempt in range(retries + 1):
        completion = cast(ChatCompletion, (yield CallModel({**base, "messages": messages})))
        content = completion.content
        try:
            parsed = adapter.validate_json(_json_text(content))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in exc.errors(include_url=False)
            )
            if attempt == retries:
                error = APIResponseValidationError(
                    f"The model's answer did not validate against {target_name} "
                    f"after {attempt + 1} attempts: {problems}",
                    hint="The raw answer is on .completion; simplify the schema or the prompt.",
                )
                error.completion = completion
                raise error from None
            messages = [
                *messages,
                {"role": "assistant", "content": content},
                {
                    "role": "user",
                    "content": f"That answer is not valid: {problems}. Reply with only the corrected JSON object.",
                },
            ]
            continue
        result = ParsedCompletion.model_construct(**dict(completion), parsed=parsed, attempts=attempt + 1)
        if completion.raw_response is not None:  # status, headers and request id, as on the completion itself
            attach_raw_response(result, completion.raw_response)
        return result
    raise AssertionError("unreachable")


def _capture(flow: Generator[Effect, Any, T], box: list[T]) -> Generator[Effect, Any, None]:
    box.append((yield from flow))


def parse_sync(client: Any, params: dict[str, Any]) -> ParsedCompletion:
    """``client.chat.parse``."""
    box: list[ParsedCompletion] = []
    for _ in drive_sync(client, _capture(parse_flow(params), box), RunOptions()):
        pass
    return box[0]


async def parse_async(client: Any, params: dict[str, Any]) -> ParsedCompletion:
    """``await aclient.chat.parse``."""
    box: list[ParsedCompletion] = []
    async for _ in drive_async(client, _capture(parse_flow(params), box), RunOptions()):
        pass
    return box[0]
