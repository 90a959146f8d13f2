"""``client.agents``: Z.AI's v1 agents (translation, slides, Vidu templates), their async results and conversations.

Agents live at ``{root}/v1/agents``, not under ``/paas/v4`` (reference §10, errata 21). Message
content is sent as a list of text parts, and the target language goes in
``custom_variables.target_lang`` (errata 7), whatever form the caller used.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, TypeVar

import httpx
from typing_extensions import Unpack

from glmkit._errors import InputError
from glmkit._flows import Flow
from glmkit._resource import AsyncResource, SyncResource
from glmkit._streaming import AsyncStream, Stream, StreamCore
from glmkit._transport import Call, request_id_of, split_options, with_options
from glmkit.media import image_part, limits
from glmkit.resources._tasks import check_options, download_call, require_id, waiting
from glmkit.types import JSONObject
from glmkit.types.agents import (
    AGENT_ASYNC_RESULT,
    AGENT_CONVERSATION,
    AGENTS,
    SLIDES,
    TRANSLATION,
    VIDU_TEMPLATE,
    AgentChunk,
    AgentInvokeParams,
    AgentResponse,
    ConversationParams,
    TranslateParams,
)
from glmkit.types.videos import WaitParams

__all__ = ["Agents", "AsyncAgents", "agent_call"]


def _normalize_messages(messages: Any, text: str | None) -> list[dict[str, Any]]:
    if text is not None:
        if not isinstance(text, str):
            raise InputError(f"text must be a string (got a {type(text).__name__}).", hint="Pass the text itself.")
        messages = [{"role": "user", "content": text}]
    if not isinstance(messages, list) or not messages:
        raise InputError("Give text=... or a non-empty messages list.")
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or "content" not in m:
            raise InputError(f"messages[{i}] must be a dict with 'role' and 'content'.")
        content = m["content"]
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]  # the API wants a list of parts (errata 7)
        elif not isinstance(content, list | tuple):
            raise InputError(
                f"messages[{i}]['content'] must be a string or a list of parts (got a {type(content).__name__}).",
                hint='Use [{"type": "text", "text": "..."}].',
            )
        out.append({"role": m.get("role", "user"), "content": list(content)})
    return out


def _check_translation(variables: dict[str, Any]) -> None:
    lim = limits("agents")
    langs = lim["languages"]
    target = variables.setdefault("target_lang", "zh-CN")
    source = variables.get("source_lang", "auto")
    if target not in langs or target in lim["source_only_languages"]:
        raise InputError(
            f"target_lang {target!r} is not a language the translation agent translates into.",
            hint="Use a code such as en, ja, ko, fr, de, es, zh-CN, zh-TW (see limits.toml [agents]).",
        )
    if source not in langs or source in lim["target_only_languages"]:
        raise InputError(
            f"source_lang {source!r} is not a language the translation agent reads.",
            hint="Use 'auto' or a code such as en, ja, zh-CN (en-GB and en-US are targets only).",
        )
    strategy = variables.get("strategy")
    if strategy is not None and strategy not in lim["translation_strategies"]:
        raise InputError(f"strategy must be one of {', '.join(lim['translation_strategies'])} (got {strategy!r}).")


def _check_vidu(variables: dict[str, Any], messages: list[dict[str, Any]]) -> None:
    templates = limits("agents")["vidu_templates"]
    if variables.get("template") not in templates:
        raise InputError(
            f"vidu_template_agent needs custom_variables.template, one of {', '.join(templates)}.",
        )
    for m in messages:
        for i, part in enumerate(m["content"]):
            if isinstance(part, dict) and part.get("type") == "image_url":
                value = part.get("image_url")
                if isinstance(value, dict):
                    value = value.get("url")
                if not isinstance(value, str) or not value.startswith(("http://", "https://", "data:")):
                    value = image_part(value)["image_url"]["url"]  # a local image, checked, as a data URL
                m["content"][i] = {"type": "image_url", "image_url": value}  # a bare string (reference §10.1)
    if not any(isinstance(p, dict) and p.get("type") == "image_url" for m in messages for p in m["content"]):
        raise InputError("vidu_template_agent needs an image: add an image_url part (or pass image=...).")


S = TypeVar("S", Stream[AgentChunk], AsyncStream[AgentChunk])


def _open(cls: type[S], response: httpx.Response) -> S:
    return cls(response, StreamCore(AgentChunk.model_validate_json, None, request_id_of(response)))


def agent_body(params: Mapping[str, Any]) -> tuple[JSONObject, dict[str, object]]:
    """The body invoking an agent, checked for the agent's documented fields, and the per-call options."""
    params = dict(params)
    options = split_options(params)
    agent_id = params.get("agent_id")
    known = limits("agents")["ids"]
    if agent_id not in known:
        raise InputError(f"agent_id {agent_id!r} is not an agent of the API.", hint=f"Use one of {', '.join(known)}.")
    params["messages"] = _normalize_messages(params.get("messages"), params.pop("text", None))
    variables = params.get("custom_variables") or {}
    if not isinstance(variables, dict):
        raise InputError(
            f"custom_variables must be a dict (got a {type(variables).__name__}).",
            hint='e.g. custom_variables={"target_lang": "ja"}.',
        )
    variables = dict(variables)
    if agent_id == TRANSLATION:
        _check_translation(variables)
    elif agent_id == VIDU_TEMPLATE:
        _check_vidu(variables, params["messages"])
        params.pop("stream", None)
    if variables:
        params["custom_variables"] = variables
    if agent_id != VIDU_TEMPLATE:
        params["stream"] = bool(params.get("stream"))  # slides defaults to streaming on the server: say which
    return {k: v for k, v in params.items() if v is not None}, options


def agent_call(params: Mapping[str, Any], stream_cls: type[S]) -> Call[AgentResponse | S]:
    """The ``Call`` invoking an agent: a stream of ``stream_cls`` when the body streams, else a whole answer."""
    body, options = agent_body(params)
    if body.get("stream"):
        return with_options(Call(AGENTS, json=body, stream=functools.partial(_open, stream_cls)), options)
    return with_options(Call(AGENTS, json=body, parse=AgentResponse.model_validate_json), options)


def answer_call(params: Mapping[str, Any]) -> Call[AgentResponse]:
    """The ``Call`` invoking an agent for a whole answer (never streamed)."""
    body, options = agent_body(params)
    return with_options(Call(AGENTS, json=body, parse=AgentResponse.model_validate_json), options)


def async_result_call(agent_id: str, async_id: str) -> Call[AgentResponse]:
    """The ``Call`` polling an async agent job (Vidu templates)."""
    body = {"agent_id": require_id(agent_id, "agent_id"), "async_id": require_id(async_id, "async_id")}
    return Call(AGENT_ASYNC_RESULT, json=body, parse=AgentResponse.model_validate_json)


def conversation_call(conversation_id: str, options: ConversationParams) -> Call[AgentResponse]:
    """The ``Call`` exporting a slides conversation as files."""
    check_options(options, ConversationParams, "conversation")
    if not isinstance(conversation_id, str) or not conversation_id:
        raise InputError("conversation_id is required (from the slides agent's answer).")
    variables: dict[str, Any] = {"include_pdf": bool(options.get("include_pdf", False))}
    pages = options.get("pages")
    if pages is not None:
        if not isinstance(pages, list) or not all(isinstance(p, dict) for p in pages):
            raise InputError(
                "pages must be a list of dicts.", hint='e.g. pages=[{"position": 1, "width": 960, "height": 540}] (pt).'
            )
        variables["pages"] = pages
    agent_id = options.get("agent_id", SLIDES)
    body = {"agent_id": agent_id, "conversation_id": conversation_id, "custom_variables": variables}
    return Call(AGENT_CONVERSATION, json=body, parse=AgentResponse.model_validate_json)


def _status(result: AgentResponse) -> str:
    return {"success": "done", "failed": "failed"}.get(str(result.status).lower(), "pending")


def wait_flow(agent_id: str, async_id: str, options: WaitParams) -> Flow[AgentResponse]:
    """Poll an async agent job (every 5 s at first, for at most 900 s unless ``options`` say otherwise)."""
    return waiting(
        async_id,
        functools.partial(async_result_call, require_id(agent_id, "agent_id")),
        status_of=_status,
        what=f"{agent_id} job",
        defaults=(5.0, 900.0),
        error_of=lambda r: r.error.model_dump() if r.error is not None else None,
        **options,
    )


def translate_call(text: str, options: TranslateParams) -> Call[AgentResponse]:
    """The ``Call`` translating ``text`` with the translation agent."""
    check_options(options, TranslateParams, "translate")
    variables: dict[str, Any] = {
        "source_lang": options.get("source", "auto"),
        "target_lang": options.get("to", "zh-CN"),
    }
    for key in ("strategy", "glossary"):
        if options.get(key):
            variables[key] = options[key]
    return answer_call({"agent_id": TRANSLATION, "text": text, "custom_variables": variables})


def slides_call(prompt: str, conversation_id: str | None) -> Call[AgentResponse]:
    """The ``Call`` making (or continuing) a slide deck."""
    return answer_call({"agent_id": SLIDES, "text": prompt, "conversation_id": conversation_id})


def vidu_call(image: Any, template: str, prompt: str | None) -> Call[AgentResponse]:
    """The ``Call`` starting a Vidu template video from an image."""
    if image is None:
        raise InputError("image is required: a URL, a path, bytes or a data URL of the face/subject.")
    content: list[dict[str, Any]] = [{"type": "image_url", "image_url": image}]
    if prompt:
        content.insert(0, {"type": "text", "text": prompt})
    messages = [{"role": "user", "content": content}]
    return answer_call({"agent_id": VIDU_TEMPLATE, "messages": messages, "custom_variables": {"template": template}})


class Agents(SyncResource):
    """``client.agents``."""

    def invoke(self, agent_id: str, **params: Unpack[AgentInvokeParams]) -> AgentResponse | Stream[AgentChunk]:
        """Call an agent: ``messages=`` (or ``text=``), ``custom_variables=``, ``stream=``, ``conversation_id=``.

        Returns an ``AgentResponse`` (``.text``, ``.async_id``, ``.conversation_id``), or a stream of
        ``AgentChunk`` with ``stream=True``.
        """
        return self._client._request(agent_call({**params, "agent_id": agent_id}, Stream[AgentChunk]))

    def translate(self, text: str, **options: Unpack[TranslateParams]) -> AgentResponse:
        """Translate text with the translation agent (to ``zh-CN`` unless ``to=``); ``.text`` is the translation."""
        return self._client._request(translate_call(text, options))

    def slides(self, prompt: str, *, conversation_id: str | None = None) -> AgentResponse:
        """Make (or continue) a slide deck; ``.pages`` holds each page's HTML, ``.conversation_id`` the deck."""
        return self._client._request(slides_call(prompt, conversation_id))

    def vidu_template(self, image: Any, template: str, *, prompt: str | None = None) -> AgentResponse:
        """Start a Vidu template video from an image; ``wait(VIDU_TEMPLATE, result.async_id)`` for the video."""
        return self._client._request(vidu_call(image, template, prompt))

    def async_result(self, agent_id: str, async_id: str) -> AgentResponse:
        """An async agent job's state (``pending``, ``success``, ``failed``)."""
        return self._client._request(async_result_call(agent_id, async_id))

    def wait(self, agent_id: str, async_id: str, **options: Unpack[WaitParams]) -> AgentResponse:
        """Poll an async agent job until ``success`` (raises ``JobFailedError``/``JobTimeoutError``)."""
        return self._client._run(wait_flow(agent_id, async_id, options))

    def conversation(self, conversation_id: str, **options: Unpack[ConversationParams]) -> AgentResponse:
        """Export a slides conversation: ``.urls("file_url")`` are the deck (and PDF with ``include_pdf``)."""
        return self._client._request(conversation_call(conversation_id, options))

    def download(self, url: str) -> bytes:
        """The bytes behind a file or video URL an agent returned."""
        return self._client._request(download_call(url))


class AsyncAgents(AsyncResource):
    """``client.agents`` on ``AsyncClient``."""

    async def invoke(
        self, agent_id: str, **params: Unpack[AgentInvokeParams]
    ) -> AgentResponse | AsyncStream[AgentChunk]:
        """Call an agent (see ``Agents.invoke``)."""
        return await self._client._request(agent_call({**params, "agent_id": agent_id}, AsyncStream[AgentChunk]))

    async def translate(self, text: str, **options: Unpack[TranslateParams]) -> AgentResponse:
        """Translate text with the translation agent."""
        return await self._client._request(translate_call(text, options))

    async def slides(self, prompt: str, *, conversation_id: str | None = None) -> AgentResponse:
        """Make (or continue) a slide deck."""
        return await self._client._request(slides_call(prompt, conversation_id))

    async def vidu_template(self, image: Any, template: str, *, prompt: str | None = None) -> AgentResponse:
        """Start a Vidu template video from an image."""
        return await self._client._request(vidu_call(image, template, prompt))

    async def async_result(self, agent_id: str, async_id: str) -> AgentResponse:
        """An async agent job's state."""
        return await self._client._request(async_result_call(agent_id, async_id))

    async def wait(self, agent_id: str, async_id: str, **options: Unpack[WaitParams]) -> AgentResponse:
        """Poll an async agent job until ``success``."""
        return await self._client._run(wait_flow(agent_id, async_id, options))

    async def conversation(self, conversation_id: str, **options: Unpack[ConversationParams]) -> AgentResponse:
        """Export a slides conversation."""
        return await self._client._request(conversation_call(conversation_id, options))

    async def download(self, url: str) -> bytes:
        """The bytes behind a file or video URL an agent returned."""
        return await self._client._request(download_call(url))
