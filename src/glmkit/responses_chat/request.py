"""A Responses request as a GLM chat request (``to_chat``), and the ``Plan`` the way back follows."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any

from glmkit._json import dumps as _DUMPS

__all__ = ["ENCRYPTED_PREFIX", "Plan", "TranslationError", "messages_of", "reasoning_of", "to_chat", "tools_of"]

_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
ENCRYPTED_PREFIX = "glm-reasoning:"  # reasoning handed to the client base64-encoded, for it to send back


class TranslationError(ValueError):
    """A Responses request that cannot be turned into a chat request; the message names the field and the fix."""


@dataclass
class Plan:
    """What the way back needs: the model, custom tool names, whether reasoning travels encrypted."""

    model: str
    stream: bool = False
    custom_tools: set[str] = field(default_factory=set)
    encrypted_reasoning: bool = False
    echo: dict[str, Any] = field(default_factory=dict)
    """Request fields the response object repeats (instructions, tools, tool_choice, ...)."""


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and "text" in p)


def _user_content(content: Any) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for p in content or []:
        if not isinstance(p, dict):
            continue
        kind = p.get("type")
        if kind in ("input_text", "output_text", "text"):
            if p.get("text"):
                parts.append({"type": "text", "text": str(p["text"])})
        elif kind == "input_image":
            url = p.get("image_url") or p.get("file_id")
            if not url:
                raise TranslationError("An input_image part needs image_url (a URL or a data URL).")
            parts.append({"type": "image_url", "image_url": {"url": url}})
        elif kind == "input_file":
            raise TranslationError("input_file parts are not supported on GLM's Responses route; send the text.")
    if all(p["type"] == "text" for p in parts):
        return "\n".join(p["text"] for p in parts)
    return parts


def reasoning_of(item: dict[str, Any]) -> str:
    """The reasoning text a ``reasoning`` input item carries (content, summary, or our encrypted form)."""
    text = "".join(str(c.get("text", "")) for c in item.get("content") or [] if isinstance(c, dict))
    if not text:
        text = "".join(str(c.get("text", "")) for c in item.get("summary") or [] if isinstance(c, dict))
    enc = item.get("encrypted_content")
    if not text and isinstance(enc, str) and enc.startswith(ENCRYPTED_PREFIX):
        try:
            text = base64.b64decode(enc[len(ENCRYPTED_PREFIX) :]).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            text = ""
    return text


class _Messages:
    """Flat Responses items -> chat messages: calls and reasoning gather into one assistant turn."""

    def __init__(self) -> None:
        self.out: list[dict[str, Any]] = []
        self.turn: dict[str, Any] | None = None

    def flush(self) -> None:
        if self.turn is not None:
            self.turn.setdefault("content", "")
            self.out.append(self.turn)
            self.turn = None

    def assistant(self) -> dict[str, Any]:
        if self.turn is None:
            self.turn = {"role": "assistant"}
        return self.turn

    def add(self, item: dict[str, Any]) -> None:
        kind = item.get("type") or ("message" if "role" in item else None)
        if kind == "message":
            role = item.get("role")
            if role == "assistant":
                turn = self.assistant()
                if turn.get("tool_calls"):
                    self.flush()
                    turn = self.assistant()
                turn["content"] = turn.get("content", "") + _text_of(item.get("content"))
                return
            self.flush()
            if role in ("system", "developer"):
                self.out.append({"role": "system", "content": _text_of(item.get("content"))})
            elif role == "user":
                content = _user_content(item.get("content"))
                if content:  # an empty message says nothing; GLM refuses it (1213)
                    self.out.append({"role": "user", "content": content})
            else:
                raise TranslationError(f"Unknown message role {role!r}; use user, assistant, system or developer.")
        elif kind == "reasoning":
            if self.turn is not None and (self.turn.get("tool_calls") or self.turn.get("content")):
                self.flush()
            text = reasoning_of(item)
            if text:
                turn = self.assistant()
                turn["reasoning_content"] = turn.get("reasoning_content", "") + text
        elif kind in ("function_call", "custom_tool_call"):
            args = item.get("arguments") if kind == "function_call" else _DUMPS({"input": item.get("input", "")})
            fn = {"name": item.get("name"), "arguments": args if isinstance(args, str) else "{}"}
            call_id = item.get("call_id") or item.get("id")
            if not call_id:  # its output, or the placeholder answer GLM needs, could not name it
                raise TranslationError(f"A {kind} item needs a call_id (or an id) that its output names.")
            call = {"id": str(call_id), "type": "function", "function": fn}
            self.assistant().setdefault("tool_calls", []).append(call)
        elif kind in ("function_call_output", "custom_tool_call_output"):
            if not item.get("call_id"):
                raise TranslationError(f"A {kind} item needs the call_id of the call it answers.")
            self.flush()
            output = item.get("output")
            text = output if isinstance(output, str) else _text_of(output)
            self.out.append({"role": "tool", "tool_call_id": str(item.get("call_id", "")), "content": text})
        elif kind in ("item_reference", "compaction", "web_search_call"):
            return  # nothing GLM can read: stored items and hosted-tool records
        else:
            raise TranslationError(f"Input items of type {kind!r} are not supported on GLM's Responses route.")


def messages_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The chat messages of a Responses request: ``instructions`` first, then the input items."""
    acc = _Messages()
    if isinstance(body.get("instructions"), str) and body["instructions"]:
        acc.out.append({"role": "system", "content": body["instructions"]})
    given = body.get("input")
    if isinstance(given, str) and given:
        acc.out.append({"role": "user", "content": given})
        return acc.out
    if not isinstance(given, list):
        raise TranslationError("input must be a non-empty string or a list of input items.")
    for item in given:
        if not isinstance(item, dict):
            raise TranslationError("Each input item must be an object with a type.")
        acc.add(item)
    acc.flush()
    if not any(m["role"] in ("user", "tool") for m in acc.out):
        raise TranslationError("input needs a user message (or a tool output) with some content.")
    return acc.out


def custom_function(tool: dict[str, Any]) -> dict[str, Any]:
    """The GLM function a free-form ``custom`` tool becomes: one string argument ``input``."""
    fmt = tool.get("format") or {}
    description = str(tool.get("description") or "")
    if fmt.get("type") == "grammar" and fmt.get("definition"):
        description += f"\n\nThe input must follow this {fmt.get('syntax', '')} grammar:\n{fmt['definition']}"
    params = {
        "type": "object",
        "properties": {"input": {"type": "string", "description": "The raw free-form input of the tool."}},
        "required": ["input"],
    }
    return {"name": tool["name"], "description": description.strip(), "parameters": params}


def tools_of(body: dict[str, Any]) -> tuple[list[dict[str, Any]], set[str]]:
    """GLM function tools for the request's tools (and ``tool_choice``), and the names of the custom ones."""
    choice = body.get("tool_choice")
    if choice == "none":
        return [], set()
    tools: list[dict[str, Any]] = []
    custom: set[str] = set()
    for t in body.get("tools") or []:
        if not isinstance(t, dict) or t.get("type") not in ("function", "custom"):
            continue
        if not _TOOL_NAME.match(str(t.get("name", ""))):
            raise TranslationError(f"Tool name {t.get('name')!r}: GLM takes 1-64 letters, digits, '_' or '-'.")
        if t.get("type") == "function":
            params = t.get("parameters")
            fn: dict[str, Any] = {
                "name": t["name"],
                "parameters": params if isinstance(params, dict) else {"type": "object"},
            }
            if t.get("description"):
                fn["description"] = t["description"]
            tools.append({"type": "function", "function": fn})
        elif t.get("type") == "custom":
            custom.add(t["name"])
            tools.append({"type": "function", "function": custom_function(t)})
    if isinstance(choice, dict) and choice.get("name"):
        tools = [t for t in tools if t["function"]["name"] == choice["name"]] or tools
    if len(tools) > 128:
        raise TranslationError(f"{len(tools)} tools: GLM takes at most 128 (reference §2.3).")
    return tools, custom


def _effort(wanted: Any, model: str) -> str | None:
    from glmkit.catalog import get_model

    info = get_model(model)
    if info is None or not info.efforts or not isinstance(wanted, str):
        return None
    if wanted in info.efforts:
        return wanted
    return info.effort_map.get(wanted)


def to_chat(body: dict[str, Any], *, model: str | None = None) -> tuple[dict[str, Any], Plan]:
    """A Responses request -> (GLM chat body, plan); ``model`` replaces the requested one (the gateway's mapping).

    Raises:
        TranslationError: a field GLM has no form for (``previous_response_id``, file inputs, unknown items).
    """
    from glmkit.catalog import get_model

    if not isinstance(body.get("model"), str) or not body["model"]:
        raise TranslationError("model is required, e.g. 'glm-5.3'.")
    if body.get("previous_response_id"):
        raise TranslationError(
            "previous_response_id is not supported: no responses are stored. Send the whole conversation as input."
        )
    glm = model or body["model"]
    out: dict[str, Any] = {"model": glm, "messages": messages_of(body)}
    info = get_model(glm.lower())
    mt = body.get("max_output_tokens")
    if isinstance(mt, int) and not isinstance(mt, bool):
        if mt < 1:
            raise TranslationError(f"max_output_tokens must be 1 or more (got {mt}).")
        out["max_tokens"] = min(mt, info.max_output) if info is not None and info.max_output else mt
    for name, lo in (("temperature", 0.0), ("top_p", 0.01)):
        value = body.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[name] = min(max(float(value), lo), 1.0)
    effort = _effort((body.get("reasoning") or {}).get("effort"), glm.lower())
    if effort:
        out["reasoning_effort"] = effort
    tools, custom = tools_of(body)
    if tools:
        out["tools"] = tools
        out["tool_choice"] = "auto"
    fmt = ((body.get("text") or {}).get("format") or {}).get("type")
    if fmt in ("json_object", "json_schema"):
        out["response_format"] = {"type": "json_object"}
    user = body.get("user") or body.get("safety_identifier")
    if isinstance(user, str) and 6 <= len(user) <= 128:
        out["user_id"] = user
    stream = bool(body.get("stream"))
    if stream:
        out["stream"] = True
        if tools and (info is None or info.tool_stream):
            out["tool_stream"] = True
    echo = {k: body[k] for k in _ECHOED if k in body}
    plan = Plan(
        model=glm,
        stream=stream,
        custom_tools=custom,
        encrypted_reasoning="reasoning.encrypted_content" in (body.get("include") or []),
        echo=echo,
    )
    return out, plan


_ECHOED: tuple[str, ...] = ("instructions", "tools", "tool_choice", "parallel_tool_calls", "temperature", "top_p")
_ECHOED += ("max_output_tokens", "reasoning", "store", "text", "metadata", "previous_response_id", "user")
