"""A conversation without a terminal: ``ChatSession`` holds the history, the options and the slash commands.

It streams each answer into a view (``cli/_render.py``) and logs each turn to the ledger, so ``glm chat``
(a REPL around it), ``glm ask`` (a one-turn session) and the tests all drive the same code.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

from glmkit.cli._attachments import as_text, load_attachment, loggable, user_content
from glmkit.cli._common import make_client

HELP = """\
/model [NAME]      show or switch the model
/system [TEXT]     show or set the system prompt (/system off clears it)
/think on|off      turn thinking on or off
/attach FILE       attach a file (text or image) to the next message
/save FILE         save the conversation (.json for JSON, else Markdown)
/tokens            count the tokens of the conversation
/clear             forget the conversation
/help              this list
/exit              leave (also Ctrl-D)
Enter sends; Alt-Enter (or Esc then Enter) adds a line; start with \"\"\" for a block ending with \"\"\"."""


@dataclass
class Turn:
    """One exchange: what was asked, what came back, how it ended (ok, cancelled, error)."""

    prompt: str
    completion: Any = None
    status: str = "ok"
    error: Exception | None = None
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    log_id: int | None = None
    request_id: str | None = None

    @property
    def text(self) -> str:
        """The answer's text (partial when cancelled)."""
        return self.completion.content if self.completion is not None else ""


@dataclass
class ChatSession:
    """A conversation with a model: history, options, slash commands and logging, without any terminal I/O."""

    client: Any
    model: str
    system: str | None = None
    think: bool = True
    temperature: float | None = None
    max_tokens: int | None = None
    ledger: Any = None
    source: str = "chat"
    model_pinned: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    parent_id: int | None = None
    last_usage: Any = None

    def messages_for(self, content: Any) -> list[dict[str, Any]]:
        """The messages to send with a new user message."""
        system = [{"role": "system", "content": self.system}] if self.system else []
        return [*system, *self.history, {"role": "user", "content": content}]

    def params(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """The request parameters for these messages."""
        params: dict[str, Any] = {"model": self.model, "messages": messages}
        if not self.think:
            params["thinking"] = {"type": "disabled"}
        if self.temperature is not None:
            params["temperature"] = self.temperature
        if self.max_tokens is not None:
            params["max_tokens"] = self.max_tokens
        return params

    def _route_images(self, view: Any) -> None:
        from glmkit.catalog import default_model, get_model

        kinds = {a["kind"] for a in self.attachments} - {"text"}
        if not kinds:
            return
        info = get_model(self.model)
        if info is not None and not info.vision and not self.model_pinned:
            vision = default_model("vision")
            view.note(f"{self.model} reads text only; using {vision} for the {'/'.join(sorted(kinds))} attached.")
            self.model = vision

    def send(self, text: str, view: Any, *, stream: bool = True) -> Turn:
        """Ask, stream the answer into ``view``, log the turn; the history grows only by finished answers.

        A ``GLMError`` is returned on ``turn.error`` (with the partial answer logged), Ctrl-C ends the
        turn as ``cancelled``; neither leaves the session unusable.
        """
        from glmkit._errors import GLMError, InputError

        self._route_images(view)
        user = {"role": "user", "content": user_content(text, self.attachments)}
        self.attachments = []
        messages = self.messages_for(user["content"])
        turn = Turn(prompt=text)
        start = time.monotonic()
        shown: dict[str, list[str]] = {"content": [], "reasoning": []}
        try:
            self._answer(messages, view, turn, shown, start, stream=stream)
        except (KeyboardInterrupt, BrokenPipeError):  # Ctrl-C, or the reader of a pipe went away
            turn.status = "cancelled"
            turn.completion = self._partial(shown)
        except GLMError as exc:
            turn.status, turn.error = "error", exc
            turn.completion = self._partial(shown) if shown["content"] or shown["reasoning"] else None
            if isinstance(exc, InputError):  # nothing was sent: nothing to log
                view.close()
                return turn
        except BaseException:
            view.close()  # a bug must not leave the terminal in a live display
            raise
        turn.latency_ms = (time.monotonic() - start) * 1000
        self._finish(turn, view, messages)
        if turn.status == "ok":
            self.history += [user, {"role": "assistant", "content": turn.text}]
            self.parent_id = turn.log_id if turn.log_id is not None else self.parent_id
        return turn

    def _answer(
        self,
        messages: list[dict[str, Any]],
        view: Any,
        turn: Turn,
        shown: dict[str, list[str]],
        start: float,
        *,
        stream: bool,
    ) -> None:
        """Send the request and pass the answer to ``view``; the SDK's notices become view notes."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            handle = self.client.chat.completions.create(stream=stream, **self.params(messages))
        for w in caught:
            view.note(str(w.message))
        turn.request_id = handle.request_id
        if not stream:
            turn.completion = handle
            if handle.reasoning:
                view.reasoning(handle.reasoning)
            view.content(handle.content)
            return
        with handle:
            self._receive(handle, view, turn, shown, start)
            turn.completion = handle.get_final_completion()

    def _finish(self, turn: Turn, view: Any, messages: list[dict[str, Any]]) -> None:
        """Close the view with its footer (and a note when the answer was cut), then log the turn."""
        if turn.completion is not None and turn.completion.usage is not None:
            self.last_usage = turn.completion.usage
        if turn.status == "ok" and turn.completion.choices and turn.completion.choices[0].finish_reason == "length":
            view.note("the answer was cut at the token limit (finish_reason 'length'); raise --max-tokens for more.")
        view.close(cancelled=turn.status == "cancelled", footer=self._footer(turn))
        self._log(turn, messages)

    @staticmethod
    def _receive(stream: Any, view: Any, turn: Turn, shown: dict[str, list[str]], start: float) -> None:
        """Pass each piece to the view, noting what was shown (a cancelled turn logs exactly that)."""
        for chunk in stream:
            for c in chunk.choices:
                if c.index != 0:
                    continue
                if turn.ttft_ms is None and (c.delta.reasoning_content or c.delta.content):
                    turn.ttft_ms = (time.monotonic() - start) * 1000
                if c.delta.reasoning_content:
                    shown["reasoning"].append(c.delta.reasoning_content)
                    view.reasoning(c.delta.reasoning_content)
                if c.delta.content:
                    shown["content"].append(c.delta.content)
                    view.content(c.delta.content)

    def _partial(self, shown: dict[str, list[str]]) -> Any:
        """What the user saw of an unfinished answer (the stream may have read further than was shown)."""
        from glmkit.types.chat import ChatCompletion, ChatMessage, Choice

        message = ChatMessage(content="".join(shown["content"]), reasoning_content="".join(shown["reasoning"]) or None)
        return ChatCompletion(model=self.model, choices=[Choice(message=message)])

    def _footer(self, turn: Turn) -> str | None:
        if self.source != "chat" or turn.completion is None or turn.completion.usage is None:
            return None
        u = turn.completion.usage
        return f"{self.model} · {u.prompt_tokens} in / {u.completion_tokens} out · {turn.latency_ms / 1000:.1f}s"

    def _log(self, turn: Turn, messages: list[dict[str, Any]]) -> None:
        if self.ledger is None:
            return
        c = turn.completion
        usage = getattr(c, "usage", None)
        details = getattr(usage, "completion_tokens_details", None)
        tool_calls = None
        if c is not None and c.choices and c.choices[0].message.tool_calls:
            tool_calls = [t.to_dict() for t in c.choices[0].message.tool_calls]
        turn.log_id = self.ledger.add_conversation(
            source=self.source,
            model=(c.model if c is not None and c.model else self.model),
            system=self.system,
            prompt=turn.prompt,
            response=c.content if c is not None else "",
            reasoning=(c.reasoning or None) if c is not None else None,
            messages=loggable(messages),
            tool_calls=tool_calls,
            input_tokens=getattr(usage, "prompt_tokens", 0),
            output_tokens=getattr(usage, "completion_tokens", 0),
            reasoning_tokens=getattr(details, "reasoning_tokens", 0) or 0,
            latency_ms=round(turn.latency_ms, 1),
            ttft_ms=round(turn.ttft_ms, 1) if turn.ttft_ms is not None else None,
            parent_id=self.parent_id,
            status=turn.status,
            error_code=_error_code(turn.error),
            request_id=turn.request_id or getattr(turn.error, "request_id", None),
        )

    def resume(self, row: dict[str, Any]) -> None:
        """Continue a logged conversation (``glm ask -c``): its messages, its answer, its system prompt."""
        messages = [m for m in (row.get("messages") or []) if isinstance(m, dict)]
        if self.system is None:
            self.system = row.get("system")
        history = [m for m in messages if m.get("role") != "system"]
        if row.get("response"):
            history.append({"role": "assistant", "content": row["response"]})
        elif history and history[-1].get("role") == "user":
            history.pop()  # that question got no answer; the new one replaces it
        self.history = history
        self.parent_id = row.get("id")

    # -- slash commands -------------------------------------------------------------------------
    def command(self, line: str) -> tuple[str, bool]:
        """Run a slash command; returns (text to show, whether to leave)."""
        name, _, arg = line.strip().partition(" ")
        arg = arg.strip()
        handler = getattr(self, f"_cmd_{name.lstrip('/').lower()}", None)
        if handler is None:
            return f"Unknown command {name}; /help lists them.", False
        from glmkit._errors import GLMError

        try:
            return handler(arg)  # type: ignore[no-any-return]
        except GLMError as exc:
            return f"error: {exc}" + (f"\nhint: {exc.hint}" if exc.hint else ""), False
        except OSError as exc:  # /save to a folder that does not exist, /attach of an unreadable file
            return f"error: {exc.strerror or exc}: {exc.filename or arg}", False

    def _cmd_help(self, arg: str) -> tuple[str, bool]:
        return HELP, False

    def _cmd_exit(self, arg: str) -> tuple[str, bool]:
        return "", True

    _cmd_quit = _cmd_exit

    def _cmd_model(self, arg: str) -> tuple[str, bool]:
        from glmkit.catalog import check_chat_model

        if not arg:
            return f"model: {self.model}", False
        mid, info = check_chat_model(arg)
        self.model, self.model_pinned = mid, True
        return f"model: {mid}" + ("" if info else " (not in glmkit's catalog; sent as is)"), False

    def _cmd_system(self, arg: str) -> tuple[str, bool]:
        if not arg:
            return f"system: {self.system or '(none)'}", False
        self.system = None if arg.lower() in ("off", "none", "clear") else arg
        return f"system: {self.system or '(none)'}", False

    def _cmd_think(self, arg: str) -> tuple[str, bool]:
        from glmkit._errors import InputError

        if arg.lower() not in ("on", "off", ""):
            raise InputError(f"/think takes on or off, not {arg!r}.")
        if arg:
            self.think = arg.lower() == "on"
        return f"thinking: {'on' if self.think else 'off'}", False

    def _cmd_attach(self, arg: str) -> tuple[str, bool]:
        from glmkit._errors import InputError

        if not arg:
            raise InputError("/attach needs a file.", hint="/attach notes.md or /attach screenshot.png")
        item = load_attachment(arg)
        self.attachments.append(item)
        return f"attached {item['name']} ({item['kind']}) to the next message", False

    def _cmd_clear(self, arg: str) -> tuple[str, bool]:
        self.history, self.attachments, self.parent_id = [], [], None
        return "conversation cleared", False

    def _cmd_tokens(self, arg: str) -> tuple[str, bool]:
        messages = self.messages_for("") if self.history or self.system else []
        messages = [m for m in messages if m.get("content")]
        if not messages:
            return "tokens: 0 (the conversation is empty)", False
        count, source = count_tokens(self.client, messages)
        note = "" if source == "api" else " (local estimate: the tokenizer endpoint was not reachable)"
        last = ""
        if self.last_usage is not None:
            last = f"; last answer: {self.last_usage.prompt_tokens} in / {self.last_usage.completion_tokens} out"
        return f"tokens: {count} in the conversation{note}{last}", False

    def _cmd_save(self, arg: str) -> tuple[str, bool]:
        from glmkit._errors import InputError
        from glmkit._fileio import atomic_write

        if not arg:
            raise InputError("/save needs a file name.", hint="/save chat.md or /save chat.json")
        path = os.path.expanduser(arg)
        messages = self.messages_for("")[:-1]
        if path.endswith(".json"):
            data = json.dumps({"model": self.model, "messages": loggable(messages)}, indent=2, ensure_ascii=False)
        else:
            data = "\n\n".join(f"## {m['role']}\n\n{as_text(m.get('content'))}" for m in loggable(messages))
        atomic_write(path, (data + "\n").encode("utf-8"))
        return f"saved {len(messages)} messages to {path}", False


def _error_code(error: BaseException | None) -> str | None:
    """The business code of an error (a stream error carries it on its cause), else its class name."""
    if error is None:
        return None
    code = getattr(error, "code", None) or getattr(error.__cause__, "code", None)
    return str(code) if code else type(error).__name__


def count_tokens(client: Any, messages: list[dict[str, Any]]) -> tuple[int, str]:
    """Tokens of messages from the tokenizer endpoint, or the local estimate when it cannot be reached."""
    from glmkit._errors import APIConnectionError, APIStatusError
    from glmkit._tokens import estimate_messages

    try:
        return client.tokenizer.create(messages=messages).usage.total_tokens, "api"
    except (APIConnectionError, APIStatusError):
        return estimate_messages(messages), "estimate"


def logging_enabled(no_log: bool, settings: Any) -> bool:
    """Whether to log conversations: not with ``--no-log``, nor with ``log = false`` in the config or profile."""
    if no_log or os.environ.get("GLM_LOG", "").lower() in ("0", "false", "no", "off"):
        return False
    from glmkit._config import config_path, load_config

    top = load_config(config_path()).get("log", True)
    value = settings.options.get("log", top) if settings is not None else top
    return str(value).lower() not in ("false", "0", "no", "off")


def open_ledger(no_log: bool, settings: Any) -> Any:
    """The conversation log, or ``None`` when logging is off."""
    if not logging_enabled(no_log, settings):
        return None
    from glmkit.ledger import Ledger, LedgerError

    try:
        return Ledger()
    except LedgerError as exc:  # the log is bookkeeping: answer anyway, and say why nothing is logged
        sys.stderr.write(f"note: {exc} This conversation is not logged. {exc.hint}\n")
        return None


def start_session(
    *, model: str | None, offline: bool, profile: str | None, endpoint: str | None, no_log: bool, source: str, **kw: Any
) -> ChatSession:
    """Build the client, pick the model (``-m`` > profile ``model`` > catalog default) and open the log."""
    from glmkit._config import resolve_settings
    from glmkit.catalog import default_model

    settings = resolve_settings(profile=profile, endpoint=endpoint, offline=offline or None)
    client = make_client(offline=offline, profile=profile, endpoint=endpoint)
    chosen = model or settings.options.get("model") or default_model("chat")
    return ChatSession(
        client=client,
        model=chosen,
        model_pinned=model is not None,
        ledger=open_ledger(no_log, settings),
        source=source,
        **kw,
    )
