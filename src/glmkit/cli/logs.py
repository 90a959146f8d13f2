"""``glm logs``: list and search the conversations ``glm ask`` and ``glm chat`` logged; ``glm logs show ID``."""

from __future__ import annotations

import sys
from typing import Any

import typer

from glmkit.cli._common import DEBUG, JSON, handle_errors

logs_app = typer.Typer(help="List, search and show logged conversations (glm logs show ID).")

QUERY = typer.Option(
    None, "--query", "-q", metavar="TEXT", help="Only conversations whose prompt, answer, system or model contain this."
)
COUNT = typer.Option(20, "--count", "-n", metavar="N", help="How many, newest first (0: all).")
SINCE = typer.Option(None, "--since", metavar="WHEN", help="Only since: 30m, 24h, 7d, today, or a date.")
SOURCES = ("ask", "chat")  # the commands that log conversations
SOURCE = typer.Option(None, "--source", metavar="ask|chat", help="Only from ask or chat.")


def _ledger() -> Any:
    """The ledger, or ``None`` when nothing was ever logged (reading never creates the file)."""
    from glmkit.ledger import Ledger, default_path

    path = default_path()
    return Ledger(path) if path.exists() else None


def _when(ts: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def _one_line(text: str | None, width: int = 60) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def list_logs(query: str | None, count: int, since: str | None, source: str | None, json_out: bool) -> None:
    """Print the newest conversations (a table on a terminal, tab-separated in a pipe, or JSON)."""
    import json

    from glmkit._errors import InputError

    if count < 0:
        raise InputError(f"--count must be 0 or more, got {count}.", hint="-n 20 for the newest 20, -n 0 for all.")
    if source is not None:
        source = source.strip().lower()
        if source not in SOURCES:
            raise InputError(f"--source takes ask or chat, not {source!r}.", hint="glm logs --source chat")
    from glmkit.ledger import parse_since

    parse_since(since)  # a bad --since is an error even before anything is logged
    ledger = _ledger()
    rows = (
        ledger.conversations(query=query, limit=count or 2**62, since=since, source=source)
        if ledger is not None
        else []
    )
    if json_out:
        sys.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False, default=str) + "\n")
        return
    if not rows:
        sys.stderr.write("No conversations logged" + (" match." if query or since or source else " yet.") + "\n")
        return
    from glmkit.cli._render import print_table

    table = [
        [
            r["id"],
            _when(r["created"]),
            r["source"],
            r["model"],
            r["status"],
            f"{r['input_tokens']}/{r['output_tokens']}",
            _one_line(r["prompt"]),
        ]
        for r in rows
    ]
    print_table(["id", "when", "source", "model", "status", "tokens in/out", "prompt"], table)


@logs_app.callback(invoke_without_command=True)
def logs(
    ctx: typer.Context,
    query: str = QUERY,
    count: int = COUNT,
    since: str = SINCE,
    source: str = SOURCE,
    json_out: bool = JSON,
    debug: bool = DEBUG,
) -> None:
    """List the newest logged conversations: glm logs -q docker -n 5; glm logs show 12."""
    if ctx.invoked_subcommand is None:  # `glm logs show ID` runs this first with the defaults: nothing to do
        with handle_errors(debug):
            list_logs(query, count, since, source, json_out)


# `glm logs list` is `glm logs` spelled out: the same function, whose context never has a subcommand.
logs_app.command("list", help="List (and search, with -q) the logged conversations, newest first.")(logs)


@logs_app.command("show")
def show(
    conversation_id: int = typer.Argument(..., metavar="ID", help="The id from glm logs."),
    json_out: bool = JSON,
    debug: bool = DEBUG,
) -> None:
    """One conversation whole: prompt, reasoning, answer, tokens, timing."""
    with handle_errors(debug):
        import json

        from glmkit._errors import InputError

        ledger = _ledger()
        row = ledger.conversation(conversation_id) if ledger is not None else None
        if row is None:
            raise InputError(f"No conversation with id {conversation_id}.", hint="`glm logs` lists the ids.")
        if json_out:
            sys.stdout.write(json.dumps(row, indent=2, ensure_ascii=False, default=str) + "\n")
            return
        _print_row(row)


def _print_row(row: dict[str, Any]) -> None:
    from glmkit.cli._common import is_tty

    ttft = f", first token {row['ttft_ms']:.0f} ms" if row.get("ttft_ms") is not None else ""
    head = [
        f"#{row['id']}  {_when(row['created'])}  {row['source']}  {row['model']}  {row['status']}"
        + (f" ({row['error_code']})" if row.get("error_code") else ""),
        f"tokens: {row['input_tokens']} in, {row['output_tokens']} out ({row['reasoning_tokens']} reasoning)"
        + (f"; {row['latency_ms']:.0f} ms{ttft}" if row.get("latency_ms") is not None else ""),
    ]
    if row.get("parent_id"):
        head.append(f"continues #{row['parent_id']}")
    if row.get("request_id"):
        head.append(f"request id: {row['request_id']}")
    sections = [("system", row.get("system")), ("prompt", row.get("prompt")), ("reasoning", row.get("reasoning"))]
    if not is_tty():
        out = "\n".join(head) + "\n"
        for title, text in sections:
            if text:
                out += f"\n## {title}\n\n{text.strip()}\n"
        out += f"\n## response\n\n{(row.get('response') or '').strip()}\n"
        sys.stdout.write(out)
        return
    from rich.console import Console
    from rich.markdown import Markdown
    from rich.rule import Rule
    from rich.text import Text

    console = Console(highlight=False)
    for line in head:
        console.print(Text(line, style="dim"))
    for title, text in sections:
        if text:
            console.print(Rule(title, style="dim", align="left"))
            console.print(Text(text.strip(), style="dim italic" if title == "reasoning" else ""))
    console.print(Rule("response", style="dim", align="left"))
    console.print(Markdown(row.get("response") or ""))


@logs_app.command("path")
def path() -> None:
    """Where the log database is."""
    from glmkit.ledger import default_path

    sys.stdout.write(f"{default_path()}\n")


def register(app: typer.Typer) -> None:
    """Add the ``logs`` group to the app."""
    app.add_typer(logs_app, name="logs")
