"""Builds the ``glm`` Typer app. Each command group lives in its own module with a ``register(app)``.

Only typer is imported at start-up; rich, httpx, pydantic and the SDK are imported inside the
commands that use them, so ``glm --help`` stays fast.
"""

from __future__ import annotations

import importlib
import sys

import typer

# Command modules, in help order; a module that is missing is skipped (commands land one at a time).
COMMAND_MODULES = [
    "ask",
    "chat",
    "media",
    "web",
    "models",
    "config",
    "logs",
    "emulate",
    "serve",
    "mcp",
    "setup",
    "doctor",
    "usage",
]

app = typer.Typer(
    name="glm",
    help="The toolkit for Z.AI's GLM models: ask, chat, every modality, coding-tool setup, gateway, MCP server, emulator.",
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    add_completion=True,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from glmkit._version import __version__

        typer.echo(f"glm {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """The toolkit for Z.AI's GLM models."""


for _name in COMMAND_MODULES:
    try:
        _module = importlib.import_module(f"glmkit.cli.{_name}")
    except ModuleNotFoundError as _exc:
        if _exc.name == f"glmkit.cli.{_name}":
            continue
        raise
    _module.register(app)


def main() -> None:
    """Entry point of the ``glm`` console script."""
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        sys.exit(130)


if __name__ == "__main__":
    main()
