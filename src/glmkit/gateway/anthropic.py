"""Pure translators between Anthropic Messages and GLM chat completions (no I/O, so hypothesis can fuzz them).

- ``to_chat(body, config)``: an Anthropic request -> (GLM chat body, ``Plan``). The plan keeps what the
  way back needs: the model asked for and used, whether the client asked for thinking, stop sequences,
  the input-token estimate.
- ``to_message(completion, plan)``: a GLM completion -> an Anthropic message (``anthropic_response.py``,
  re-exported here with ``Plan`` and the helpers the stream translator shares).
- ``StreamTranslator`` (``anthropic_stream.py``): GLM chunks -> the exact Anthropic event sequence.

Notes where the reference is silent (kept here rather than invented elsewhere):
- GLM takes one stop word (§2.1), so stop sequences are enforced here, not upstream: any number works
  and ``stop_reason: stop_sequence`` is exact; a streamed answer is cut (and the upstream closed) at the match.
- GLM reasoning has no signature; in translate mode thinking blocks carry ``signature: ""``. Signatures
  sent back by clients are dropped on the way up (GLM cannot check them).
- Reasoning is relayed as thinking blocks whenever the model produced it, asked for or not (an
  always-thinking model thinks anyway, and Z.AI's own Anthropic endpoint does the same): the client then
  sends it back with its tool results, which interleaved thinking needs (§2.5).
- ``tool_choice`` other than ``auto`` is not documented (§2.1): ``any`` becomes ``auto``, ``tool`` keeps
  only the named tool, ``none`` sends no tools.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any

from glmkit._json import dumps as _DUMPS
from glmkit._tokens import estimate_messages, estimate_tools
from glmkit.catalog import chat_limits, get_model
from glmkit.gateway.anthropic_check import TranslationError, check_request
from glmkit.gateway.anthropic_response import (
    Plan,
    cut_at_stop,
    message_id,
    stop_reason_for,
    to_message,
    tool_input,
    usage_of,
)

if TYPE_CHECKING:
    from glmkit.catalog import ChatLimits

__all__ = [
    "Plan",
    "TranslationError",
    "check_context",
    "check_request",
    "cut_at_stop",
    "describe_body",
    "has_images",
    "image_blocks",
    "message_id",
    "replace_images",
    "stop_reason_for",
    "to_chat",
    "to_message",
    "tool_input",
    "usage_of",
]

_DROPPED: set[str] = set()
log = logging.getLogger("glmkit.gateway")
DESCRIBE_PROMPT = (
    "Describe this image in detail for a reader who cannot see it. Transcribe any visible text exactly, "
    "including code, error messages and UI labels."
)


# ---- request -------------------------------------------------------------------------------------


def _image_part(block: dict[str, Any]) -> dict[str, Any]:
    src = block.get("source") or {}
    if src.get("type") == "base64":
        # bare base64: what the official SDK sends (the data-URL form is UNVERIFIED, reference §2.1)
        return {"type": "image_url", "image_url": {"url": src.get("data", "")}}
    if src.get("type") == "url":
        return {"type": "image_url", "image_url": {"url": src.get("url", "")}}
    raise TranslationError("An image block needs source.type 'base64' (with media_type and data) or 'url'.")


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(b.get("text", "") for b in content or [] if isinstance(b, dict) and b.get("type") == "text")


def dropped(what: str) -> None:
    """Note, once per kind and process, a part of a request the gateway leaves out (liberal in what it accepts)."""
    if what not in _DROPPED:
        _DROPPED.add(what)
        log.debug("dropped from requests (GLM has no use for it): %s", what)


def _document_text(block: dict[str, Any]) -> str:
    """The text of a plain-text document or a search result (their meaning survives as text), else ``""``."""
    src = block.get("source") if block.get("type") == "document" else block
    if not isinstance(src, dict):
        return ""
    if block.get("type") == "document" and src.get("type") == "text":
        text = str(src.get("data") or "")
    elif isinstance(src.get("content"), list):
        text = _text_of(src["content"])
    else:
        return ""
    title = block.get("title")
    return f"{title}\n\n{text}" if isinstance(title, str) and title and text else text


def _user_turn(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One Anthropic user turn -> tool messages (first, answering the previous tool calls) then one user message."""
    tools: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for b in blocks:
        kind = b.get("type")
        if kind == "text":
            if b.get("text"):
                parts.append({"type": "text", "text": b["text"]})
        elif kind == "image":
            parts.append(_image_part(b))
        elif kind == "tool_result":
            content = b.get("content")
            text = _text_of(content) or "(no output)"
            if b.get("is_error"):
                text = "[tool error] " + text
            tools.append({"role": "tool", "tool_call_id": str(b.get("tool_use_id", "")), "content": text})
            if isinstance(content, list):
                parts.extend(_image_part(i) for i in content if isinstance(i, dict) and i.get("type") == "image")
        elif kind in ("document", "search_result") and (text := _document_text(b)):
            parts.append({"type": "text", "text": text})
        elif kind in ("thinking", "redacted_thinking"):
            continue
        else:
            dropped(f"{kind} block in a user message")
    out = tools
    if not tools and not parts:
        return [{"role": "user", "content": ""}]  # an empty turn: the pre-flight drops it and says so
    if parts:
        if all(p["type"] == "text" for p in parts):
            out.append({"role": "user", "content": "\n".join(p["text"] for p in parts)})
        else:
            out.append({"role": "user", "content": parts})
    return out


def _assistant_turn(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    text: list[str] = []
    reasoning: list[str] = []
    calls: list[dict[str, Any]] = []
    for b in blocks:
        kind = b.get("type")
        if kind == "text":
            text.append(b.get("text", ""))
        elif kind == "thinking":
            reasoning.append(b.get("thinking", ""))
        elif kind == "tool_use":
            args = _DUMPS(b.get("input") if b.get("input") is not None else {})
            calls.append(
                {"id": str(b.get("id")), "type": "function", "function": {"name": b.get("name"), "arguments": args}}
            )
        elif kind == "redacted_thinking":
            continue
        else:
            dropped(f"{kind} block in an assistant message")  # server tool calls and results: GLM ran none of them
    msg: dict[str, Any] = {"role": "assistant", "content": "".join(text)}
    if reasoning and any(reasoning):
        msg["reasoning_content"] = "".join(reasoning)
    if calls:
        msg["tool_calls"] = calls
    return msg


def _messages(body: dict[str, Any], labels: list[str]) -> list[dict[str, Any]]:
    """The chat messages; ``labels`` gets, for each, the name of the Anthropic message it came from."""
    out: list[dict[str, Any]] = []
    system = body.get("system")
    if system:
        text = system if isinstance(system, str) else "\n\n".join(b.get("text", "") for b in system if b.get("text"))
        if text:
            out.append({"role": "system", "content": text})
            labels.append("system")
    for k, m in enumerate(body["messages"]):
        content = m["content"]
        if m["role"] == "system":  # a system message in the conversation stays a system message, in its place
            if text := _text_of(content):
                out.append({"role": "system", "content": text})
        elif isinstance(content, str):
            out.append({"role": m["role"], "content": content})
        elif m["role"] == "user":
            out.extend(_user_turn(content))
        else:
            out.append(_assistant_turn(content))
        labels.extend([f"messages[{k}]"] * (len(out) - len(labels)))
    return out


def image_blocks(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Every image block of the request (tool results included), in order."""
    found = []
    for m in body.get("messages") or []:
        content = m.get("content")
        if not isinstance(content, list):
            continue
        for b in content:
            if not isinstance(b, dict):
                continue
            if b.get("type") == "image":
                found.append(b)
            elif b.get("type") == "tool_result" and isinstance(b.get("content"), list):
                found.extend(i for i in b["content"] if isinstance(i, dict) and i.get("type") == "image")
    return found


def has_images(body: dict[str, Any]) -> bool:
    """Whether the request carries any image block."""
    return bool(image_blocks(body))


def replace_images(body: dict[str, Any], descriptions: list[str]) -> dict[str, Any]:
    """A copy of the request with each image block replaced by a text block holding its description."""
    texts = iter(descriptions)

    def swap(b: Any) -> Any:
        if isinstance(b, dict) and b.get("type") == "image":
            return {"type": "text", "text": f"[Image: {next(texts, '(no description)')}]"}
        if isinstance(b, dict) and b.get("type") == "tool_result" and isinstance(b.get("content"), list):
            return {**b, "content": [swap(i) for i in b["content"]]}
        return b

    messages = [
        {**m, "content": [swap(b) for b in m["content"]]} if isinstance(m.get("content"), list) else m
        for m in body["messages"]
    ]
    return {**body, "messages": messages}


def describe_body(image: dict[str, Any], model: str) -> dict[str, Any]:
    """The GLM request asking the vision model to describe one image."""
    return {
        "model": model,
        "messages": [{"role": "user", "content": [_image_part(image), {"type": "text", "text": DESCRIBE_PROMPT}]}],
        "thinking": {"type": "disabled"},
    }


def _effort(wanted: str, efforts: tuple[str, ...], aliases: dict[str, str]) -> str | None:
    if wanted in efforts:
        return wanted
    if wanted in aliases:
        return aliases[wanted]
    order = ["none", "minimal", "low", "medium", "high", "xhigh", "max"]
    if wanted in order and efforts:
        rank = order.index(wanted)
        # the nearest accepted level at or above the wish, else the highest
        above = [e for e in efforts if e in order and order.index(e) >= rank]
        return min(above, key=order.index) if above else efforts[-1]
    return None


def _budget_effort(budget: Any) -> str | None:
    if not isinstance(budget, int):
        return None
    return "low" if budget < 4096 else "high" if budget < 16384 else "max"


def _thinking_fields(body: dict[str, Any], model: str) -> tuple[dict[str, Any], bool]:
    """GLM thinking fields for the model, and whether the client asked for thinking blocks."""
    cfg = body.get("thinking") or {}
    want = cfg.get("type") in ("enabled", "adaptive")
    info = get_model(model)
    if info is None:
        return {"thinking": {"type": "enabled" if want else "disabled"}}, want
    if info.thinking == "none":
        return {}, False
    wished = (body.get("output_config") or {}).get("effort") or _budget_effort(cfg.get("budget_tokens"))
    fields: dict[str, Any] = {}
    if want:
        fields["thinking"] = {"type": "enabled"}
        if info.efforts and wished and (e := _effort(str(wished), info.efforts, info.effort_map)):
            fields["reasoning_effort"] = e
    elif info.can_disable_thinking:
        fields["thinking"] = {"type": "disabled"}
    elif info.efforts:
        # an always-thinking model rejects `disabled` (reference §2.5, §17): ask for the least thinking
        fields["reasoning_effort"] = _effort("low", info.efforts, info.effort_map) or info.efforts[0]
    return fields, want


def _tools(body: dict[str, Any]) -> list[dict[str, Any]]:
    choice = body.get("tool_choice") or {}
    if choice.get("type") == "none":
        return []
    tools: list[dict[str, Any]] = []
    for t in body.get("tools") or []:
        if "input_schema" not in t or t.get("type") not in (None, "custom"):
            continue  # server tools (web_search_2025..., bash_...) have no GLM function form
        fn: dict[str, Any] = {"name": t["name"], "parameters": t["input_schema"]}
        fn["description"] = t.get("description") or ""
        tools.append({"type": "function", "function": fn})
    if choice.get("type") == "tool":
        tools = [t for t in tools if t["function"]["name"] == choice.get("name")] or tools
    return tools


def _user_id(value: Any, limits: ChatLimits) -> str | None:
    """A user id GLM takes: too short is dropped, too long is hashed (64 characters)."""
    lo, hi = limits.user_id_chars
    if not isinstance(value, str) or len(value) < lo:
        return None
    return value if len(value) <= hi else hashlib.sha256(value.encode()).hexdigest()


def check_context(plan: Plan, config: Any) -> None:
    """Raise Anthropic's ``prompt is too long: N tokens > M maximum`` (a 400; Claude Code compacts on exactly
    this wording) when the request's estimated input exceeds the model's window or ``config.max_context``.

    The count is the gateway's estimate (``glmkit._tokens``), not GLM's tokenizer: UNVERIFIED how close it is
    near the limit; Z.AI's own answer to an overlong prompt is a different 400 (1261), which Claude Code does
    not recognise."""
    info = get_model(plan.model)
    limits = [n for n in (getattr(config, "max_context", 0), info.context if info is not None else 0) if n]
    if limits and plan.input_tokens > min(limits):
        raise TranslationError(f"prompt is too long: {plan.input_tokens} tokens > {min(limits)} maximum")


def to_chat(body: dict[str, Any], config: Any, *, model: str | None = None) -> tuple[dict[str, Any], Plan]:
    """Translate an Anthropic request to a GLM chat body; ``config.map_model`` picks the model unless given."""
    check_request(body)
    requested = body["model"]
    glm = model or config.map_model(requested)
    routed = False
    info = get_model(glm)
    if info is not None and not info.vision and has_images(body):
        glm, routed = config.vision_model, True
        info = get_model(glm)
    labels: list[str] = []
    messages = _messages(body, labels)
    out: dict[str, Any] = {"model": glm, "messages": messages}
    mt = body["max_tokens"]
    out["max_tokens"] = min(mt, info.max_output) if info is not None and info.max_output else mt
    thinking, want = _thinking_fields(body, glm)
    out.update(thinking)
    limits = chat_limits()
    for name, lo, hi in limits.sampling:  # clamped to what GLM takes (Anthropic's temperature goes to 1 too)
        if isinstance(body.get(name), int | float):
            out[name] = min(max(float(body[name]), lo), hi)
    tools = _tools(body)
    if tools:
        out["tools"] = tools
        out["tool_choice"] = "auto"
    stream = bool(body.get("stream"))
    if stream:
        out["stream"] = True
        if tools and (info is None or info.tool_stream):
            out["tool_stream"] = True
    if uid := _user_id((body.get("metadata") or {}).get("user_id"), limits):
        out["user_id"] = uid
    plan = Plan(
        model_requested=requested,
        model=glm,
        stream=stream,
        thinking=want,
        stop_sequences=[s for s in body.get("stop_sequences") or [] if s],
        input_tokens=estimate_messages(messages) + estimate_tools(tools),
        routed_for_vision=routed,
        labels=labels,
    )
    return out, plan
