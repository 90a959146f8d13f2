"""Pre-flight of a chat-shaped request: every shape Z.AI is known to refuse is repaired or refused before it is sent.

``preflight(body, ...)`` works on a GLM chat body (``model``, ``messages`` with roles system/user/assistant/tool,
``tools`` ...), whichever route it came from: ``/v1/chat/completions`` as the client wrote it, ``/v1/messages`` after
translation (``labels`` then name each chat message by the Anthropic message it came from), and any later
chat-shaped route. It changes ``body`` in place and returns one note per repair, for the log line and the
ledger's ``notes``; a shape that cannot be repaired raises ``PreflightError`` (a 400 naming the message and the
fix, carrying the business code Z.AI would have answered).

What Z.AI refuses, and the source (reference zai-api.md; "UNVERIFIED" where the code is our choice):

- an empty user message (``""``, ``[]``, only empty text parts): 1213 "prompt not received" (§17). Repaired: the
  message is dropped (refused if it was the only user message). Empty text parts are dropped.
- no user message at all (only system/assistant): 1214 (§2.1). Repaired when a system message exists (the last
  one becomes the user message, as clients that send their prompt as a system message mean); else refused.
- image/video/file parts for a text-only model: 1210 (§2.2, §17). Repaired by routing the request to the
  vision model when one is given (the gateway's ``vision_model``), else refused.
- ``file_url`` parts mixed with image/video parts: refused (§2.2 forbids it; code 1214 UNVERIFIED).
- a tool message whose call is not in the assistant turn before it (or without ``tool_call_id``): 1213 for the
  missing id (§2.2 "required"); 1214 for an unmatched one (UNVERIFIED). Repaired: the result becomes a user
  message that quotes it, so nothing the tool said is lost.
- tool calls without results (the user interrupted, the client trimmed history): 1214 (UNVERIFIED). Repaired:
  a tool message saying the call was interrupted is added for each.
- a user/system message between an assistant's tool calls and their results (a screenshot or a reminder
  injected mid-turn): 1214 (UNVERIFIED). Repaired: the message moves after the results.
- list-form content in system/assistant/tool messages: GLM's template drops it (§17, LiteLLM note), so the tool
  result arrives empty. Repaired: flattened to text; a tool result's images go to a user message after the run.
- tool-call ``arguments`` that are not a JSON string: 1214 (§2.2). Repaired: encoded as JSON.
- empty system messages and empty assistant messages (no text, calls or reasoning): reference silent
  (UNVERIFIED); dropped. An empty tool result becomes ``(no output)`` (as the Anthropic translation does).
- ``max_tokens`` above the model's maximum: 1214 (§3.2). Repaired: lowered to the maximum.
- ``temperature`` outside [0, 1], ``top_p`` outside [0.01, 1]: 1214 (§2.1). Repaired: clamped. (These limits, the
  tools' below and the fallback maximum of ``max_tokens`` are ``data/limits.toml`` ``[chat]``.)
- more than one stop word, or a string: 1214 (§2.1 maxItems 1). Repaired: the first word, as a list.
- ``reasoning_effort`` the model does not take: 1214 (§2.5). Repaired: the nearest level it takes.
- ``thinking.type=disabled`` on an always-thinking model, on the general endpoint only: 1210 (§17). Repaired:
  ``reasoning_effort`` low instead (only with ``surface="general"``: the coding endpoint accepts it).
- more than 128 tools, a tool name outside ``[a-zA-Z0-9_-]{1,64}``: 1214 (§2.3). Refused (renaming a tool would
  break the client's own dispatch).
"""

from __future__ import annotations

from typing import Any

from glmkit._json import dumps as _DUMPS
from glmkit.catalog import chat_limits, get_model
from glmkit.gateway.anthropic_check import TranslationError

__all__ = ["PreflightError", "preflight"]

ROLES = ("system", "user", "assistant", "tool")
MEDIA_PARTS = {"image_url": "image", "video_url": "video", "file_url": "file", "file": "file"}
PARTS = ("text", *MEDIA_PARTS)
INTERRUPTED = "(no result: the tool call was interrupted before it returned)"
_EFFORTS = ["none", "minimal", "low", "medium", "high", "xhigh", "max"]


class PreflightError(TranslationError):
    """A request shape the gateway cannot repair: a 400 naming the message, the fix, and Z.AI's code for it."""

    def __init__(self, message: str, code: str = "1214") -> None:
        super().__init__(message)
        self.code = code


def _blank(text: Any) -> bool:
    return not isinstance(text, str) or not text.strip()


def _flatten(content: list[Any]) -> tuple[str, list[dict[str, Any]]]:
    """List content -> (its text joined, its media parts)."""
    texts, media = [], []
    for part in content:
        if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif isinstance(part, dict) and part.get("type") in MEDIA_PARTS:
            media.append(part)
        elif isinstance(part, str):
            texts.append(part)
    return "\n".join(t for t in texts if t), media


class _Pass:
    """One request's pre-flight: the notes so far and how to name a message to the client."""

    def __init__(self, labels: list[str] | None) -> None:
        self.labels = labels
        self.notes: list[str] = []

    def name(self, i: int) -> str:
        if self.labels is not None and i < len(self.labels):
            return self.labels[i]
        return f"messages[{i}]"

    def note(self, text: str) -> None:
        self.notes.append(text)

    # -- one message at a time ----------------------------------------------------------------------

    def message(self, i: int, given: Any, carried: list[tuple[int, dict[str, Any]]]) -> dict[str, Any] | None:
        """The message repaired, or ``None`` when it is dropped; media of a tool result go to ``carried``."""
        if not isinstance(given, dict) or given.get("role") not in ROLES:
            raise PreflightError(f"{self.name(i)}.role: must be one of {', '.join(ROLES)}.")
        m: dict[str, Any] = dict(given)
        role = m["role"]
        content = m.get("content")
        if role == "user":
            return self._user(i, m, content)
        if isinstance(content, list):
            text, media = _flatten(content)
            m["content"] = text
            self.note(
                f"{self.name(i)}: {role} content sent as a list, flattened to text (GLM drops list content there)"
            )
            if media and role == "tool":
                carried.append((i, {"role": "user", "content": media}))
                self.note(
                    f"{self.name(i)}: {len(media)} image(s) of a tool result moved to a user message after the results"
                )
            elif media:
                self.note(
                    f"{self.name(i)}: {len(media)} media part(s) of a {role} message dropped (GLM reads them only from users)"
                )
            content = text
        elif content is not None and not isinstance(content, str):
            raise PreflightError(f"{self.name(i)}.content: must be a string.")
        if role == "system" and _blank(content):
            self.note(f"{self.name(i)}: empty system message dropped")
            return None
        if role == "tool" and _blank(content):
            m["content"] = "(no output)"
            self.note(f"{self.name(i)}: empty tool result sent as '(no output)'")
        if role == "assistant":
            return self._assistant(i, m, content)
        return m

    def _user(self, i: int, m: dict[str, Any], content: Any) -> dict[str, Any] | None:
        if isinstance(content, list):
            parts = []
            for j, part in enumerate(content):
                kind = part.get("type") if isinstance(part, dict) else None
                if kind not in PARTS:
                    raise PreflightError(f"{self.name(i)}.content[{j}].type: must be one of {', '.join(PARTS)}.")
                if kind == "text" and _blank(part.get("text")):
                    self.note(f"{self.name(i)}.content[{j}]: empty text part dropped")
                    continue
                parts.append(part)
            if len(parts) == 1 and parts[0]["type"] == "text":
                parts = parts[0]["text"]
            m["content"] = content = parts
        elif content is not None and not isinstance(content, str):
            raise PreflightError(f"{self.name(i)}.content: must be a string or a list of content parts.")
        if not content or (isinstance(content, str) and not content.strip()):
            return None  # the caller notes it (and refuses when no user message is left)
        return m

    def _assistant(self, i: int, m: dict[str, Any], content: Any) -> dict[str, Any] | None:
        calls = m.get("tool_calls")
        if calls is not None and not isinstance(calls, list):
            raise PreflightError(f"{self.name(i)}.tool_calls: must be a list of {{id, type, function}}.")
        if calls:
            fixed = []
            for j, call in enumerate(calls):
                fn = call.get("function") if isinstance(call, dict) else None
                if not isinstance(fn, dict) or _blank(fn.get("name")):
                    raise PreflightError(f"{self.name(i)}.tool_calls[{j}].function.name: required, the tool's name.")
                args = fn.get("arguments")
                if not isinstance(args, str):
                    fn = {**fn, "arguments": _DUMPS(args if args is not None else {})}
                    call = {**call, "function": fn}
                    self.note(f"{self.name(i)}.tool_calls[{j}]: arguments encoded as a JSON string")
                fixed.append(call)
            m["tool_calls"] = fixed
        elif calls is not None:
            del m["tool_calls"]
        if _blank(content) and not calls and _blank(m.get("reasoning_content")):
            self.note(f"{self.name(i)}: empty assistant message dropped")
            return None
        if content is None:
            m["content"] = ""
        return m

    # -- tool calls and their results ---------------------------------------------------------------

    def pair(self, kept: list[tuple[int, dict[str, Any]]]) -> list[dict[str, Any]]:
        """Each assistant turn's tool calls followed by exactly their results; strays repaired (see the module doc)."""
        out: list[dict[str, Any]] = []
        k = 0
        while k < len(kept):
            i, m = kept[k]
            k += 1
            if m["role"] == "tool":
                out.append(self._orphan(i, m, "no assistant tool call before it"))
                continue
            out.append(m)
            if m["role"] != "assistant" or not m.get("tool_calls"):
                continue
            pending = [c.get("id") for c in m["tool_calls"] if isinstance(c, dict)]
            answered: set[Any] = set()
            deferred: list[dict[str, Any]] = []
            waiting: list[int] = []  # user/system messages met before all the results came
            while k < len(kept) and kept[k][1]["role"] != "assistant":
                j, n = kept[k]
                k += 1
                if n["role"] != "tool":
                    deferred.append(n)
                    waiting.append(j)
                    continue
                tid = n.get("tool_call_id")
                open_ids = [c for c in pending if c not in answered]
                if not tid and len(open_ids) == 1:
                    tid = open_ids[0]
                    n = {**n, "tool_call_id": tid}
                    self.note(f"{self.name(j)}: tool_call_id missing, set to the one open call {tid}")
                if tid in pending and tid not in answered:
                    answered.add(tid)
                    for w in waiting:
                        self.note(f"{self.name(w)}: moved after the tool results of {self.name(i)}")
                    waiting.clear()
                    out.append(n)
                else:
                    deferred.append(self._orphan(j, n, f"no open call {tid!r} in {self.name(i)}"))
            for tid in pending:
                if tid not in answered:
                    out.append({"role": "tool", "tool_call_id": tid, "content": INTERRUPTED})
                    self.note(f"{self.name(i)}: call {tid} had no result; sent as interrupted")
            out.extend(deferred)
        return out

    def _orphan(self, i: int, m: dict[str, Any], why: str) -> dict[str, Any]:
        self.note(f"{self.name(i)}: tool result without its call ({why}); sent as a user message")
        tid = m.get("tool_call_id") or "unknown"
        return {"role": "user", "content": f"[Result of tool call {tid}]\n{m.get('content') or '(no output)'}"}


def _check_tools(body: dict[str, Any]) -> None:
    tools = body.get("tools")
    if tools is None:
        return
    limits = chat_limits()
    if not isinstance(tools, list) or len(tools) > limits.max_tools:
        raise PreflightError(
            f"tools: a list of at most {limits.max_tools} tools (Z.AI's limit); send the ones this turn needs."
        )
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise PreflightError(f"tools[{i}]: must be an object {{type, function}}.")
        fn = tool.get("function")
        if (
            tool.get("type", "function") == "function"
            and isinstance(fn, dict)
            and not limits.tool_name_ok(str(fn.get("name", "")))
        ):
            raise PreflightError(
                f"tools[{i}].function.name: {fn.get('name')!r} is not 1-{limits.tool_name_chars} letters, digits, "
                "'_' or '-' "
                "(Z.AI refuses it); rename the tool."
            )


def _media(messages: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for m in messages:
        if m["role"] == "user" and isinstance(m.get("content"), list):
            for part in m["content"]:
                counts[part["type"]] = counts.get(part["type"], 0) + 1
    return counts


def _route_media(body: dict[str, Any], p: _Pass, info: Any, vision_model: str | None) -> Any:
    """The model info after routing a text-only model's media to the vision model (or refusing)."""
    counts = _media(body["messages"])
    if counts.get("file_url") and (counts.get("image_url") or counts.get("video_url")):
        raise PreflightError(
            "messages: file_url parts cannot be mixed with image_url or video_url parts; send them apart."
        )
    kinds = {MEDIA_PARTS[k] for k in counts if k in MEDIA_PARTS}
    if info is None or not kinds or kinds <= set(info.modalities):
        return info
    target = get_model(vision_model) if vision_model else None
    if target is None or not kinds <= set(target.modalities):
        where = next(
            p.name(i)
            for i, m in enumerate(body["messages"])
            if m["role"] == "user"
            and isinstance(m.get("content"), list)
            and any(x["type"] in MEDIA_PARTS for x in m["content"])
        )
        raise PreflightError(
            f"{where}: {info.id} reads text only ({', '.join(sorted(kinds))} given); use a vision model such as "
            "glm-4.6v or glm-5.3-flash, or describe the media in text.",
            "1210",
        )
    p.note(f"model: {info.id} reads text only; sent to {target.id} for the {', '.join(sorted(kinds))}")
    body["model"] = target.id
    return target


def _options(body: dict[str, Any], p: _Pass, info: Any, surface: str) -> None:
    mt = body.get("max_tokens")
    if mt is not None:
        if not isinstance(mt, int) or isinstance(mt, bool) or mt < 1:
            raise PreflightError("max_tokens: an integer of 1 or more.")
        if info is not None and info.max_output and mt > info.max_output:
            body["max_tokens"] = info.max_output
            p.note(f"max_tokens: {mt} lowered to {info.id}'s maximum {info.max_output}")
    limits = chat_limits()
    for name, lo, hi in limits.sampling:
        v = body.get(name)
        if isinstance(v, int | float) and not isinstance(v, bool) and not lo <= v <= hi:
            body[name] = min(max(float(v), lo), hi)
            p.note(f"{name}: {v} clamped to {body[name]:g} (Z.AI takes [{lo:g}, {hi:g}])")
    stop = body.get("stop")
    if isinstance(stop, str):
        body["stop"] = [stop]
        p.note("stop: a string, sent as a one-word list")
    elif isinstance(stop, list) and len(stop) > limits.max_stop_words:
        body["stop"] = stop[: limits.max_stop_words]
        p.note(f"stop: {len(stop)} stop words, Z.AI takes {limits.stop_words}; sent the first")
    if info is None:
        return
    effort = body.get("reasoning_effort")
    if isinstance(effort, str) and info.efforts and effort not in info.efforts:
        mapped = info.effort_map.get(effort)
        if mapped is None and effort in _EFFORTS:
            above = [e for e in info.efforts if e in _EFFORTS and _EFFORTS.index(e) >= _EFFORTS.index(effort)]
            mapped = min(above, key=_EFFORTS.index) if above else info.efforts[-1]
        if mapped is not None:
            body["reasoning_effort"] = mapped
            p.note(f"reasoning_effort: {effort!r} sent as {mapped!r} ({info.id} takes {', '.join(info.efforts)})")
    thinking = body.get("thinking")
    off = isinstance(thinking, dict) and thinking.get("type") == "disabled"
    if surface == "general" and off and not info.can_disable_thinking:
        del body["thinking"]
        if info.efforts:
            body["reasoning_effort"] = "low" if "low" in info.efforts else info.efforts[0]
        p.note(f"thinking: {info.id} always thinks (the general endpoint refuses 'disabled'); asked for low effort")


def preflight(
    body: dict[str, Any],
    *,
    labels: list[str] | None = None,
    vision_model: str | None = None,
    surface: str = "coding",
) -> list[str]:
    """Repair ``body`` (a chat request) in place; return the notes, one per repair. Raises ``PreflightError``.

    ``labels[i]`` names chat message ``i`` to the client (default ``messages[i]``); ``vision_model`` is where media
    for a text-only model go (``None``: refused); ``surface`` is the endpoint it goes to (``coding`` or ``general``).
    """
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise PreflightError("messages: required, a non-empty list of {role, content}.", "1213")
    p = _Pass(labels)
    kept: list[tuple[int, dict[str, Any]]] = []
    carried: list[tuple[int, dict[str, Any]]] = []
    empty_users: list[int] = []
    for i, m in enumerate(messages):
        fixed = p.message(i, m, carried)
        if fixed is None and m.get("role") == "user":
            empty_users.append(i)
            continue
        if fixed is not None:
            kept.append((i, fixed))
        following = messages[i + 1] if i + 1 < len(messages) else None
        if carried and not (isinstance(following, dict) and following.get("role") == "tool"):
            kept.extend(carried)  # a tool run's images, right after the run
            carried.clear()
    out = p.pair(kept)
    if not any(m["role"] == "user" for m in out):
        if empty_users:
            raise PreflightError(
                f"{p.name(empty_users[-1])}: the user message is empty (Z.AI answers 1213); put the prompt in it.",
                "1213",
            )
        systems = [k for k, m in enumerate(out) if m["role"] == "system"]
        if not systems:
            raise PreflightError(
                "messages: there is no user message (Z.AI refuses a conversation of only system/assistant "
                "messages); add a user message with the request."
            )
        out[systems[-1]] = {**out[systems[-1]], "role": "user"}
        p.note("messages: no user message; the last system message was sent as the user's")
    for i in empty_users:
        p.note(f"{p.name(i)}: empty user message dropped")
    body["messages"] = out
    _check_tools(body)
    info = get_model(str(body.get("model") or ""))
    info = _route_media(body, p, info, vision_model)
    _options(body, p, info, surface)
    return p.notes
