"""The checks a chat request passes before it is sent, and the per-model rules applied to it (reference §2.1, §2.5).

``prepare_chat_params`` is the one entry: the resources and the run loop call it through ``chat_call``.
"""

from __future__ import annotations

import warnings
from typing import Any

from glmkit._errors import InputError
from glmkit.catalog import chat_limits, check_chat_model, default_model, get_model, normalize_model_id
from glmkit.types import JSONObject

__all__ = ["prepare_chat_params"]

_ROLES = {"system", "user", "assistant", "tool"}
_MEDIA_PARTS = {"image_url", "video_url", "file_url", "file"}


def _check_messages(messages: Any, model: str) -> None:
    if not isinstance(messages, list) or not messages:
        raise InputError("messages must be a non-empty list of {'role': ..., 'content': ...} dicts.")
    roles = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or "role" not in m:
            raise InputError(f"messages[{i}] must be a dict with a 'role' (got {type(m).__name__}).")
        role = m["role"]
        if role not in _ROLES:
            raise InputError(f"messages[{i}] has role {role!r}; use one of system, user, assistant, tool.")
        if role == "tool" and not m.get("tool_call_id"):
            raise InputError(f"messages[{i}] is a tool message without 'tool_call_id'.")
        content = m.get("content")
        if role == "user" and content is None:
            raise InputError(f"messages[{i}] (user) has no 'content'.")
        if isinstance(content, list):
            for part in content:
                if not isinstance(part, dict) or "type" not in part:
                    raise InputError(f"messages[{i}] has a content part without 'type'.")
                if part["type"] in _MEDIA_PARTS:
                    info = get_model(model)
                    if info is not None and not info.vision:
                        raise InputError(
                            f"{model} reads text only, but messages[{i}] has a {part['type']} part.",
                            hint=f"Use a vision model such as {default_model('vision')} or {default_model('fast')}.",
                        )
        elif content is not None and not isinstance(content, str):
            raise InputError(f"messages[{i}].content must be a string or a list of parts.")
        roles.append(role)
    if all(r in ("system", "assistant") for r in roles):
        raise InputError("messages must include a user (or tool) message, not only system/assistant ones.")


def _range(params: dict[str, Any], name: str, lo: float, hi: float) -> None:
    value = params.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise InputError(f"{name} must be a number from {lo} to {hi} (got {value!r}).")


def prepare_chat_params(params: dict[str, Any]) -> JSONObject:
    """Check a chat request and apply the per-model rules (reference §2.1, §2.5). Returns the body to send."""
    if "model" not in params:
        raise InputError("model is required, e.g. model='glm-5.3'.", hint="`glm models` lists them.")
    body = dict(params)
    model = body["model"] = normalize_model_id(body["model"])
    _check_messages(body.get("messages"), model)
    model, info = check_chat_model(model, hint="`glm models` lists chat models.")
    limits = chat_limits()
    max_tokens = body.get("max_tokens")
    if max_tokens is not None:
        limit = limits.max_output(info)
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or not 1 <= max_tokens <= limit:
            raise InputError(f"max_tokens must be an integer from 1 to {limit} for {model} (got {max_tokens!r}).")
    for name, lo, hi in limits.sampling:
        _range(body, name, lo, hi)
    stop = body.get("stop")
    if isinstance(stop, str):
        body["stop"] = [stop]
    elif stop is not None and (not isinstance(stop, list) or len(stop) > limits.max_stop_words):
        raise InputError(f"stop takes at most {limits.stop_words} (the API's limit).")
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list) or len(tools) > limits.max_tools:
            raise InputError(f"tools must be a list of at most {limits.max_tools} tools.")
        for t in tools:
            fn = t.get("function") if isinstance(t, dict) and t.get("type") == "function" else None
            if fn is not None and not limits.tool_name_ok(str(fn.get("name", ""))):
                raise InputError(
                    f"Tool name {fn.get('name')!r} must be 1-{limits.tool_name_chars} characters of letters, digits,"
                    " '_' or '-'."
                )
    if body.get("tool_stream") and not body.get("stream"):
        raise InputError("tool_stream=True needs stream=True.")
    uid = body.get("user_id")
    lo, hi = limits.user_id_chars
    if uid is not None and not lo <= len(str(uid)) <= hi:
        raise InputError(f"user_id must be {lo} to {hi} characters.")
    _apply_thinking_rules(body, info)
    return body


def _apply_thinking_rules(body: dict[str, Any], info: Any) -> None:
    thinking = body.get("thinking")
    if isinstance(thinking, bool):
        thinking = body["thinking"] = {"type": "enabled" if thinking else "disabled"}
    if info is None:
        return
    if info.thinking == "none":
        body.pop("thinking", None)
    elif thinking and thinking.get("type") == "disabled" and not info.can_disable_thinking:
        # GLM-5.3 rejects "disabled"; the closest it offers is the lowest effort.
        rest = {k: v for k, v in thinking.items() if k != "type"}
        body["thinking"] = {"type": "enabled", **rest}
        body.setdefault("reasoning_effort", "low")
        warnings.warn(
            f"{info.id} always thinks; sent reasoning_effort='low' instead of thinking disabled.", stacklevel=5
        )
    effort = body.get("reasoning_effort")
    if effort is not None:
        if not info.efforts:
            body.pop("reasoning_effort")
        elif effort not in info.efforts:
            mapped = info.effort_map.get(effort)
            if mapped is None:
                raise InputError(f"reasoning_effort {effort!r} is not one of {', '.join(info.efforts)} for {info.id}.")
            body["reasoning_effort"] = mapped
