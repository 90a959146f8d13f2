"""``glm ask``: one prompt, streamed; reads stdin for pipes, attaches files, continues the last conversation."""

from __future__ import annotations

import io
import sys
from typing import TYPE_CHECKING, Any

import typer

from glmkit.cli._common import CHAT_MODEL, DEBUG, ENDPOINT, JSON, OFFLINE, PROFILE, SYSTEM, handle_errors, with_stdin

if TYPE_CHECKING:
    from glmkit.cli._session import ChatSession


def ask(
    prompt: list[str] = typer.Argument(None, metavar="PROMPT", help="The prompt (stdin is appended when piped)."),
    model: str = CHAT_MODEL,
    system: str = SYSTEM,
    files: list[str] = typer.Option(
        None,
        "--file",
        "-f",
        metavar="FILE",
        help="Attach a file (repeatable): text is inlined; images, videos and documents go to a vision model.",
    ),
    no_think: bool = typer.Option(
        False, "--no-think", help="Disable thinking (lowest effort on always-thinking models)."
    ),
    show_thinking: bool = typer.Option(
        None,
        "--show-thinking/--no-show-thinking",
        help="Keep the reasoning visible (to stderr in a pipe), or hide it. Default: shown folded on a terminal.",
    ),
    temperature: float = typer.Option(None, "--temperature", "-t", metavar="T", help="0.0 to 1.0."),
    max_tokens: int = typer.Option(None, "--max-tokens", metavar="N", help="Cap the answer's length."),
    cont: bool = typer.Option(False, "--continue", "-c", help="Continue the last logged conversation."),
    no_log: bool = typer.Option(False, "--no-log", help="Do not log this conversation."),
    json_out: bool = JSON,
    offline: bool = OFFLINE,
    profile: str = PROFILE,
    endpoint: str = ENDPOINT,
    debug: bool = DEBUG,
) -> None:
    """Ask one question and stream the answer: glm ask "why is the sky blue", or git diff | glm ask "review this"."""
    with handle_errors(debug):
        from glmkit._errors import InputError
        from glmkit.cli._attachments import load_attachment
        from glmkit.cli._session import start_session

        text = with_stdin(prompt)
        attachments = [load_attachment(f) for f in files or []]
        if not text.strip() and not attachments:
            raise InputError("No prompt given.", hint='Pass one (glm ask "...") or pipe text in.')
        session = start_session(
            model=model,
            offline=offline,
            profile=profile,
            endpoint=endpoint,
            no_log=no_log and not cont,
            source="ask",
            system=system,
            think=not no_think,
            temperature=temperature,
            max_tokens=max_tokens,
        )
        try:
            if cont:
                _resume(session, model, log=not no_log)
            session.attachments = attachments
            view = _view(json_out, show_thinking)
            _finish(session.send(text, view, stream=not json_out), view, json_out=json_out, debug=debug)
        finally:
            session.client.close()


def _view(json_out: bool, show_thinking: bool | None) -> Any:
    """Where the answer is shown: nowhere as it streams with --json (the JSON comes at the end), else the terminal."""
    from glmkit.cli._render import PlainView, make_view

    if json_out:
        return PlainView(out=io.StringIO(), show_thinking=False)
    return make_view(show_thinking=show_thinking)


def _finish(turn: Any, view: Any, *, json_out: bool, debug: bool) -> None:
    """Turn how the answer ended into output and an exit: JSON, a raised error, Ctrl-C, or a closed pipe."""
    if debug and turn.request_id:
        sys.stderr.write(f"request id: {turn.request_id}\n")
    if turn.status == "cancelled":
        if getattr(view, "broken", False):  # `glm ask ... | head`: the reader has all it wanted
            _silence_stdout()
            raise typer.Exit(0)
        raise KeyboardInterrupt
    if turn.error is not None:
        raise turn.error
    if json_out:
        sys.stdout.write(turn.completion.to_json(indent=2) + "\n")


def _resume(session: ChatSession, model: str | None, *, log: bool) -> None:
    """Continue the last logged conversation (``log=False``: without logging this turn)."""
    from glmkit._errors import InputError

    row = session.ledger.last_conversation(failed=False) if session.ledger is not None else None
    if row is None:
        raise InputError(
            "There is no logged conversation to continue.",
            hint="Ask something first (without --no-log); `glm logs` lists what is logged.",
        )
    session.resume(row)
    if model is None and row.get("model"):
        session.model = row["model"]
    if not log:
        session.ledger = None


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail on the closed pipe."""
    import contextlib
    import os

    with contextlib.suppress(OSError, ValueError):  # not a real file (tests): nothing to silence
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def register(app: typer.Typer) -> None:
    """Add ``ask`` to the app."""
    app.command("ask")(ask)
