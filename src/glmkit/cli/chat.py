"""``glm chat``: a REPL over a ``ChatSession`` (``cli/_session.py``).

``run_repl`` only reads lines (prompt_toolkit on a terminal, plain lines otherwise) and prints; the
conversation, the slash commands and the logging live in the session, which tests drive directly.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from glmkit.cli._common import CHAT_MODEL, DEBUG, ENDPOINT, OFFLINE, PROFILE, SYSTEM, handle_errors


def chat(
    model: str = CHAT_MODEL,
    system: str = SYSTEM,
    no_think: bool = typer.Option(False, "--no-think", help="Start with thinking off (/think on turns it back on)."),
    show_thinking: bool = typer.Option(
        None, "--show-thinking/--no-show-thinking", help="Keep reasoning visible, or hide it (default: folded)."
    ),
    no_log: bool = typer.Option(False, "--no-log", help="Do not log this conversation."),
    offline: bool = OFFLINE,
    profile: str = PROFILE,
    endpoint: str = ENDPOINT,
    debug: bool = DEBUG,
) -> None:
    """Talk with a model: a REPL with history, multi-line input and /commands (/help lists them)."""
    with handle_errors(debug):
        from glmkit.cli._session import start_session

        session = start_session(
            model=model,
            offline=offline,
            profile=profile,
            endpoint=endpoint,
            no_log=no_log,
            source="chat",
            system=system,
            think=not no_think,
        )
        try:
            run_repl(session, show_thinking=show_thinking)
        finally:
            session.client.close()


def _print(text: str, style: str = "", *, aside: bool = False) -> None:
    """A line for the user; in a pipe, ``aside`` lines (the banner) go to stderr so stdout holds only results."""
    from glmkit.cli._common import is_tty

    if not is_tty():
        stream = sys.stderr if aside else sys.stdout
        stream.write(text + "\n")
        stream.flush()
        return
    from rich.console import Console
    from rich.markup import escape

    Console(highlight=False).print(f"[{style}]{escape(text)}[/{style}]" if style else escape(text))


def run_repl(session: Any, *, show_thinking: bool | None = None) -> None:
    """Read lines until /exit or Ctrl-D; Ctrl-C cancels the current answer (or clears the line) and goes on."""
    from glmkit.cli._render import make_view

    _print(f"glm chat · {session.model} · /help for commands, Ctrl-D to leave", "dim", aside=True)
    for line in _read_lines(session):
        text = line.strip()
        if text.startswith('"""'):
            text = text.strip('"').strip()
        if not text:
            continue
        if text.startswith("/"):
            try:
                out, leave = session.command(text)
            except KeyboardInterrupt:  # e.g. /tokens waiting on the network: cancel it, stay in the chat
                out, leave = "[cancelled]", False
            if out:
                _print(out, "red" if out.startswith("error:") else "cyan")
            if leave:
                return
            continue
        turn = session.send(text, make_view(show_thinking=show_thinking))
        if turn.error is not None:
            hint = getattr(turn.error, "hint", None)
            _print(f"error: {turn.error}" + (f"\nhint: {hint}" if hint else ""), "red")


def _read_lines(session: Any) -> Any:
    if not sys.stdin.isatty():
        for line in sys.stdin:
            yield line.rstrip("\n")
        return
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory
    from prompt_toolkit.key_binding import KeyBindings

    from glmkit._config import data_dir
    from glmkit._fileio import private_file

    history = private_file(data_dir() / "chat_history")  # prompts are private: 0600 in a 0700 folder
    bindings = KeyBindings()

    @bindings.add("enter")
    def _enter(event: Any) -> None:
        buf = event.current_buffer
        text = buf.text.strip()
        if text.startswith('"""') and not (len(text) > 3 and text.endswith('"""')):
            buf.insert_text("\n")
        else:
            buf.validate_and_handle()

    @bindings.add("escape", "enter")
    def _newline(event: Any) -> None:
        event.current_buffer.insert_text("\n")

    prompt: PromptSession[str] = PromptSession(history=FileHistory(str(history)), key_bindings=bindings, multiline=True)
    while True:
        try:
            yield prompt.prompt(f"{session.model}> ", prompt_continuation="... ")
        except KeyboardInterrupt:
            continue
        except EOFError:
            return


def register(app: typer.Typer) -> None:
    """Add ``chat`` to the app."""
    app.command("chat")(chat)
