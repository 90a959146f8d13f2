"""Chat completions: ``POST {chat base}/chat/completions`` (reference §2)."""

from __future__ import annotations

from typing import Any, Literal, Required

from typing_extensions import TypedDict

from glmkit.types._base import Endpoint
from glmkit.types._model import Model
from glmkit.types._params import RequestOptions

CHAT_COMPLETIONS = Endpoint("POST", "/chat/completions", "chat")
ASYNC_CHAT_COMPLETIONS = Endpoint("POST", "/async/chat/completions", "chat")
ASYNC_RESULT = Endpoint("GET", "/async-result/{id}", "general")

FinishReason = Literal["stop", "tool_calls", "length", "sensitive", "network_error", "model_context_window_exceeded"]
ABNORMAL_FINISH = frozenset({"sensitive", "network_error"})


# ---- request -------------------------------------------------------------------------------------


class ImageURL(TypedDict):
    url: str
    """An http(s) URL, a data URL, or bare base64 (jpg/png, < 5 MB, <= 6000x6000 px)."""


class ContentPartText(TypedDict):
    type: Literal["text"]
    text: str


class ContentPartImage(TypedDict):
    type: Literal["image_url"]
    image_url: ImageURL


class ContentPartVideo(TypedDict):
    type: Literal["video_url"]
    video_url: ImageURL


class ContentPartFileURL(TypedDict):
    type: Literal["file_url"]
    file_url: ImageURL


class FileRef(TypedDict, total=False):
    file_id: str
    file_url: str
    file_data: str
    filename: str


class ContentPartFile(TypedDict):
    type: Literal["file"]
    file: FileRef


ContentPart = ContentPartText | ContentPartImage | ContentPartVideo | ContentPartFileURL | ContentPartFile


class ToolCallFunctionParam(TypedDict):
    name: str
    arguments: str
    """A JSON string."""


class ToolCallParam(TypedDict):
    id: str
    type: Literal["function", "web_search", "retrieval"]
    function: ToolCallFunctionParam


class SystemMessage(TypedDict):
    role: Literal["system"]
    content: str


class UserMessage(TypedDict):
    role: Literal["user"]
    content: str | list[ContentPart]


class AssistantMessage(TypedDict, total=False):
    role: Required[Literal["assistant"]]
    content: str | None
    reasoning_content: str
    """Send the turn's reasoning back with its tool results (interleaved/preserved thinking)."""
    tool_calls: list[ToolCallParam]


class ToolMessage(TypedDict):
    role: Literal["tool"]
    content: str
    tool_call_id: str


MessageParam = SystemMessage | UserMessage | AssistantMessage | ToolMessage


class ThinkingParam(TypedDict, total=False):
    type: Required[Literal["enabled", "disabled"]]
    clear_thinking: bool
    """Drop reasoning of earlier turns (default true on the general endpoint)."""


class FunctionDefinition(TypedDict, total=False):
    name: Required[str]
    """1-64 characters of ``[a-zA-Z0-9_-]``."""
    description: str
    parameters: dict[str, Any]
    """A JSON Schema object."""


class FunctionToolParam(TypedDict):
    type: Literal["function"]
    function: FunctionDefinition


class WebSearchToolParam(TypedDict):
    type: Literal["web_search"]
    web_search: dict[str, Any]


class RetrievalToolParam(TypedDict):
    type: Literal["retrieval"]
    retrieval: dict[str, Any]


ToolParam = FunctionToolParam | WebSearchToolParam | RetrievalToolParam


class ResponseFormat(TypedDict):
    type: Literal["text", "json_object"]


class ChatSettings(RequestOptions, total=False):
    """What a chat request says besides its messages, tools and answer format (``run`` and ``parse`` take these)."""

    model: Required[str]
    """A model id such as ``glm-5`` or ``glm-4.7``; lowercase on the wire."""
    thinking: ThinkingParam
    """``{"type": "enabled"|"disabled"}``; GLM-5.3 cannot disable thinking."""
    reasoning_effort: str
    """GLM-5.2+: ``low``/``high``/``max`` (5.2 also accepts none/minimal/medium/xhigh)."""
    do_sample: bool
    temperature: float
    """0.0-1.0."""
    top_p: float
    """0.01-1.0."""
    max_tokens: int
    """1 to the model's maximum output (131072 for GLM-5.x/4.7/4.6)."""
    tool_stream: bool
    """Stream tool-call arguments (GLM-4.6+, with ``stream=True``)."""
    tool_choice: Literal["auto"] | dict[str, Any]
    stop: list[str]
    """One stop word at most."""
    request_id: str
    user_id: str
    """6-128 characters."""
    seed: int
    meta: dict[str, str]
    sensitive_word_check: dict[str, str]
    watermark_enabled: bool


class ChatCompletionBody(ChatSettings, total=False):
    """The body of a chat completion request (reference §2.1), ``stream`` aside (it picks the return type)."""

    messages: Required[list[MessageParam]]
    """The conversation; not only system/assistant messages."""
    tools: list[ToolParam]
    """Up to 128 tools."""
    response_format: ResponseFormat


class RunParams(ChatSettings, total=False):
    """``client.chat.run(...)`` / ``run_stream(...)``: a chat whose tools may be Python functions."""

    messages: Required[list[MessageParam]]
    """The conversation; not only system/assistant messages."""
    tools: list[Any]
    """Functions (plain or ``@tool``), ``Tool`` objects, or tool dicts (``ToolParam``); up to 128."""
    stream: bool
    """Stream each turn (``run`` returns the same result either way)."""
    response_format: ResponseFormat


class ParseParams(ChatSettings, total=False):
    """``client.chat.parse(response_format=Model, ...)``: the chat request besides the answer's model."""

    messages: Required[list[MessageParam]]
    """The conversation; not only system/assistant messages."""
    tools: list[ToolParam]


# ---- response ------------------------------------------------------------------------------------


class ChatCompletionParams(ChatCompletionBody, total=False):
    """A chat completion request: the body and ``stream``."""

    stream: bool
    """Answer as server-sent events."""


class FunctionCall(Model):
    name: str | None = None
    arguments: str | None = None
    """A JSON string; parse it with ``json.loads``."""


class ToolCall(Model):
    id: str | None = None
    type: str = "function"
    function: FunctionCall | None = None
    index: int | None = None


class ChatMessage(Model):
    role: str = "assistant"
    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCall] | None = None


class Choice(Model):
    index: int = 0
    finish_reason: str | None = None
    message: ChatMessage


class PromptTokensDetails(Model):
    cached_tokens: int | None = None


class CompletionTokensDetails(Model):
    reasoning_tokens: int | None = None


class Usage(Model):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    prompt_tokens_details: PromptTokensDetails | None = None
    completion_tokens_details: CompletionTokensDetails | None = None


class WebSearchResult(Model):
    title: str | None = None
    content: str | None = None
    link: str | None = None
    media: str | None = None
    icon: str | None = None
    refer: str | None = None
    publish_date: str | None = None


class ChatCompletion(Model):
    """A whole chat answer."""

    id: str | None = None
    request_id: str | None = None
    created: int | None = None
    model: str | None = None
    choices: list[Choice] = []
    usage: Usage | None = None
    web_search: list[WebSearchResult] | None = None

    @property
    def content(self) -> str:
        """The first choice's text ('' when none)."""
        return (self.choices[0].message.content or "") if self.choices else ""

    @property
    def reasoning(self) -> str:
        """The first choice's reasoning ('' when none)."""
        return (self.choices[0].message.reasoning_content or "") if self.choices else ""


class ChoiceDelta(Model):
    role: str | None = None
    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCall] | None = None


class ChunkChoice(Model):
    index: int = 0
    delta: ChoiceDelta = ChoiceDelta()
    finish_reason: str | None = None


class ChatCompletionChunk(Model):
    """One event of a streamed answer."""

    id: str | None = None
    created: int | None = None
    model: str | None = None
    choices: list[ChunkChoice] = []
    usage: Usage | None = None


class AsyncTask(Model):
    """An accepted async job (async chat, async images, videos)."""

    id: str
    request_id: str | None = None
    model: str | None = None
    task_status: str = "PROCESSING"


class AsyncChatResult(Model):
    id: str | None = None
    request_id: str | None = None
    model: str | None = None
    task_status: str
    choices: list[Choice] = []
    usage: Usage | None = None
