"""Agents API v1: ``POST {root}/v1/agents`` (+ ``/async-result``, ``/conversation``) (reference §10).

One endpoint serves three agents, picked by ``agent_id``: ``general_translation``,
``slides_glm_agent`` and ``vidu_template_agent``. Translation answers under ``choices[].messages``
(an object, per the docs) or ``choices[].message`` (per the official SDK); both are read.
"""

from __future__ import annotations

from typing import Any, Required

from typing_extensions import TypedDict

from glmkit.types._base import Endpoint, JSONObject
from glmkit.types._model import Model
from glmkit.types._params import RequestOptions

# The reference (§1.1, §10, errata 21) puts agents at {root}/v1/agents = https://api.z.ai/api/v1/agents.
# The official zai-sdk disagrees by accident: it appends /v1/agents to its one base URL and so posts to
# /api/paas/v4/v1/agents (UNVERIFIED whether the real service answers there). glmkit follows the
# reference; the emulator serves both paths so the SDK works against it.
AGENTS = Endpoint("POST", "/v1/agents", "root")
AGENT_ASYNC_RESULT = Endpoint("POST", "/v1/agents/async-result", "root")
AGENT_CONVERSATION = Endpoint("POST", "/v1/agents/conversation", "root")

TRANSLATION = "general_translation"
SLIDES = "slides_glm_agent"
VIDU_TEMPLATE = "vidu_template_agent"


class AgentInvokeParams(RequestOptions, total=False):
    """``client.agents.invoke(agent_id, ...)``: ``messages`` content is a list of parts (``text``, or ``image_url``
    as a bare string), or ``text`` for a one-part user message."""

    messages: list[Any]
    text: str
    stream: bool
    custom_variables: dict[str, Any]
    """Translation: ``source_lang``, ``target_lang`` (default ``zh-CN``), ``glossary``, ``strategy``,
    ``strategy_config``. Vidu: ``template``."""
    conversation_id: str | None
    """Slides: continue a deck."""
    request_id: str
    user_id: str
    sensitive_word_check: Any


class AgentParams(AgentInvokeParams, total=False):
    """An agent call: the agent and its ``AgentInvokeParams``."""

    agent_id: Required[str]


class TranslateParams(TypedDict, total=False):
    """``client.agents.translate(text, ...)`` options (sent as ``custom_variables``)."""

    to: str
    """Target language code (default ``zh-CN``): en, ja, ko, fr, de, es, zh-TW, ... (limits.toml [agents])."""
    source: str
    """Source language code, or ``auto`` (default)."""
    strategy: str | None
    """``general`` (default), ``paraphrase``, ``two_step``, ``three_step``, ``reflection``."""
    glossary: str | None
    """A glossary file id (upload it with ``client.files.create(purpose="agent", ...)``)."""


class ConversationParams(TypedDict, total=False):
    """``client.agents.conversation(conversation_id, ...)`` options."""

    agent_id: str
    """Default ``slides_glm_agent`` (the only agent with conversations)."""
    include_pdf: bool
    """Also export the deck as PDF."""
    pages: list[dict[str, Any]] | None
    """Page sizes: ``[{"position", "width", "height"}]`` in pt."""


class AgentError(Model):
    """An agent's error: ``code`` and ``message``."""

    code: Any = None
    message: str | None = None


class AgentUsage(Model):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    total_calls: int | None = None


def _texts(content: Any) -> list[str]:
    """Text pieces of a content value: a string, a ``{"type": "text"}`` object, or a list of them."""
    if isinstance(content, str):
        return [content]
    if isinstance(content, dict):
        if content.get("type", "text") == "text" and isinstance(content.get("text"), str):
            return [content["text"]]
        return []
    if isinstance(content, list):
        return [t for item in content for t in _texts(item)]
    return []


def _messages(choice: JSONObject) -> list[JSONObject]:
    value = choice.get("messages", choice.get("message"))
    if value is None:
        value = choice.get("delta")
    if isinstance(value, dict):
        return [value]
    return [m for m in value if isinstance(m, dict)] if isinstance(value, list) else []


class AgentChoice(Model):
    """One choice: ``message``/``messages`` hold the assistant's output, ``delta`` when streamed."""

    index: int = 0
    finish_reason: str | None = None

    @property
    def items(self) -> list[JSONObject]:
        """The assistant messages of this choice, whichever key carried them."""
        return _messages(self.model_dump())


class AgentResponse(Model):
    """What ``/v1/agents`` (and its async-result and conversation routes) answer."""

    id: str | None = None
    agent_id: str | None = None
    status: str | None = None
    async_id: str | None = None
    conversation_id: str | None = None
    choices: list[AgentChoice] = []
    usage: AgentUsage | None = None
    error: AgentError | None = None

    @property
    def text(self) -> str:
        """The answer's text (translation, or a deck's answer phase), joined."""
        parts: list[str] = []
        for choice in self.choices:
            for message in choice.items:
                if message.get("phase") in (None, "answer"):
                    parts.extend(_texts(message.get("content")))
        return "".join(parts)

    def content_of(self, kind: str) -> list[JSONObject]:
        """Every content item of a type, e.g. ``"video_url"``, ``"file_url"``, ``"object"``."""
        found: list[JSONObject] = []
        for choice in self.choices:
            for message in choice.items:
                content = message.get("content")
                for item in content if isinstance(content, list) else [content]:
                    if isinstance(item, dict) and item.get("type") == kind:
                        found.append(item)
        return found

    def urls(self, kind: str) -> list[str]:
        """The URLs of content items of a type (``video_url``, ``file_url``, ``image_url``)."""
        out = []
        for item in self.content_of(kind):
            value = item.get(kind)
            if isinstance(value, dict):
                value = value.get("url")
            if isinstance(value, str):
                out.append(value)
        return out

    @property
    def pages(self) -> list[JSONObject]:
        """Slides: the tool outputs that insert pages (``output`` is the page's HTML, ``position`` its numbers)."""
        return [
            page
            for item in self.content_of("object")
            if isinstance(page := item.get("object"), dict) and page.get("output")
        ]


class AgentChunk(AgentResponse):
    """One streamed event of an agent: the same shape, with ``choices[].delta`` (or partial messages)."""
