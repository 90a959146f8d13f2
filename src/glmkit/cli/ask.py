"""``glm ask``: one prompt, streamed; reads stdin for pipes."""

from __future__ import annotations

import sys
from typing import Any

import typer

from glmkit.cli._common import DEBUG, ENDPOINT, JSON, OFFLINE, PROFILE, handle_errors, is_tty, make_client


def ask(
    prompt: list[str] = typer.Argument(None, help="The prompt (stdin is appended when piped)."),
    model: str = typer.Option(None, "--model", "-m", help="Model id (default: the profile's, else glm-5.3)."),
    system: str = typer.Option(None, "--system", "-s", help="A system prompt."),
    no_think: bool = typer.Option(
        False, "--no-think", help="Disable thinking (lowest effort on always-thinking models)."
    ),
    temperature: float = typer.Option(None, "--temperature", "-t", help="0.0 to 1.0."),
    max_tokens: int = typer.Option(None, "--max-tokens", help="Cap the answer's length."),
    json_out: bool = JSON,
    offline: bool = OFFLINE,
    profile: str = PROFILE,
    endpoint: str = ENDPOINT,
    debug: bool = DEBUG,
) -> None:
    """Ask one question and stream the answer: glm ask "why is the sky blue", or git diff | glm ask "review this"."""
    with handle_errors(debug):
        text = " ".join(prompt or [])
        if not sys.stdin.isatty():
            piped = sys.stdin.read()
            if piped.strip():
                text = f"{text}\n\n{piped}" if text else piped
        if not text.strip():
            from glmkit._errors import InputError

            raise InputError("No prompt given.", hint='Pass one (glm ask "...") or pipe text in.')
        client = make_client(offline=offline, profile=profile, endpoint=endpoint)
        from glmkit.catalog import default_model

        messages: list[dict[str, Any]] = []
        if system:
            messages.append({"role": "system", "content": system})
        messages.append({"role": "user", "content": text})
        params: dict[str, Any] = {
            "model": model or client.settings.options.get("model") or default_model(),
            "messages": messages,
        }
        if no_think:
            params["thinking"] = {"type": "disabled"}
        if temperature is not None:
            params["temperature"] = temperature
        if max_tokens is not None:
            params["max_tokens"] = max_tokens
        if json_out:
            reply = client.chat.completions.create(**params)
            sys.stdout.write(reply.to_json(indent=2) + "\n")
            return
        show_reasoning = is_tty(sys.stderr) and is_tty()
        with client.chat.completions.create(stream=True, **params) as stream:
            for chunk in stream:
                for c in chunk.choices:
                    if c.delta.reasoning_content and show_reasoning:
                        sys.stderr.write(f"\x1b[2m{c.delta.reasoning_content}\x1b[0m")
                    if c.delta.content:
                        sys.stdout.write(c.delta.content)
                        sys.stdout.flush()
            stream.get_final_completion()
        sys.stdout.write("\n")


def register(app: typer.Typer) -> None:
    """Add ``ask`` to the app."""
    app.command("ask")(ask)
