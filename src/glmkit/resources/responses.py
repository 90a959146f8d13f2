"""``client.responses``: the OpenAI Responses API on Z.AI (``{root}/v1/responses``, reference §1.1, §14.6).

Z.AI serves it for Codex; which of OpenAI's fields it takes is not documented. What the reference says
about chat holds for the model underneath and is checked here before sending (a chat model, the model's
output limit, sampling ranges, GLM's tool names, reasoning efforts the model has, images only on vision
models); everything else is sent as given and is UNVERIFIED on Z.AI's side.
"""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal, TypeVar, overload

import httpx
from typing_extensions import Unpack

from glmkit._errors import ContentFilterError, InputError, StreamError
from glmkit._resource import AsyncResource, SyncResource
from glmkit._streaming import AsyncStream, AsyncStreamManager, Stream, StreamCore
from glmkit._transport import Call, request_id_of, split_options, with_options
from glmkit.catalog import check_chat_model, default_model
from glmkit.types import JSONObject
from glmkit.types.responses import (
    RESPONSES,
    Response,
    ResponseAccumulator,
    ResponseCreateBody,
    ResponseCreateParams,
    ResponseStreamEvent,
)

__all__ = ["AsyncResponseStream", "AsyncResponses", "ResponseStream", "Responses"]

_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _range(body: dict[str, Any], name: str, lo: float, hi: float) -> None:
    value = body.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi):
        raise InputError(f"{name} must be a number from {lo} to {hi} (got {value!r}).")


def _has_images(given: Any) -> bool:
    if not isinstance(given, list):
        return False
    for item in given:
        content = item.get("content") if isinstance(item, dict) else None
        if isinstance(content, list) and any(isinstance(p, dict) and p.get("type") == "input_image" for p in content):
            return True
    return False


def prepare_response_params(params: dict[str, Any]) -> JSONObject:
    """Check a Responses request against what the reference says of the model underneath; the body to send."""
    if not params.get("model"):
        raise InputError("model is required, e.g. model='glm-5.3'.", hint="`glm models` lists them.")
    body = dict(params)
    model, info = check_chat_model(body["model"], hint="`glm models` lists them.")
    body["model"] = model
    given = body.get("input")
    if given is None or given == "" or given == []:
        raise InputError("input is required: a prompt string or a list of input items.")
    if not isinstance(given, str | list):
        raise InputError("input must be a string or a list of input items (dicts with a 'type').")
    if info is not None and not info.vision and _has_images(given):
        raise InputError(
            f"{model} reads text only, but the input has an input_image part.",
            hint=f"Use a vision model such as {default_model('vision')} or {default_model('fast')}.",
        )
    limit = info.max_output if info is not None and info.max_output else 131072
    mt = body.get("max_output_tokens")
    if mt is not None and (isinstance(mt, bool) or not isinstance(mt, int) or not 1 <= mt <= limit):
        raise InputError(f"max_output_tokens must be an integer from 1 to {limit} for {model} (got {mt!r}).")
    _range(body, "temperature", 0.0, 1.0)
    _range(body, "top_p", 0.01, 1.0)
    for tool in body.get("tools") or []:
        name = tool.get("name") if isinstance(tool, dict) and tool.get("type") in ("function", "custom") else None
        if name is not None and not _TOOL_NAME.match(str(name)):
            raise InputError(f"Tool name {name!r} must be 1-64 characters of letters, digits, '_' or '-'.")
    effort = (body.get("reasoning") or {}).get("effort")
    if effort is not None and info is not None:
        if not info.efforts:
            raise InputError(f"{model} takes no reasoning effort.", hint="Leave reasoning.effort out.")
        if effort not in info.efforts and effort not in info.effort_map:
            raise InputError(f"reasoning.effort {effort!r} is not one of {', '.join(info.efforts)} for {model}.")
    return body


def parse_response(content: bytes) -> Response:
    """Read a whole Responses answer."""
    return Response.model_validate_json(content)


class _ResponseStreamMixin:
    _core: StreamCore[ResponseStreamEvent]

    @property
    def current_response(self) -> Response:
        """What has arrived so far, assembled."""
        acc: ResponseAccumulator = self._core.accumulator
        return acc.result()

    def _check_end(self) -> None:
        acc: ResponseAccumulator = self._core.accumulator
        final = acc.final
        if final is not None and final.status == "failed":
            message = final.error.message if final.error is not None else "the response failed"
            raise StreamError(f"The response failed: {message}", partial=final, hint="Retry the request.")
        if final is not None and (final.incomplete_details or {}).get("reason") == "content_filter":
            error = ContentFilterError(
                "The answer was stopped by the content filter (response incomplete: content_filter).",
                status_code=200,
                code="1301",
                request_id=self._core.request_id,
                body=None,
                hint="What arrived before the filter is on the exception's .partial; rephrase the request.",
            )
            error.partial = final
            raise error


class ResponseStream(Stream[ResponseStreamEvent], _ResponseStreamMixin):
    """A streamed answer: iterate typed events, or ``text_stream``; then ``get_final_response()``."""

    @functools.cached_property
    def _events(self) -> Iterator[ResponseStreamEvent]:
        return iter(self)

    @property
    def text_stream(self) -> Iterator[str]:
        """The answer's text pieces as they arrive; raises ``StreamError`` if the response failed."""
        for event in self._events:
            if event.type == "response.output_text.delta" and event.delta:
                yield event.delta
        self._check_end()

    def until_done(self) -> ResponseStream:
        """Read the rest of the stream."""
        for _ in self._events:
            pass
        return self

    def get_final_response(self) -> Response:
        """Read the rest and return the whole response (output items, usage).

        Raises:
            StreamError: the stream ended with an ``error`` event or ``response.failed``.
            ContentFilterError: the answer was stopped by the content filter (``incomplete``, ``content_filter``).
            APIConnectionError: the stream was cut before a final event (``.partial`` holds what came).
        """
        if not self._core.done:
            self.until_done()
        self._check_end()
        return self.current_response


class AsyncResponseStream(AsyncStream[ResponseStreamEvent], _ResponseStreamMixin):
    """The async twin of ``ResponseStream``."""

    @functools.cached_property
    def _events(self) -> AsyncIterator[ResponseStreamEvent]:
        return self.__aiter__()

    @property
    async def text_stream(self) -> AsyncIterator[str]:
        """The answer's text pieces as they arrive (see ``ResponseStream.text_stream``)."""
        async for event in self._events:
            if event.type == "response.output_text.delta" and event.delta:
                yield event.delta
        self._check_end()

    async def until_done(self) -> AsyncResponseStream:
        """Read the rest of the stream."""
        async for _ in self._events:
            pass
        return self

    async def get_final_response(self) -> Response:
        """Read the rest and return the whole response (see ``ResponseStream.get_final_response``)."""
        if not self._core.done:
            await self.until_done()
        self._check_end()
        return self.current_response


S = TypeVar("S", ResponseStream, AsyncResponseStream)


def _open(cls: type[S], response: httpx.Response) -> S:
    return cls(
        response, StreamCore(ResponseStreamEvent.model_validate_json, ResponseAccumulator(), request_id_of(response))
    )


def response_call(params: dict[str, Any]) -> Call[Response]:
    """The ``Call`` for a whole Responses answer (shared by the sync and async resources)."""
    params = dict(params)
    options = split_options(params)
    body = prepare_response_params(params)
    body.pop("stream", None)
    return with_options(Call(RESPONSES, json=body, parse=parse_response), options)


def response_stream_call(params: dict[str, Any], cls: type[S]) -> Call[S]:
    """The ``Call`` for a streamed Responses answer, read as a ``cls`` stream."""
    params = dict(params)
    options = split_options(params)
    params["stream"] = True
    body = prepare_response_params(params)
    return with_options(Call(RESPONSES, json=body, stream=functools.partial(_open, cls)), options)


class Responses(SyncResource):
    """``client.responses``."""

    @overload
    def create(self, *, stream: Literal[True], **params: Unpack[ResponseCreateBody]) -> ResponseStream: ...
    @overload
    def create(self, *, stream: Literal[False] = ..., **params: Unpack[ResponseCreateBody]) -> Response: ...
    def create(self, **params: Any) -> Response | ResponseStream:
        """Create a response; with ``stream=True`` a ``ResponseStream`` (a context manager)."""
        if params.get("stream"):
            return self._client._request(response_stream_call(params, ResponseStream))
        return self._client._request(response_call(params))

    def stream(self, **params: Unpack[ResponseCreateParams]) -> ResponseStream:
        """Stream a response: ``with client.responses.stream(...) as s: ...``."""
        return self._client._request(response_stream_call(dict(params), ResponseStream))


class AsyncResponses(AsyncResource):
    """``client.responses`` on ``AsyncClient``."""

    @overload
    async def create(self, *, stream: Literal[True], **params: Unpack[ResponseCreateBody]) -> AsyncResponseStream: ...
    @overload
    async def create(self, *, stream: Literal[False] = ..., **params: Unpack[ResponseCreateBody]) -> Response: ...
    async def create(self, **params: Any) -> Response | AsyncResponseStream:
        """Create a response; with ``stream=True`` an ``AsyncResponseStream``."""
        if params.get("stream"):
            return await self._client._request(response_stream_call(params, AsyncResponseStream))
        return await self._client._request(response_call(params))

    def stream(self, **params: Unpack[ResponseCreateParams]) -> AsyncStreamManager[AsyncResponseStream]:
        """Stream a response: ``async with client.responses.stream(...) as s: ...``."""
        call = response_stream_call(dict(params), AsyncResponseStream)  # checked now, before any await
        return AsyncStreamManager(self._client._request(call))
