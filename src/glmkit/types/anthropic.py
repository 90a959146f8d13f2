"""Anthropic Messages wire types: ``POST /v1/messages`` as Claude Code and the ``anthropic`` package speak it.

Shared by the gateway (which translates them to GLM chat) and the emulator's Anthropic-compatible
endpoint (``/api/anthropic/v1/messages``, reference §1.1 and §14.2). Requests are ``TypedDict``s that
document the body; neither server validates against them: the gateway checks a request's shape by hand
(``glmkit.gateway.anthropic_check``: liberal, one pass, no model on the hot path) and the emulator checks
the few fields it needs. Responses are ``Model``s (``extra="allow"``).
"""

from __future__ import annotations

from typing import Any, Literal, Required

from typing_extensions import TypedDict

from glmkit.types._base import Endpoint, JSONObject
from glmkit.types._model import Model

MESSAGES = Endpoint("POST", "/v1/messages", "anthropic")
COUNT_TOKENS = Endpoint("POST", "/v1/messages/count_tokens", "anthropic")

StopReason = Literal[
    "end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal", "model_context_window_exceeded"
]

# GLM's ``finish_reason`` -> Anthropic's ``stop_reason``; the gateway and the emulator both read it. ``sensitive``
# (the content filter) is Anthropic's ``refusal``; a reason not listed is ``end_turn``.
STOP_REASONS: dict[str, StopReason] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "sensitive": "refusal",
    "model_context_window_exceeded": "model_context_window_exceeded",
}


def stop_reason_for(finish: str | None) -> StopReason:
    """The Anthropic stop reason of a GLM ``finish_reason`` (``None`` is a normal stop)."""
    return STOP_REASONS.get(finish or "stop", "end_turn")


# Anthropic's error types and the HTTP status each one travels with.
ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",  # Anthropic's API sends it; the SDK's ErrorObject union does not list it
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def error_type_for(status: int) -> str:
    """The Anthropic error type of an HTTP status (``api_error`` for unknown 5xx, ``invalid_request_error`` for 4xx)."""
    if status in ERROR_TYPES:
        return ERROR_TYPES[status]
    if status == 434:
        return "permission_error"
    if status == 503:
        return "overloaded_error"
    return "api_error" if status >= 500 else "invalid_request_error"


# Business codes Z.AI's own Anthropic endpoint answers as 529 ``overloaded_error`` (reference §17: 1305); the
# translated route answers them the same way, so a client sees one status whichever upstream mode is on.
OVERLOADED_CODES = frozenset({"1305"})


def anthropic_status(status: int, code: str | None = None) -> int:
    """The status an Anthropic client gets for an upstream ``status`` and business ``code``."""
    return 529 if code in OVERLOADED_CODES else status


def error_body(status: int, message: str, *, code: str | None = None) -> JSONObject:
    """``{"type": "error", "error": {"type", "message"}}``; Z.AI adds its business ``code`` (reference §17)."""
    err: JSONObject = {"type": error_type_for(anthropic_status(status, code)), "message": message}
    if code is not None:
        err["code"] = code
    return {"type": "error", "error": err}


# ---- request -------------------------------------------------------------------------------------


class CacheControl(TypedDict, total=False):
    type: Required[Literal["ephemeral"]]
    ttl: str


class TextBlockParam(TypedDict, total=False):
    type: Required[Literal["text"]]
    text: Required[str]
    cache_control: CacheControl | None
    citations: Any


class Base64ImageSource(TypedDict):
    type: Literal["base64"]
    media_type: str
    """``image/jpeg``, ``image/png``, ``image/gif`` or ``image/webp``."""
    data: str


class URLImageSource(TypedDict):
    type: Literal["url"]
    url: str


class ImageBlockParam(TypedDict, total=False):
    type: Required[Literal["image"]]
    source: Required[Base64ImageSource | URLImageSource]
    cache_control: CacheControl | None


class ToolUseBlockParam(TypedDict, total=False):
    type: Required[Literal["tool_use"]]
    id: Required[str]
    name: Required[str]
    input: Required[Any]
    cache_control: CacheControl | None


class ToolResultBlockParam(TypedDict, total=False):
    type: Required[Literal["tool_result"]]
    tool_use_id: Required[str]
    content: str | list[TextBlockParam | ImageBlockParam]
    is_error: bool
    cache_control: CacheControl | None


class ThinkingBlockParam(TypedDict, total=False):
    type: Required[Literal["thinking"]]
    thinking: Required[str]
    signature: str


class RedactedThinkingBlockParam(TypedDict):
    type: Literal["redacted_thinking"]
    data: str


ContentBlockParam = (
    TextBlockParam
    | ImageBlockParam
    | ToolUseBlockParam
    | ToolResultBlockParam
    | ThinkingBlockParam
    | RedactedThinkingBlockParam
)


class MessageParam(TypedDict):
    role: Literal["user", "assistant"]
    content: str | list[ContentBlockParam]


class ToolParam(TypedDict, total=False):
    name: Required[str]
    description: str
    input_schema: Required[dict[str, Any]]
    type: str
    """``custom`` or absent for a client tool; server tools (web search, bash) are not forwarded."""
    cache_control: CacheControl | None


class ToolChoiceParam(TypedDict, total=False):
    type: Required[Literal["auto", "any", "tool", "none"]]
    name: str
    disable_parallel_tool_use: bool


class ThinkingConfigParam(TypedDict, total=False):
    type: Required[Literal["enabled", "disabled", "adaptive"]]
    budget_tokens: int


class MetadataParam(TypedDict, total=False):
    user_id: str | None


class MessageCreateParams(TypedDict, total=False):
    """The body of ``POST /v1/messages``."""

    model: Required[str]
    """A Claude name (mapped to a GLM model by the gateway) or a GLM id; a ``[1m]`` suffix is stripped."""
    max_tokens: Required[int]
    messages: Required[list[MessageParam]]
    system: str | list[TextBlockParam]
    stream: bool
    temperature: float
    top_p: float
    top_k: int
    stop_sequences: list[str]
    tools: list[ToolParam]
    tool_choice: ToolChoiceParam
    thinking: ThinkingConfigParam
    metadata: MetadataParam
    output_config: dict[str, Any]
    """Claude Code's ``{"effort": "low"|"medium"|"high"|"max"}``."""


# ---- response ------------------------------------------------------------------------------------


class TextBlock(Model):
    type: Literal["text"] = "text"
    text: str


class ThinkingBlock(Model):
    type: Literal["thinking"] = "thinking"
    thinking: str
    signature: str = ""


class ToolUseBlock(Model):
    type: Literal["tool_use"] = "tool_use"
    id: str
    name: str
    input: Any


class RedactedThinkingBlock(Model):
    """Thinking the upstream withheld (passthrough mode relays it as it came)."""

    type: Literal["redacted_thinking"] = "redacted_thinking"
    data: str


ContentBlock = TextBlock | ThinkingBlock | RedactedThinkingBlock | ToolUseBlock


class Usage(Model):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None


class Message(Model):
    """A whole Anthropic answer."""

    id: str
    type: Literal["message"] = "message"
    role: Literal["assistant"] = "assistant"
    model: str
    content: list[ContentBlock]
    stop_reason: StopReason | None = None
    stop_sequence: str | None = None
    usage: Usage


__all__ = [name for name in dir() if not name.startswith("_") and name[0].isupper()] + [
    "anthropic_status",
    "error_body",
    "error_type_for",
    "stop_reason_for",
]
