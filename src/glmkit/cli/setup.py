"""``glm setup TOOL`` / ``--list``, ``glm env TOOL``, ``glm run TOOL -- ARGS``: coding tools on GLM."""

from __future__ import annotations

import os
import sys
from typing import Any

import typer

from glmkit.cli._common import DEBUG, ENDPOINT, JSON, PROFILE, handle_errors

GATEWAY = typer.Option(False, "--via-gateway", help="Point the tool at a running `glm serve` instead of Z.AI.")
GATEWAY_URL = typer.Option(
    None, "--gateway-url", help="The gateway's URL (default GLM_GATEWAY_URL, else http://127.0.0.1:8742)."
)
MODEL = typer.Option(None, "--model", "-m", help="Model id for the tool (default: glmkit's current defaults).")


def resolve_values(
    *, profile: str | None, endpoint: str | None, via_gateway: bool, gateway_url: str | None, model: str | None
) -> dict[str, str]:
    """Template values for the tool files: the key and Z.AI's endpoints, or the gateway's."""
    from glmkit._config import resolve_settings
    from glmkit.catalog import check_chat_model
    from glmkit.setup import gateway_url as configured_gateway
    from glmkit.setup import target_values

    if model is not None:
        model = check_chat_model(model)[0]  # an image model would make every request of the tool fail
    settings = resolve_settings(profile=profile, endpoint=endpoint)
    gateway = None
    if via_gateway or gateway_url:
        gateway = configured_gateway(gateway_url)
    else:
        check_key(settings.api_key)
    return target_values(settings, gateway=gateway, model=model)


def check_key(key: str | None) -> None:
    """``InputError`` before anything is written when the key is missing or malformed."""
    from glmkit._auth import check_key_format
    from glmkit._errors import InputError

    if not key:
        raise InputError(
            "No API key to write into the tool's config.",
            hint="Set ZAI_API_KEY (or save one with `glm config`), or use --via-gateway with a running `glm serve`.",
        )
    reason = check_key_format(key)
    if reason:
        raise InputError(f"The API key does not look right: {reason}.", hint="Copy it again from z.ai -> API keys.")


def setup(
    tool: str = typer.Argument(
        None, help="claude-code, cursor, cline, roo-code, kilo-code, opencode, crush, goose, codex, droid."
    ),
    list_tools: bool = typer.Option(False, "--list", help="Show each tool: installed, configured."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the diff and change nothing."),
    undo: bool = typer.Option(False, "--undo", help="Restore the files from the last backup."),
    force: bool = typer.Option(False, "--force", help="With --undo: restore even if the file changed since."),
    project: bool = typer.Option(False, "--project", help="Write the project-level file (in this folder)."),
    mcp: bool = typer.Option(False, "--mcp", help="Also register glmkit's MCP server (`glm mcp`) with the tool."),
    via_gateway: bool = GATEWAY,
    gateway_url: str = GATEWAY_URL,
    model: str = MODEL,
    json_out: bool = JSON,
    profile: str = PROFILE,
    endpoint: str = ENDPOINT,
    debug: bool = DEBUG,
) -> None:
    """Point a coding tool at GLM: merges its config file after a timestamped backup (--dry-run, --undo)."""
    with handle_errors(debug):
        if not tool and not list_tools:
            _refuse_action_without_tool(
                {"--undo": undo, "--dry-run": dry_run, "--mcp": mcp, "--project": project, "--force": force}
            )
        if list_tools or not tool:
            _list(json_out, profile, endpoint)
            return
        from glmkit.setup import get_tool, resolve_name

        tool_id = resolve_name(tool)
        if undo:
            from glmkit.setup import undo as undo_files

            for line in undo_files(tool_id, force=force):
                typer.echo(line)
            return
        values = resolve_values(
            profile=profile, endpoint=endpoint, via_gateway=via_gateway, gateway_url=gateway_url, model=model
        )
        plan = get_tool(tool_id).plan(values, project=project, mcp=mcp)
        _run_plan(plan, values, dry_run=dry_run, json_out=json_out)


def _refuse_action_without_tool(flags: dict[str, bool]) -> None:
    """``glm setup`` alone lists the tools; with an action flag and no tool it is a usage error, not the list."""
    asked = [flag for flag, on in flags.items() if on]
    if asked:
        from glmkit._errors import InputError

        raise InputError(
            f"{asked[0]} needs a tool: glm setup TOOL {asked[0]}.", hint="`glm setup --list` shows the tools."
        )


def _run_plan(plan: Any, values: dict[str, str], *, dry_run: bool, json_out: bool) -> None:
    from glmkit.setup import apply_changes, diff_text, render

    changes = render(plan.edits)
    secrets = [values["token"]]
    if dry_run:
        diff = diff_text(changes, secrets)
        if json_out:
            _json({"tool": plan.tool, "dry_run": True, "diff": diff, "steps": plan.steps, "notes": plan.notes})
        else:
            sys.stdout.write(diff or "No changes: the files already say this.\n")
            _steps(plan)
        return
    backup = apply_changes(plan.tool, changes)
    if json_out:
        files = [{"path": str(c.path), "changed": c.changed, "created": c.before is None} for c in changes]
        _json(
            {
                "tool": plan.tool,
                "files": files,
                "backup": str(backup) if backup else None,
                "steps": plan.steps,
                "notes": plan.notes,
            }
        )
        return
    for ch in changes:
        verb = "created" if ch.before is None else "updated" if ch.changed else "unchanged"
        mode = " (mode 0600)" if ch.secret and ch.changed else ""
        typer.echo(f"✓ {verb} {ch.path}{mode}")
    if backup is not None:
        typer.echo(f"  backup: {backup}   (undo: glm setup {plan.tool} --undo)")
    _steps(plan)


def _steps(plan: Any) -> None:
    if plan.steps:
        typer.echo("\nSet these by hand in the app:")
        for n, step in enumerate(plan.steps, 1):
            typer.echo(f"  {n}. {step}")
    for note in plan.notes:
        typer.echo(f"note: {note}", err=True)


def _json(data: Any) -> None:
    import json

    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _list(json_out: bool, profile: str | None, endpoint: str | None) -> None:
    from glmkit._config import resolve_settings
    from glmkit.setup import all_tools, status_values, tool_status

    direct, gateway = status_values(resolve_settings(profile=profile, endpoint=endpoint))
    rows = [tool_status(t, direct, gateway) for t in all_tools()]
    if json_out:
        _json([r.to_dict() for r in rows])
        return
    from glmkit.cli._render import print_table

    table = []
    for r in rows:
        configured = {"configured": f"yes ({r.target})", "manual": "set in the app"}.get(r.state, r.state)
        mcp = "-" if r.mcp is None else "yes" if r.mcp else "no"
        table.append([r.id, r.name, "yes" if r.installed else "no", configured, mcp])
    print_table(["tool", "name", "installed", "configured", "mcp"], table)


def env(
    tool: str = typer.Argument(..., help="The tool, e.g. claude-code."),
    shell: str = typer.Option("bash", "--shell", help="bash, zsh or fish."),
    via_gateway: bool = GATEWAY,
    gateway_url: str = GATEWAY_URL,
    model: str = MODEL,
    profile: str = PROFILE,
    endpoint: str = ENDPOINT,
    debug: bool = DEBUG,
) -> None:
    """Print the variables that point a tool at GLM, for one shell: eval "$(glm env claude-code)"."""
    with handle_errors(debug):
        from glmkit._errors import InputError
        from glmkit.setup import get_tool

        if shell not in ("bash", "zsh", "fish"):
            raise InputError(f"Unknown shell {shell!r}.", hint="Use --shell bash, zsh or fish.")
        t = get_tool(tool)
        values = resolve_values(
            profile=profile, endpoint=endpoint, via_gateway=via_gateway, gateway_url=gateway_url, model=model
        )
        for line in export_lines(t.env(values), shell, unset=t.unset()):
            typer.echo(line)


def export_lines(variables: dict[str, str], shell: str, *, unset: list[str] | None = None) -> list[str]:
    """``unset``/``export NAME=value`` lines (``set -e``/``set -gx`` for fish), values quoted for the shell."""
    import shlex

    if shell == "fish":
        lines = [f"set -e {name}" for name in unset or []]
        return lines + [f"set -gx {k} {shlex.quote(v)}" for k, v in variables.items()]
    lines = [f"unset {name}" for name in unset or []]
    return lines + [f"export {k}={shlex.quote(v)}" for k, v in variables.items()]


def run(
    ctx: typer.Context,
    tool: str = typer.Argument(..., help="The tool to start, e.g. claude."),
    via_gateway: bool = GATEWAY,
    gateway_url: str = GATEWAY_URL,
    model: str = MODEL,
    profile: str = PROFILE,
    endpoint: str = ENDPOINT,
    debug: bool = DEBUG,
) -> None:
    """Run a tool with GLM's variables for that process only: glm run claude -- --help."""
    import shutil
    import subprocess

    with handle_errors(debug):
        from glmkit._errors import InputError
        from glmkit.setup import get_tool

        t = get_tool(tool)
        program = t.facts.get("binary")
        if not program:
            raise InputError(f"{t.name} is not a program glmkit can start.", hint=f"Use `glm setup {t.id}`.")
        values = resolve_values(
            profile=profile, endpoint=endpoint, via_gateway=via_gateway, gateway_url=gateway_url, model=model
        )
        variables = t.env(values)
        path = shutil.which(program)
        if path is None:
            raise InputError(f"{program} is not on PATH.", hint=f"Install {t.name} first.")
        try:
            child = {k: v for k, v in os.environ.items() if k not in t.unset()}
            code = subprocess.call([path, *ctx.args], env={**child, **variables})
        except KeyboardInterrupt:
            code = 130
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add ``setup``, ``env`` and ``run``."""
    app.command("setup")(setup)
    app.command("env")(env)
    app.command("run", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(run)
