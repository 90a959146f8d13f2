"""``glm models`` (the catalog as a table) and ``glm tokens`` (count a file's tokens)."""

from __future__ import annotations

import sys
from typing import Any

import typer

from glmkit.cli._common import DEBUG, ENDPOINT, JSON, OFFLINE, PROFILE, handle_errors, make_client


def _size(n: int) -> str:
    if not n:
        return "-"
    if n >= 1048576 and n % 1048576 == 0:
        return f"{n // 1048576}M"
    return f"{n // 1024}K" if n % 1024 == 0 else str(n)


def models(
    kind: str = typer.Option(
        None, "--kind", "-k", metavar="KIND", help="Only this kind: chat, ocr, asr, image, video."
    ),
    vision: bool = typer.Option(False, "--vision", help="Only models that read images."),
    plan: bool = typer.Option(False, "--plan", help="Only models the Coding Plan offers."),
    refresh: bool = typer.Option(
        False, "--refresh", help="Ask Z.AI's /models first and cache the models the installed catalog lacks."
    ),
    json_out: bool = JSON,
    offline: bool = OFFLINE,
    profile: str = PROFILE,
    endpoint: str = ENDPOINT,
    debug: bool = DEBUG,
) -> None:
    """The models glmkit knows: context, output, thinking, modalities, Coding Plan (from the catalog; --refresh asks
    Z.AI's /models and merges new models into a cached catalog, their kinds inferred and flagged)."""
    import json

    from glmkit.catalog import all_models

    if refresh:
        with handle_errors(debug):
            _refresh(offline=offline, profile=profile, endpoint=endpoint, quiet=json_out)

    kind = kind.strip().lower() if kind is not None else None
    rows = [
        m
        for m in all_models()
        if (kind is None or m.kind == kind) and (not vision or m.vision) and (not plan or m.plan)
    ]
    if kind is not None and not rows and kind not in {m.kind for m in all_models()}:
        raise _usage(f"Unknown kind {kind!r}.", "Use one of chat, ocr, asr, image, video.")
    defaults = {v: k for k, v in _defaults().items() if k in ("chat", "fast", "vision")}
    if json_out:
        sys.stdout.write(json.dumps([_as_data(m, defaults.get(m.id)) for m in rows], indent=2) + "\n")
        return
    _print_models(rows, defaults)
    if any(m.inferred for m in rows):
        typer.echo(
            "* listed by Z.AI's /models (glm models --refresh), not in the installed catalog: inferred from the id"
        )


def _print_models(rows: list[Any], defaults: dict[str, str]) -> None:
    """The catalog as a table on stdout (``defaults``: model id -> the role it is the default for)."""
    from glmkit.cli._render import print_table

    table = [
        [
            m.id,
            m.kind + ("*" if m.inferred else ""),
            _size(m.context),
            _size(m.max_output),
            m.thinking if m.kind == "chat" else "",
            ", ".join(m.modalities),
            "yes" if m.plan else "",
            defaults.get(m.id, ""),
        ]
        for m in rows
    ]
    print_table(
        ["model", "kind", "context", "output", "thinking", "modalities", "plan", "default for"],
        table,
        title="GLM models",
    )


def _refresh(*, offline: bool, profile: str, endpoint: str, quiet: bool) -> None:
    """Merge the endpoint's ``/models`` into the cached catalog and say what changed (on stderr)."""
    from glmkit.catalog import refresh

    with make_client(offline=offline, profile=profile, endpoint=endpoint) as client:
        listing = client.models.list()
        source = client.settings.chat_base_url
    ids = [m.id for m in listing.data]
    report = refresh(ids, source=source, plan=source.rstrip("/").endswith("/coding/paas/v4"))
    lines = [f"{source}/models lists {report['listed']} models; cached catalog: {report['path']}"]
    for mid, row in report["new"].items():
        lines.append(f"  new: {mid} ({row['kind']}; inferred from the id: {', '.join(row['inferred'])})")
    if not report["new"]:
        lines.append("  nothing new: the installed catalog knows every listed model")
    if report["not_listed"]:
        lines.append("  known but not listed: " + ", ".join(report["not_listed"]))
    if not quiet:
        typer.echo("\n".join(lines), err=True)


def _as_data(m: Any, default_for: str | None) -> dict[str, Any]:
    """One catalog entry for ``glm models --json``."""
    return {
        "id": m.id,
        "kind": m.kind,
        "context": m.context or None,
        "max_output": m.max_output or None,
        "thinking": m.thinking,
        "modalities": list(m.modalities),
        "vision": m.vision,
        "plan": m.plan,
        "released": m.released,
        "default_for": default_for,
        "inferred": list(m.inferred),
    }


def _defaults() -> dict[str, str]:
    from glmkit import data

    return dict(data.load("models")["defaults"])


def _usage(message: str, hint: str) -> typer.Exit:
    from glmkit.cli._common import fail

    return fail(message, hint=hint, code=2)


class _NoKey(Exception):
    """No key to ask Z.AI's tokenizer with: ``glm tokens`` counts locally instead."""


def tokens(
    path: str = typer.Argument(..., metavar="FILE", help="A text file, or - for stdin."),
    model: str = typer.Option(
        None,
        "--model",
        "-m",
        metavar="MODEL",
        help="Count as this model (the endpoint knows glm-4.6, glm-4.6v, glm-4.5).",
    ),
    json_out: bool = JSON,
    offline: bool = OFFLINE,
    profile: str = PROFILE,
    endpoint: str = ENDPOINT,
    debug: bool = DEBUG,
) -> None:
    """Count the tokens of a file with Z.AI's tokenizer (a local estimate, with a note, if it cannot be reached)."""
    with handle_errors(debug):
        import json

        from glmkit._errors import APIConnectionError, InputError
        from glmkit._tokens import estimate_text

        text = _read_text(path)
        if not text.strip():
            raise InputError(f"{'stdin' if path == '-' else path} is empty: nothing to count.")
        source, note = "api", None
        try:
            params: dict[str, Any] = {"model": model} if model else {}
            with make_client(offline=offline, profile=profile, endpoint=endpoint) as client:
                if not client.settings.api_key:
                    raise _NoKey
                result = client.tokenizer.create(messages=[{"role": "user", "content": text}], **params)
            count = result.usage.total_tokens
        except APIConnectionError as exc:
            count, source = estimate_text(text), "estimate"
            note = f"the tokenizer endpoint could not be reached ({exc}); this is glmkit's local estimate"
        except _NoKey:
            count, source = estimate_text(text), "estimate"
            note = "no API key (set ZAI_API_KEY or run `glm setup` for Z.AI's count); this is glmkit's local estimate"
        if json_out:
            out = {"tokens": count, "source": source, "model": model, "chars": len(text), "path": path}
            sys.stdout.write(json.dumps(out) + "\n")
        else:
            sys.stdout.write(f"{count}\n")
        if note:
            from glmkit.cli._common import stderr_console

            stderr_console().print(f"[yellow]note:[/yellow] {note}")


def _read_text(path: str) -> str:
    """A UTF-8 text file, or stdin for ``-``; ``InputError`` naming the problem otherwise."""
    from pathlib import Path

    from glmkit._errors import InputError

    if path == "-":
        return sys.stdin.read()
    from glmkit._fileio import not_a_regular_file

    kind = not_a_regular_file(path)
    if kind is not None and kind != "a folder":
        raise InputError(f"{path} is not a regular file: it is {kind}.", hint="Give a text file, or - to read stdin.")
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"No file at {path}.", hint="Give a text file, or - to read stdin.") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder.", hint="Give a text file in it, or - to read stdin.") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text.", hint="Count text files (or pipe text in with -).") from None


def register(app: typer.Typer) -> None:
    """Add ``models`` and ``tokens`` to the app."""
    app.command("models")(models)
    app.command("tokens")(tokens)
