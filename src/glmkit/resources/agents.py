"""``client.agents``: Z.AI's v1 agents (translation, slides, Vidu templates), their async results and conversations.

Agents live at ``{root}/v1/agents``, not under ``/paas/v4`` (reference §10, errata 21). Message
content is sent as a list of text parts, and the target language goes in
``custom_variables.target_lang`` (errata 7), whatever form the caller used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from glmkit._errors import InputError
from glmkit._resource import AsyncResource, SyncResource
from glmkit._streaming import AsyncStream, Stream, StreamCore
from glmkit._transport import Call, request_id_of, split_options, with_options
from glmkit.media import image_part, limits
from glmkit.resources._tasks import download_call, wait_for_task
from glmkit.types.agents import (
    AGENT_ASYNC_RESULT,
    AGENT_CONVERSATION,
    AGENTS,
    SLIDES,
    TRANSLATION,
    VIDU_TEMPLATE,
    AgentChunk,
    AgentResponse,
)
from glmkit.types.videos import TaskProgress

__all__ = ["Agents", "AsyncAgents", "agent_call"]


def _normalize_messages(messages: Any, text: str | None) -> list[dict[str, Any]]:
    if text is not None:
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
        out.append({"role": m.get("role", "user"), "content": list(content)})
    return out


def _check_translation(variables: dict[str, Any]) -> None:
    lim = limits("agents")
    langs = lim["languages"]
    target = variables.setdefault("target_lang", "zh-CN")
    source = variables.get("source_lang", "auto")
    if target not in langs or target == "auto":
        raise InputError(
            f"target_lang {target!r} is not a language the translation agent knows.",
            hint="Use a code such as en, ja, ko, fr, de, es, zh-CN, zh-TW (see limits.toml [agents]).",
        )
    if source not in langs:
        raise InputError(f"source_lang {source!r} is not a language the translation agent knows (or 'auto').")
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


def _open_stream(response: httpx.Response, kind: str) -> Stream[AgentChunk] | AsyncStream[AgentChunk]:
    core = StreamCore(AgentChunk.model_validate_json, None, request_id_of(response))
    return (Stream if kind == "sync" else AsyncStream)(response, core)


def agent_call(params: dict[str, Any], *, stream: bool | None = None) -> Call:
    """The ``Call`` invoking an agent, checked for the agent's documented fields."""
    params = dict(params)
    options = split_options(params)
    if stream is not None:
        params["stream"] = stream
    agent_id = params.get("agent_id")
    known = limits("agents")["ids"]
    if agent_id not in known:
        raise InputError(f"agent_id {agent_id!r} is not an agent of the API.", hint=f"Use one of {', '.join(known)}.")
    params["messages"] = _normalize_messages(params.get("messages"), params.pop("text", None))
    variables = dict(params.get("custom_variables") or {})
    if agent_id == TRANSLATION:
        _check_translation(variables)
    elif agent_id == VIDU_TEMPLATE:
        _check_vidu(variables, params["messages"])
        params.pop("stream", None)
    if variables:
        params["custom_variables"] = variables
    if agent_id != VIDU_TEMPLATE:
        params["stream"] = bool(params.get("stream"))  # slides defaults to streaming on the server: say which
    body = {k: v for k, v in params.items() if v is not None}
    if body.get("stream"):
        return with_options(Call(AGENTS, json=body, stream=_open_stream), options)
    return with_options(Call(AGENTS, json=body, parse=AgentResponse.model_validate_json), options)


def async_result_call(agent_id: str, async_id: str) -> Call:
    """The ``Call`` polling an async agent job (Vidu templates)."""
    if not async_id:
        raise InputError("async_id is required.")
    body = {"agent_id": agent_id, "async_id": async_id}
    return Call(AGENT_ASYNC_RESULT, json=body, parse=AgentResponse.model_validate_json)


def conversation_call(
    agent_id: str, conversation_id: str, *, include_pdf: bool = False, pages: list[dict[str, Any]] | None = None
) -> Call:
    """The ``Call`` exporting a slides conversation as files."""
    if not conversation_id:
        raise InputError("conversation_id is required (from the slides agent's answer).")
    variables: dict[str, Any] = {"include_pdf": include_pdf}
    if pages is not None:
        variables["pages"] = pages
    body = {"agent_id": agent_id, "conversation_id": conversation_id, "custom_variables": variables}
    return Call(AGENT_CONVERSATION, json=body, parse=AgentResponse.model_validate_json)


def _status(result: AgentResponse) -> str:
    return {"success": "done", "failed": "failed"}.get(str(result.status).lower(), "pending")


def _wait_flow(agent_id: str, async_id: str, **kwargs: Any) -> Any:
    return wait_for_task(
        async_id,
        lambda aid: async_result_call(agent_id, aid),
        status_of=_status,
        what=f"{agent_id} job",
        error_of=lambda r: r.error.model_dump() if r.error is not None else None,
        **kwargs,
    )


def _translation(text: str, to: str, source: str, strategy: str | None, glossary: str | None) -> dict[str, Any]:
    variables: dict[str, Any] = {"source_lang": source, "target_lang": to}
    if strategy:
        variables["strategy"] = strategy
    if glossary:
        variables["glossary"] = glossary
    return {"agent_id": TRANSLATION, "text": text, "custom_variables": variables}


def _vidu(image: Any, template: str, prompt: str | None) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "image_url", "image_url": image}]
    if prompt:
        content.insert(0, {"type": "text", "text": prompt})
    return {
        "agent_id": VIDU_TEMPLATE,
        "messages": [{"role": "user", "content": content}],
        "custom_variables": {"template": template},
    }


class Agents(SyncResource):
    """``client.agents``."""

    def invoke(self, agent_id: str, **params: Any) -> Any:
        """Call an agent: ``messages=`` (or ``text=``), ``custom_variables=``, ``stream=``, ``conversation_id=``.

        Returns an ``AgentResponse`` (``.text``, ``.async_id``, ``.conversation_id``), or a stream of
        ``AgentChunk`` with ``stream=True``.
        """
        return self._client._request(agent_call({**params, "agent_id": agent_id}))

    def translate(
        self,
        text: str,
        *,
        to: str = "zh-CN",
        source: str = "auto",
        strategy: str | None = None,
        glossary: str | None = None,
    ) -> AgentResponse:
        """Translate text with the translation agent; ``.text`` is the translation."""
        return self._client._request(agent_call(_translation(text, to, source, strategy, glossary)))  # type: ignore[no-any-return]

    def slides(self, prompt: str, *, conversation_id: str | None = None) -> AgentResponse:
        """Make (or continue) a slide deck; ``.pages`` holds each page's HTML, ``.conversation_id`` the deck."""
        params = {"agent_id": SLIDES, "text": prompt, "conversation_id": conversation_id}
        return self._client._request(agent_call(params))  # type: ignore[no-any-return]

    def vidu_template(self, image: Any, template: str, *, prompt: str | None = None) -> AgentResponse:
        """Start a Vidu template video from an image; ``wait(VIDU_TEMPLATE, result.async_id)`` for the video."""
        return self._client._request(agent_call(_vidu(image, template, prompt)))  # type: ignore[no-any-return]

    def async_result(self, agent_id: str, async_id: str) -> AgentResponse:
        """An async agent job's state (``pending``, ``success``, ``failed``)."""
        return self._client._request(async_result_call(agent_id, async_id))  # type: ignore[no-any-return]

    def wait(
        self,
        agent_id: str,
        async_id: str,
        *,
        poll: float = 5.0,
        timeout: float = 900.0,
        on_progress: Callable[[TaskProgress], Any] | None = None,
        cancel: Any = None,
    ) -> AgentResponse:
        """Poll an async agent job until ``success`` (raises ``JobFailedError``/``JobTimeoutError``)."""
        flow = _wait_flow(agent_id, async_id, poll=poll, timeout=timeout, on_progress=on_progress, cancel=cancel)
        return self._client._run(flow)  # type: ignore[no-any-return]

    def conversation(
        self,
        conversation_id: str,
        *,
        agent_id: str = SLIDES,
        include_pdf: bool = False,
        pages: list[dict[str, Any]] | None = None,
    ) -> AgentResponse:
        """Export a slides conversation: ``.urls("file_url")`` are the deck (and PDF with ``include_pdf``)."""
        call = conversation_call(agent_id, conversation_id, include_pdf=include_pdf, pages=pages)
        return self._client._request(call)  # type: ignore[no-any-return]

    def download(self, url: str) -> bytes:
        """The bytes behind a file or video URL an agent returned."""
        return self._client._request(download_call(url))  # type: ignore[no-any-return]


class AsyncAgents(AsyncResource):
    """``client.agents`` on ``AsyncClient``."""

    async def invoke(self, agent_id: str, **params: Any) -> Any:
        """Call an agent (see ``Agents.invoke``)."""
        return await self._client._request(agent_call({**params, "agent_id": agent_id}))

    async def translate(
        self,
        text: str,
        *,
        to: str = "zh-CN",
        source: str = "auto",
        strategy: str | None = None,
        glossary: str | None = None,
    ) -> AgentResponse:
        """Translate text with the translation agent."""
        return await self._client._request(agent_call(_translation(text, to, source, strategy, glossary)))  # type: ignore[no-any-return]

    async def slides(self, prompt: str, *, conversation_id: str | None = None) -> AgentResponse:
        """Make (or continue) a slide deck."""
        params = {"agent_id": SLIDES, "text": prompt, "conversation_id": conversation_id}
        return await self._client._request(agent_call(params))  # type: ignore[no-any-return]

    async def vidu_template(self, image: Any, template: str, *, prompt: str | None = None) -> AgentResponse:
        """Start a Vidu template video from an image."""
        return await self._client._request(agent_call(_vidu(image, template, prompt)))  # type: ignore[no-any-return]

    async def async_result(self, agent_id: str, async_id: str) -> AgentResponse:
        """An async agent job's state."""
        return await self._client._request(async_result_call(agent_id, async_id))  # type: ignore[no-any-return]

    async def wait(
        self,
        agent_id: str,
        async_id: str,
        *,
        poll: float = 5.0,
        timeout: float = 900.0,
        on_progress: Callable[[TaskProgress], Any] | None = None,
        cancel: Any = None,
    ) -> AgentResponse:
        """Poll an async agent job until ``success``."""
        flow = _wait_flow(agent_id, async_id, poll=poll, timeout=timeout, on_progress=on_progress, cancel=cancel)
        return await self._client._run(flow)  # type: ignore[no-any-return]

    async def conversation(
        self,
        conversation_id: str,
        *,
        agent_id: str = SLIDES,
        include_pdf: bool = False,
        pages: list[dict[str, Any]] | None = None,
    ) -> AgentResponse:
        """Export a slides conversation."""
        call = conversation_call(agent_id, conversation_id, include_pdf=include_pdf, pages=pages)
        return await self._client._request(call)  # type: ignore[no-any-return]

    async def download(self, url: str) -> bytes:
        """The bytes behind a file or video URL an agent returned."""
        return await self._client._request(download_call(url))  # type: ignore[no-any-return]
