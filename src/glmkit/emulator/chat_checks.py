"""The checks the real API makes on a chat request, with its business codes (reference §2.1-§2.3, §13.3).

Which code for which bad input, from the business-code table (§13.3), all HTTP 400:

- 1213 "field not received properly": a required field absent or null (``model``, ``messages``, a tool
  message's ``tool_call_id``, a function tool's ``function``); a user message with empty content (§17).
- 1214 "field invalid": a field present with the wrong type or out of its range (max_tokens, temperature,
  top_p, stop, thinking, reasoning_effort, tools, user_id); an empty ``messages`` list (§13.1's example
  "Input cannot be empty"); only system/assistant messages (§2.1).
- 1210 "wrong call parameters": a part the model cannot read (image parts on a text model, §2.2/§17);
  ``thinking.type=disabled`` on an always-thinking model on the general endpoint (§17).
- 1211: an unknown model, a non-chat model, or a leaked ``[1m]`` suffix (§3.1, §17).
- 1261 "prompt exceeds max length": the prompt alone is larger than the model's context window (§13.3).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from starlette.responses import Response

from glmkit import data
from glmkit.catalog import ModelInfo, chat_limits, get_model
from glmkit.emulator.admission import error_response, unknown_model
from glmkit.emulator.chat_answers import text_tokens, thinks
from glmkit.emulator.state import EmulatorState
from glmkit.types.web_search import CONTENT_SIZES, RECENCY_FILTERS

ROLES = ("system", "user", "assistant", "tool")
# What the live API answers (1214) for a conversation it cannot take as a whole, naming no message: no user message
# (zai-org/z-ai-sdk's predecessor MetaGLM/zhipuai-sdk-python-v4#14, "messages 参数非法。请检查文档。"; anomalyco/opencode
# #2557, the English text, for requests with only system/assistant messages). A tool result without its call and
# tool calls left without results get the same answer here: reference silent, UNVERIFIED (lobehub/lobehub#11408
# reports it "after multiple tool calls" without the request).
ILLEGAL_MESSAGES = "The messages parameter is illegal. Please check the documentation."
PART_MODALITY = {"text": "text", "image_url": "image", "video_url": "video", "file_url": "file", "file": "file"}
TOOL_TYPES = ("function", "retrieval", "web_search")


def chat_model(model: Any) -> ModelInfo | None:
    """The chat model a request names, or ``None``.

    Ids are matched case-insensitively: Cursor must send the upper-case form (``GLM-4.7``, §14.6) and it works.
    A ``[1m]`` suffix is a Claude Code convention that upstreams answer "Unknown Model" to (§17).
    """
    if not isinstance(model, str) or model.endswith("[1m]"):
        return None
    info = get_model(model.lower()) or EXTRA_MODELS.get(model.lower())
    return info if info is not None and info.kind == "chat" else None


EXTRA_MODELS: dict[str, ModelInfo] = {}
"""Models this emulator serves beyond the catalog (``glm emulate --extra-model``): a release the installed catalog
does not know yet. Their rules are what ``glmkit.catalog.infer`` guesses from the id."""


def add_extra_models(ids: list[str]) -> None:
    """Serve (and list) models the catalog does not know."""
    from glmkit.catalog import infer

    for mid in ids:
        row = {k: v for k, v in infer(mid.lower(), plan=True).items() if k != "inferred"}
        row.update(context=1048576, max_output=131072, default_output=65536)  # emulator choice: GLM-5.3's
        for key in ("efforts", "modalities"):
            if key in row:
                row[key] = tuple(row[key])
        EXTRA_MODELS[mid.lower()] = ModelInfo(id=mid.lower(), **row)


def _invalid(field: str, why: str) -> Response:
    return error_response("1214", f"{field}: {why}")


def _missing(field: str) -> Response:
    return error_response("1213", f"The {field} field was not received properly")


def validate(body: dict[str, Any], surface: str) -> Response | None:
    """The checks the real API makes, with its business codes (see the module docstring)."""
    model = body.get("model")
    if model is None or model == "":
        return _missing("model")
    if not isinstance(model, str):
        return _invalid("model", "must be a string")
    info = chat_model(model)
    if info is None:
        # reference silent: whether a non-chat model (glm-ocr) is 1211 or 1212 "does not support this call method"
        return unknown_model(model)
    # reference silent: which ids the coding endpoint refuses with 1311 "plan does not include" (§3.3: late-2026
    # plans route old ids to current models without a word); none are refused here.
    return (
        check_messages(body.get("messages"), info)
        or _check_sampling(body, info)
        or _check_thinking(body, info, surface)
        or check_tools(body.get("tools"))
        or _check_ids(body)
        or _check_context(body["messages"], info)
    )


def check_messages(messages: Any, info: ModelInfo | None) -> Response | None:
    """The message list (§2.1, §2.2); with ``info``, also what the model can read."""
    if messages is None:
        return _missing("messages")
    if not isinstance(messages, list) or not messages:
        return _invalid("messages", "Input cannot be empty")
    for i, m in enumerate(messages):
        if (bad := _check_message(i, m)) is not None:
            return bad
    if all(m["role"] in ("system", "assistant") for m in messages):
        return error_response("1214", ILLEGAL_MESSAGES)
    if (bad := check_turns(messages)) is not None:
        return bad
    return _check_parts(messages, info) if info is not None else None


def check_turns(messages: list[dict[str, Any]]) -> Response | None:
    """Empty text parts, and tool calls paired with their results (what sessions die of, issue threads in §17).

    Reference silent on the codes: an empty text part answers 1213 like empty content (§17); a tool result whose
    call is not in the assistant turn before it, and tool calls left without results (a message other than a tool
    result comes first), answer 1214 with the live opaque text (``ILLEGAL_MESSAGES``). Both UNVERIFIED as codes;
    the refusals are reported live.
    """
    open_calls: list[Any] = []
    for i, m in enumerate(messages):
        role = m.get("role")
        content = m.get("content")
        if role == "user" and isinstance(content, list):
            for j, part in enumerate(content):
                if isinstance(part, dict) and part.get("type") == "text" and not str(part.get("text") or "").strip():
                    return error_response(
                        "1213", f"messages[{i}].content[{j}].text: the prompt was not received normally"
                    )
        if role == "tool":
            tid = m.get("tool_call_id")
            if tid not in open_calls:
                return error_response("1214", ILLEGAL_MESSAGES)
            open_calls.remove(tid)
            continue
        if open_calls:
            return error_response("1214", ILLEGAL_MESSAGES)
        if role == "assistant" and isinstance(m.get("tool_calls"), list):
            open_calls = [c.get("id") for c in m["tool_calls"] if isinstance(c, dict)]
    return None


def _check_message(i: int, m: Any) -> Response | None:
    if not isinstance(m, dict) or m.get("role") not in ROLES:
        return _invalid(f"messages[{i}].role", "must be one of system, user, assistant, tool")
    content = m.get("content")
    # reference silent: what the server does with list content in system/assistant/tool messages (§17: GLM's
    # template drops it in tool/assistant messages, so it is accepted); only user content is checked.
    if m["role"] == "user":
        if content is None or content == "" or content == []:
            return error_response("1213", f"messages[{i}]: the prompt parameter was not received normally")
        if not isinstance(content, str | list):
            return _invalid(f"messages[{i}].content", "must be a string or a list of content parts")
        for j, part in enumerate(content if isinstance(content, list) else []):
            if not isinstance(part, dict) or part.get("type") not in PART_MODALITY:
                return _invalid(f"messages[{i}].content[{j}].type", f"must be one of {', '.join(PART_MODALITY)}")
    if m["role"] == "tool" and not m.get("tool_call_id"):
        return _missing(f"messages[{i}].tool_call_id")
    if m["role"] == "assistant":
        return _check_calls(i, m.get("tool_calls"))
    return None


def _check_calls(i: int, calls: Any) -> Response | None:
    if calls is None:
        return None
    if not isinstance(calls, list):
        return _invalid(f"messages[{i}].tool_calls", "must be a list")
    for j, call in enumerate(calls):
        if isinstance(call, dict) and call.get("type", "function") != "function":
            continue  # web_search / retrieval calls carry their own object (§2.2)
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("arguments", ""), str):
            # §2.2: arguments are a JSON *string*
            return _invalid(f"messages[{i}].tool_calls[{j}].function", "needs a name and arguments as a JSON string")
    return None


def _part_limits(model: str) -> dict[str, int]:
    limits: dict[str, dict[str, int]] = data.load("models").get("part_limits", {})
    return limits.get(model, {})


def _check_parts(messages: list[dict[str, Any]], info: ModelInfo) -> Response | None:
    # reference silent: whether image_url.url may carry a data: URL prefix (§2.1, §16), and which models take a
    # ``file`` part's file_id (§2.2: the GLM-5.3-Flash series only); URLs and file ids are not checked.
    counts: dict[str, int] = {}
    for m in messages:
        if m["role"] == "user" and isinstance(m.get("content"), list):
            for part in m["content"]:
                counts[part["type"]] = counts.get(part["type"], 0) + 1
    readable = [t for t, modality in PART_MODALITY.items() if modality in info.modalities]
    for kind in counts:
        if kind not in readable:
            return error_response("1210", f"messages.content.type: Input should be one of {readable} for {info.id}")
    if counts.get("file_url") and (counts.get("image_url") or counts.get("video_url")):
        # reference silent: the code for mixing (§2.2 only says they must not be mixed)
        return _invalid("messages.content", "file_url parts cannot be mixed with image_url or video_url parts")
    for kind, most in _part_limits(info.id).items():
        if counts.get(kind, 0) > most:
            # reference silent: the code for too many parts (§2.2 gives the caps only)
            return _invalid("messages.content", f"at most {most} {kind} parts for {info.id}")
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_sampling(body: dict[str, Any], info: ModelInfo) -> Response | None:
    limits = chat_limits()
    mt = body.get("max_tokens")
    most = limits.max_output(info)
    if mt is not None and (not isinstance(mt, int) or isinstance(mt, bool) or not 1 <= mt <= most):
        return _invalid("max_tokens", f"must be an integer in [1, {most}]")
    for name, lo, hi in limits.sampling:
        v = body.get(name)
        if v is not None and (not _is_number(v) or not lo <= v <= hi):
            return _invalid(name, f"must be a number in [{lo}, {hi}]")
    # reference silent: what tool_stream without stream does (§2.1: "needs stream=true"); it is accepted and ignored.
    # reference silent: whether vision models other than GLM-4.6V+/autoglm-phone refuse tools (§2.1); they do not.
    for name in ("stream", "do_sample", "tool_stream"):
        if body.get(name) is not None and not isinstance(body[name], bool):
            return _invalid(name, "must be true or false")
    stop = body.get("stop")
    if stop is not None and (
        not isinstance(stop, list) or len(stop) > limits.max_stop_words or not all(isinstance(s, str) for s in stop)
    ):
        return _invalid("stop", f"a list of at most {limits.stop_words}")
    # reference silent: response_format types other than text/json_object (json_schema is reported ignored, §2.1):
    # accepted and ignored. tool_choice: "none" and a forced function are honoured (live evidence §1, fantasy
    # cassettes 2026-03-13: {"type": "function", "function": {"name": ...}} answered 200 with exactly that tool).
    return None


def _check_thinking(body: dict[str, Any], info: ModelInfo, surface: str) -> Response | None:
    thinking = body.get("thinking")
    if thinking is not None:
        if not isinstance(thinking, dict) or thinking.get("type") not in ("enabled", "disabled"):
            return _invalid("thinking", 'must be {"type": "enabled" | "disabled"}')
        if "clear_thinking" in thinking and not isinstance(thinking["clear_thinking"], bool):
            return _invalid("thinking.clear_thinking", "must be true or false")
        if thinking["type"] == "disabled" and info.thinking == "always" and surface == "general":
            # §17: the general endpoint refuses; the coding endpoint accepts it and still thinks
            return error_response(
                "1210", "thinking.type disabled is not supported for this model; use reasoning_effort low, high or max"
            )
    effort = body.get("reasoning_effort")
    # reference silent: what models before GLM-5.2 (no efforts) do with reasoning_effort; it is ignored.
    if effort is not None and info.efforts and effort not in info.efforts:
        # reference silent: whether GLM-5.3 accepts "medium" (§2.5: map it to high, which the client does)
        return _invalid("reasoning_effort", f"must be one of {', '.join(info.efforts)} for {info.id}")
    return None


def check_tools(tools: Any) -> Response | None:
    """The tools list (§2.3): at most ``max_tools`` of ``data/limits.toml``, each a function, retrieval or web_search
    tool."""
    if tools is None:
        return None
    limits = chat_limits()
    if not isinstance(tools, list) or len(tools) > limits.max_tools:
        return _invalid("tools", f"a list of at most {limits.max_tools} tools")
    for i, tool in enumerate(tools):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind not in TOOL_TYPES:
            return _invalid(f"tools[{i}].type", f"must be one of {', '.join(TOOL_TYPES)}")
        spec = tool.get(kind)
        if not isinstance(spec, dict):
            return _missing(f"tools[{i}].{kind}")
        if kind == "function" and not limits.tool_name_ok(str(spec.get("name", ""))):
            why = f"1-{limits.tool_name_chars} characters of letters, digits, '_' or '-'"
            return _invalid(f"tools[{i}].function.name", why)
        if kind == "function" and not isinstance(spec.get("parameters", {}), dict):
            return _invalid(f"tools[{i}].function.parameters", "must be a JSON Schema object")
        if kind == "retrieval" and not spec.get("knowledge_id"):
            return _missing(f"tools[{i}].retrieval.knowledge_id")
        if kind == "web_search" and (bad := _check_web_search(i, spec)) is not None:
            return bad
        # reference silent: whether the server enforces a function's description/parameters or web_search's
        # search_engine, which the schema lists as required but gives defaults for; not enforced.
    return None


def _check_web_search(i: int, spec: dict[str, Any]) -> Response | None:
    """The web_search tool's options (§2.3)."""
    count = spec.get("count")
    lo, hi = chat_limits().web_search_count
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or not lo <= count <= hi):
        return _invalid(f"tools[{i}].web_search.count", f"must be an integer in [{lo}, {hi}]")
    for name, allowed in (
        ("search_recency_filter", RECENCY_FILTERS),
        ("content_size", CONTENT_SIZES),
        ("result_sequence", ("before", "after")),
    ):
        if spec.get(name) is not None and spec[name] not in allowed:
            return _invalid(f"tools[{i}].web_search.{name}", f"must be one of {', '.join(allowed)}")
    for name in ("enable", "search_result", "require_search"):
        if spec.get(name) is not None and not isinstance(spec[name], bool):
            return _invalid(f"tools[{i}].web_search.{name}", "must be true or false")
    return None


def check_ids(body: dict[str, Any], *, request_id_length: bool = False) -> Response | None:
    """``user_id`` and ``request_id`` (``[ids]`` of ``data/limits.toml``); a ``request_id``'s length only where its
    endpoint documents one (``request_id_length``)."""
    ids = data.load("limits")["ids"]
    uid = body.get("user_id")
    lo, hi = ids["user_id_chars"]
    if uid is not None and (not isinstance(uid, str) or not lo <= len(uid) <= hi):
        return _invalid("user_id", f"must be {lo} to {hi} characters")
    rid = body.get("request_id")
    if rid is not None and not isinstance(rid, str):
        return _invalid("request_id", "must be a string")
    lo, hi = ids["request_id_chars"]
    if rid is not None and request_id_length and not lo <= len(rid) <= hi:
        return _invalid("request_id", f"must be {lo} to {hi} characters")
    return None


def _check_ids(body: dict[str, Any]) -> Response | None:
    # reference silent: the length of a chat request_id (§2.1 gives none; the tokenizer's is 6-64)
    return check_ids(body)


def _check_context(messages: list[dict[str, Any]], info: ModelInfo) -> Response | None:
    if not info.context:
        return None  # reference silent: autoglm-phone's context
    prompt = text_tokens(messages)  # media parts left out: their cost is the estimate's guess
    if prompt > info.context:
        return error_response(
            "1261", f"Prompt exceeds max length: about {prompt} tokens, {info.id} takes {info.context}"
        )
    return None


def duplicate_request_id(state: EmulatorState, body: dict[str, Any]) -> Response | None:
    """1231 when ``request_id`` was used before (§2.1: "reusing one may yield 1231"); else remembers it."""
    rid = body.get("request_id")
    if not rid:
        return None
    seen: set[str] = state.extra.setdefault("request_ids", set())
    if rid in seen:
        return error_response("1231", f"Request {rid} already exists")
    seen.add(rid)
    return None


def reasoning_check(state: EmulatorState, body: dict[str, Any]) -> Response | None:
    """Record the request; count (or, with ``require_reasoning``, reject) tool-call turns sent back without
    their reasoning_content when the model thinks (reference §2.5)."""
    log = state.extra.setdefault("chat", {"received": deque(maxlen=200), "reasoning_missing": 0})
    log["received"].append(body)
    if not thinks(body["model"], body):
        return None
    messages = body["messages"]
    start = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=0)
    missing = [
        i
        for i, m in enumerate(messages[start:], start)
        if m.get("role") == "assistant" and m.get("tool_calls") and not m.get("reasoning_content")
    ]
    if not missing:
        return None
    log["reasoning_missing"] += 1
    if state.config.options.get("require_reasoning"):
        return error_response(
            "1214", f"messages[{missing[0]}]: send the assistant turn's reasoning_content back with its tool results"
        )
    return None
