"""``glm config``: show, get, set and unset profile keys; list and pick profiles.

The file is TOML (``glm config path``): ``default_profile`` and one ``[profiles.NAME]`` table each.
It is written by ``_config.save_config`` (mode 0600, the old file kept as ``config.toml.bak``), and a
change is checked by resolving settings from the candidate file before the real one is replaced.
The key is never printed whole.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from glmkit.cli._common import DEBUG, JSON, handle_errors

# What glmkit reads from a profile (the values themselves are checked by _config.resolve_settings).
KEYS = {
    "api_key": "the Z.AI API key (stored with mode 0600, shown redacted)",
    "endpoint": "auto, general, coding, mainland-general, mainland-coding, or a URL",
    "plan": "coding, plan-only or payg",
    "region": "international or mainland",
    "auth": "key or jwt",
    "timeout": "seconds per request",
    "max_retries": "retries on rate limits and server errors",
    "model": "default chat model for glm ask/chat",
    "vision_model": "default vision model for the MCP server",
    "offline": "true: always use the in-process emulator",
    "log": "false: do not log conversations (glm logs)",
    "quiet_coding_notice": "true: no notice when chat goes to the coding endpoint",
    "mcp_fallback": "false: do not fall back to the remote MCP servers",
    "plan_only": "true: the key only works on plan surfaces",
}
_BOOL = {"offline", "log", "quiet_coding_notice", "mcp_fallback", "plan_only"}
_FLOAT = {"timeout"}
_INT = {"max_retries"}

config_app = typer.Typer(
    help="Show and change settings and profiles (the key is stored with mode 0600).", no_args_is_help=False
)


def _complete_key(incomplete: str) -> list[str]:
    return [k for k in KEYS if k.startswith(incomplete)]


def _complete_profile(incomplete: str) -> list[str]:
    try:
        names = _load().get("profiles", {})
    except Exception:  # completion must never print a traceback into the shell
        return []
    return [n for n in names if n.startswith(incomplete)]


PROFILE_OPT = typer.Option(
    None,
    "--profile",
    "-P",
    metavar="NAME",
    autocompletion=_complete_profile,
    help="The profile (default: the current one).",
)

KEY_ARG = typer.Argument(..., metavar="KEY", autocompletion=_complete_key, help="A profile key.")


def _path() -> Any:
    from glmkit._config import config_path

    return config_path()


def _load() -> dict[str, Any]:
    from glmkit._config import load_config

    return load_config(_path())


def _current(config: dict[str, Any], profile: str | None) -> str:
    import os

    return profile or os.environ.get("GLM_PROFILE") or config.get("default_profile") or "default"


def _shown(key: str, value: Any) -> str:
    from glmkit._errors import redact

    if key == "api_key":
        return redact(str(value)) or "(empty)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse(key: str, raw: str) -> Any:
    from glmkit._errors import InputError

    if key in _BOOL:
        low = raw.strip().lower()
        if low not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
            raise InputError(f"{key} takes true or false, not {raw!r}.")
        return low in ("true", "1", "yes", "on")
    try:
        if key in _FLOAT:
            return float(raw)
        if key in _INT:
            return int(raw)
    except ValueError:
        raise InputError(f"{key} takes a number, not {raw!r}.") from None
    return raw.strip()


def _read_key() -> str:
    """The key, asked for without echo on a terminal, else the first line of stdin (``pass zai | glm config ...``)."""
    from glmkit._errors import InputError

    if sys.stdin.isatty():
        return str(typer.prompt("API key", hide_input=True))
    key = sys.stdin.readline().strip()
    if not key:
        raise InputError(
            "No API key on stdin.", hint="Pipe one in (echo $KEY | glm config set api_key), or run it in a terminal."
        )
    return key


def _check_value(key: str, value: Any) -> None:
    """Refuse now what would fail every later command: a malformed key, a model of the wrong kind."""
    from glmkit._errors import InputError

    if key == "api_key":
        from glmkit._auth import check_key_format

        reason = check_key_format(value)
        if reason:
            raise InputError(
                f"That API key does not look like a Z.AI key ({reason}).",
                hint="Copy it again from z.ai -> API keys; --force stores it anyway.",
            )
    if key not in ("model", "vision_model"):
        return
    from glmkit.catalog import check_chat_model, default_model, get_model, normalize_model_id

    if key == "model":
        check_chat_model(value, hint="`glm models -k chat` lists them; --force stores it anyway.")
        return
    info = get_model(normalize_model_id(value))  # an id the catalog does not know yet is let through
    if info is not None and not info.vision:
        raise InputError(
            f"{info.id} reads text only, so it cannot serve the vision tools.",
            hint=f"Use a vision model such as {default_model('vision')} (`glm models --vision`); "
            "--force stores it anyway.",
        )


def _save_checked(config: dict[str, Any], profile: str) -> None:
    """Resolve settings from the candidate config first: a bad value never reaches the real file."""
    import contextlib
    import os
    import tempfile
    from pathlib import Path

    from glmkit._config import resolve_settings, save_config
    from glmkit._toml import dump_toml

    path = _path()
    if not path.parent.exists():
        from glmkit._fileio import private_dir

        private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=".config-check-", suffix=".toml", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(dump_toml(config))
        resolve_settings(profile=profile, environ={}, config_file=Path(tmp))
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    save_config(path, config)


@config_app.command("show")
def show(profile: str | None = PROFILE_OPT, json_out: bool = JSON, debug: bool = DEBUG) -> None:
    """The effective settings of a profile (environment > profile > defaults), key redacted."""
    with handle_errors(debug):
        import json
        import os

        from glmkit._config import KEY_ENV, resolve_settings

        config = _load()
        name = _current(config, profile)
        s = resolve_settings(profile=profile)
        stored = dict(config.get("profiles", {}).get(name, {}))
        key_from = next((f"${n}" for n in KEY_ENV if os.environ.get(n)), None) or (
            "profile" if stored.get("api_key") else "not set"
        )
        data = {
            "config_file": str(_path()),
            "profile": name,
            "api_key": _shown("api_key", s.api_key) if s.api_key else None,
            "api_key_from": key_from,
            "chat_base_url": s.chat_base_url,
            "base_url": s.base_url,
            "plan": s.plan,
            "region": s.region,
            "auth": s.auth,
            "timeout": s.timeout,
            "max_retries": s.max_retries,
            "offline": s.offline,
            **{
                k: v
                for k, v in s.options.items()
                if k not in ("plan", "region", "auth", "timeout", "max_retries", "offline")
            },
        }
        if json_out:
            sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
            return
        width = max(len(k) for k in data)
        for k, v in data.items():
            shown = "(not set)" if v is None else v if k == "api_key" else _shown(k, v)
            sys.stdout.write(f"{k.ljust(width)}  {shown}\n")


@config_app.command("get")
def get(key: str = KEY_ARG, profile: str = PROFILE_OPT, debug: bool = DEBUG) -> None:
    """One value stored in a profile (the key redacted); exit 1 when it is not set."""
    with handle_errors(debug):
        config = _load()
        prof = config.get("profiles", {}).get(_current(config, profile), {})
        if key not in prof:
            raise typer.Exit(1)
        sys.stdout.write(_shown(key, prof[key]) + "\n")


@config_app.command("set")
def set_(
    key: str = typer.Argument(
        ..., metavar="KEY", autocompletion=_complete_key, help="A profile key (glm config keys lists them)."
    ),
    value: str = typer.Argument(None, metavar="VALUE", help="The value (api_key: omit it to be asked without echo)."),
    profile: str = PROFILE_OPT,
    force: bool = typer.Option(
        False, "--force", help="Store a setting glmkit does not know, or a key or model id it would refuse."
    ),
    debug: bool = DEBUG,
) -> None:
    """Store a value in a profile (created if new); glm config set api_key asks for the key without echo."""
    with handle_errors(debug):
        from glmkit._errors import InputError

        if key not in KEYS and not force:
            raise InputError(
                f"{key!r} is not a setting glmkit reads.",
                hint="`glm config keys` lists them; --force stores it anyway.",
            )
        if value is None:
            if key != "api_key":
                raise InputError(f"Give a value: glm config set {key} VALUE.")
            value = _read_key()
        parsed = _parse(key, value)
        if not force:
            _check_value(key, parsed)
        config = _load()
        name = _current(config, profile)
        profiles = config.setdefault("profiles", {})
        profiles.setdefault(name, {})[key] = parsed
        _save_checked(config, name)
        sys.stderr.write(f"{name}.{key} = {_shown(key, profiles[name][key])}  ({_path()})\n")


@config_app.command("unset")
def unset(key: str = KEY_ARG, profile: str = PROFILE_OPT, debug: bool = DEBUG) -> None:
    """Remove a value from a profile."""
    with handle_errors(debug):
        from glmkit._errors import InputError

        config = _load()
        name = _current(config, profile)
        prof = config.get("profiles", {}).get(name, {})
        if key not in prof:
            raise InputError(f"{key!r} is not set in profile {name!r}.", hint="`glm config show` lists what is set.")
        del prof[key]
        _save_checked(config, name)
        sys.stderr.write(f"removed {name}.{key}\n")


@config_app.command("profiles")
def profiles(json_out: bool = JSON, debug: bool = DEBUG) -> None:
    """The profiles in the config file; * marks the current one."""
    with handle_errors(debug):
        import json

        config = _load()
        current = _current(config, None)
        names = sorted(set(config.get("profiles", {})) | {current})
        if json_out:
            sys.stdout.write(json.dumps({"current": current, "profiles": names}) + "\n")
            return
        for n in names:
            sys.stdout.write(f"{'*' if n == current else ' '} {n}\n")


@config_app.command("use")
def use(
    name: str = typer.Argument(
        ..., metavar="NAME", autocompletion=_complete_profile, help="The profile to make current."
    ),
    debug: bool = DEBUG,
) -> None:
    """Make a profile the current one (default_profile)."""
    with handle_errors(debug):
        from glmkit._errors import InputError

        config = _load()
        if name not in config.get("profiles", {}) and name != "default":
            raise InputError(
                f"No profile named {name!r}.", hint=f"Create it with `glm config set --profile {name} api_key`."
            )
        config["default_profile"] = name
        _save_checked(config, name)
        sys.stderr.write(f"current profile: {name}\n")


@config_app.command("keys")
def keys() -> None:
    """The settings a profile can hold."""
    width = max(len(k) for k in KEYS)
    for k, doc in KEYS.items():
        sys.stdout.write(f"{k.ljust(width)}  {doc}\n")


@config_app.command("path")
def path() -> None:
    """Where the config file is."""
    sys.stdout.write(f"{_path()}\n")


@config_app.callback(invoke_without_command=True)
def _default(ctx: typer.Context) -> None:
    """Show and change settings and profiles (``glm config`` alone shows the current profile)."""
    if ctx.invoked_subcommand is None:
        show(profile=None, json_out=False, debug=False)


def register(app: typer.Typer) -> None:
    """Add the ``config`` group to the app."""
    app.add_typer(config_app, name="config")
