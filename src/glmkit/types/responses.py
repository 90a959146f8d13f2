"""OpenAI Responses wire types: ``POST {root}/v1/responses`` (reference §1.1, §14.6; live-evidence §5).

Z.AI serves the Responses API for Codex at ``https://api.z.ai/api/v1/responses``. Which of OpenAI's fields it
accepts is not documented: the request type lists what glmkit sends and translates; the rest passes through
``extra_body`` (UNVERIFIED). One set of types for the SDK (``client.responses``), the emulator
(``/api/v1/responses``) and the gateway (``/v1/responses``). Field names follow OpenAI's ``openai.types.responses``.

Streams are named SSE events (``event: response.output_text.delta``) each carrying ``type`` and a
``sequence_number``; ``ResponseAccumulator`` folds them into the final ``Response``.
"""

from __future__ import annotations

from typing import Any, Literal, Required

from typing_extensions import TypedDict

from glmkit.types._base import Endpoint
from glmkit.types._model import Model
from glmkit.types._params import RequestOptions

RESPONSES = Endpoint("POST", "/v1/responses", "root")

# ---- request -------------------------------------------------------------------------------------


class InputText(TypedDict):
    type: Literal["input_text", "output_text"]
    text: str


class InputImage(TypedDict, total=False):
    type: Required[Literal["input_image"]]
    image_url: str
    """An http(s) URL or a data URL."""
    detail: str


class EasyInputMessage(TypedDict, total=False):
    type: Literal["message"]
    role: Required[Literal["user", "assistant", "system", "developer"]]
    content: Required[str | list[InputText | InputImage]]


class FunctionCallItem(TypedDict, total=False):
    type: Required[Literal["function_call"]]
    call_id: Required[str]
    name: Required[str]
    arguments: Required[str]
    """A JSON string."""
    id: str


class FunctionCallOutputItem(TypedDict, total=False):
    type: Required[Literal["function_call_output"]]
    call_id: Required[str]
    output: Required[str | list[InputText]]


class CustomToolCallItem(TypedDict, total=False):
    type: Required[Literal["custom_tool_call"]]
    call_id: Required[str]
    name: Required[str]
    input: Required[str]
    """The free-form text the model wrote (e.g. a patch for Codex's ``apply_patch``)."""


class CustomToolCallOutputItem(TypedDict, total=False):
    type: Required[Literal["custom_tool_call_output"]]
    call_id: Required[str]
    output: Required[str | list[InputText]]


class ReasoningItem(TypedDict, total=False):
    type: Required[Literal["reasoning"]]
    id: str
    summary: list[dict[str, Any]]
    content: list[dict[str, Any]]
    """``[{"type": "reasoning_text", "text": ...}]``: GLM's reasoning, sent back with tool results (§2.5)."""
    encrypted_content: str | None


InputItem = (
    EasyInputMessage
    | FunctionCallItem
    | FunctionCallOutputItem
    | CustomToolCallItem
    | CustomToolCallOutputItem
    | ReasoningItem
)


class FunctionTool(TypedDict, total=False):
    type: Required[Literal["function"]]
    name: Required[str]
    """1-64 characters of ``[a-zA-Z0-9_-]`` (GLM's rule for function names, reference §2.3)."""
    description: str
    parameters: dict[str, Any]
    strict: bool


class CustomTool(TypedDict, total=False):
    type: Required[Literal["custom"]]
    name: Required[str]
    description: str
    format: dict[str, Any]
    """``{"type": "text"}`` or a grammar; GLM sees a function taking one string ``input`` (gateway, emulator)."""


class ReasoningParam(TypedDict, total=False):
    effort: str
    """GLM efforts (``low``/``high``/``max`` on GLM-5.3); OpenAI's names are mapped to the nearest one."""
    summary: str
    """Accepted and ignored: GLM's reasoning is not summarised (UNVERIFIED on Z.AI)."""


class ResponseCreateBody(RequestOptions, total=False):
    """The body of a Responses request, ``stream`` aside."""

    model: Required[str]
    input: Required[str | list[InputItem]]
    """A prompt, or a list of input items (messages, function calls and their outputs, reasoning)."""
    instructions: str
    """A system message put before the input."""
    tools: list[FunctionTool | CustomTool]
    tool_choice: Literal["auto", "none", "required"] | dict[str, Any]
    """``auto`` is the only choice GLM documents (§2.1); ``required`` and a named tool are UNVERIFIED."""
    parallel_tool_calls: bool
    reasoning: ReasoningParam
    max_output_tokens: int
    temperature: float
    top_p: float
    store: bool
    """Whether Z.AI keeps the response; glmkit refuses ``previous_response_id`` (no stored responses)."""
    text: dict[str, Any]
    """``{"format": {"type": "text" | "json_object"}}``."""
    metadata: dict[str, str]
    include: list[str]
    user: str


class ResponseCreateParams(ResponseCreateBody, total=False):
    """A Responses request: the body and ``stream``."""

    stream: bool


# ---- response ------------------------------------------------------------------------------------


class OutputContent(Model):
    type: str = "output_text"
    text: str = ""
    annotations: list[Any] = []


class OutputItem(Model):
    """One item of ``Response.output``: ``message``, ``reasoning``, ``function_call`` or ``custom_tool_call``."""

    type: str
    id: str | None = None
    status: str | None = None
    role: str | None = None
    content: list[OutputContent] | None = None
    summary: list[dict[str, Any]] | None = None
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    input: str | None = None


class InputTokensDetails(Model):
    cached_tokens: int = 0


class OutputTokensDetails(Model):
    reasoning_tokens: int = 0


class ResponseUsage(Model):
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    input_tokens_details: InputTokensDetails | None = None
    output_tokens_details: OutputTokensDetails | None = None


class ResponseError(Model):
    code: str | None = None
    message: str = ""


class Response(Model):
    """A whole answer of the Responses API."""

    id: str | None = None
    object: str = "response"
    created_at: float | None = None
    model: str | None = None
    status: str | None = None
    output: list[OutputItem] = []
    usage: ResponseUsage | None = None
    error: ResponseError | None = None
    incomplete_details: dict[str, Any] | None = None

    @property
    def output_text(self) -> str:
        """The text of every ``output_text`` part, joined (as openai's ``Response.output_text``)."""
        return "".join(c.text for item in self.output if item.type == "message" for c in item.content or [])

    @property
    def reasoning(self) -> str:
        """The reasoning text of every reasoning item, joined ('' when none)."""
        parts: list[str] = []
        for item in self.output:
            if item.type == "reasoning":
                parts.extend(c.text for c in item.content or [])
        return "".join(parts)

    @property
    def tool_calls(self) -> list[OutputItem]:
        """The ``function_call`` and ``custom_tool_call`` items, in order."""
        return [i for i in self.output if i.type in ("function_call", "custom_tool_call")]


class ResponseStreamEvent(Model):
    """One event of a streamed answer; ``type`` says which (``response.output_text.delta``, ...)."""

    type: str
    sequence_number: int | None = None
    response: Response | None = None
    output_index: int | None = None
    item_id: str | None = None
    content_index: int | None = None
    item: OutputItem | None = None
    delta: str | None = None
    text: str | None = None
    arguments: str | None = None
    code: str | None = None
    message: str | None = None


# ---- assembly ------------------------------------------------------------------------------------


class ResponseAccumulator:
    """Folds stream events into the ``Response`` they add up to; ``complete`` once a terminal event came."""

    __slots__ = ("complete", "final", "items", "started", "texts")

    def __init__(self) -> None:
        self.started: Response | None = None
        self.final: Response | None = None
        self.items: dict[int, OutputItem] = {}
        self.texts: dict[int, list[str]] = {}
        self.complete = False

    def add(self, event: ResponseStreamEvent) -> None:
        """Fold one event in."""
        kind = event.type
        if kind.endswith(".delta") and event.delta is not None and event.output_index is not None:
            self.texts.setdefault(event.output_index, []).append(event.delta)
        elif kind in ("response.output_item.added", "response.output_item.done") and event.item is not None:
            self.items[event.output_index or 0] = event.item
        elif kind in ("response.created", "response.in_progress"):
            self.started = event.response
        elif kind in ("response.completed", "response.failed", "response.incomplete"):
            self.final = event.response
            self.complete = True

    @property
    def text(self) -> str:
        """The answer's text so far."""
        return "".join(
            "".join(self.texts.get(i, [])) for i, item in sorted(self.items.items()) if item.type == "message"
        )

    def result(self) -> Response:
        """The final response, or what has arrived so far."""
        if self.final is not None:
            return self.final
        base = self.started.model_copy() if self.started is not None else Response(status="in_progress")
        output = []
        for index, item in sorted(self.items.items()):
            text = "".join(self.texts.get(index, []))
            if item.type == "message" and text and not item.content:
                item = item.model_copy(update={"content": [OutputContent(text=text)]})
            elif item.type == "function_call" and text and not item.arguments:
                item = item.model_copy(update={"arguments": text})
            output.append(item)
        base.output = output
        return base


__all__ = [name for name in dir() if not name.startswith("_") and name[0].isupper()]
