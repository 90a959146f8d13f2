"""Settings: explicit arguments > environment > config-file profile > defaults.

The resolver takes ``environ`` and the config path as parameters, so tests pass a dict; nothing reads
``os.environ`` after a client is built. Files live under platformdirs' user dirs, or ``GLMKIT_HOME``.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from typing_extensions import TypedDict, Unpack

from glmkit._errors import InputError, redact
from glmkit._toml import dump_toml, toml_key

__all__ = ["Settings", "config_dir", "config_path", "data_dir", "load_config", "resolve_settings", "save_config"]

Region = Literal["international", "mainland"]
Plan = Literal["coding", "payg", "plan-only"]

KEY_ENV = ("ZAI_API_KEY", "GLM_API_KEY", "ZHIPUAI_API_KEY")
_REGION_HINT = "Use 'international' (api.z.ai) or 'mainland' (open.bigmodel.cn)."
_PLAN_HINT = "Use 'coding' (a GLM Coding Plan), 'plan-only', or 'payg'."
_SURFACE_RE = re.compile(r"^(?P<root>.*?)(?P<surface>/coding/paas/v4|/paas/v4|/anthropic|/v1)/?$")


def home(environ: Mapping[str, str] | None = None) -> Path | None:
    """``GLMKIT_HOME``, if set: one folder holding config and data (tests and portable installs)."""
    env = os.environ if environ is None else environ
    value = env.get("GLMKIT_HOME")
    return Path(value).expanduser() if value else None


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where ``config.toml`` lives."""
    h = home(environ)
    if h is not None:
        return h
    import platformdirs

    return Path(platformdirs.user_config_dir("glmkit", appauthor=False))


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where logs and the ledger live."""
    h = home(environ)
    if h is not None:
        return h
    import platformdirs

    return Path(platformdirs.user_data_dir("glmkit", appauthor=False))


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """The config file: ``GLMKIT_CONFIG`` or ``<config dir>/config.toml``."""
    env = os.environ if environ is None else environ
    if env.get("GLMKIT_CONFIG"):
        return Path(env["GLMKIT_CONFIG"]).expanduser()
    return config_dir(environ) / "config.toml"


def load_config(path: Path) -> dict[str, Any]:
    """Read the TOML config (an empty dict when there is none), its known keys checked (``check_config``).

    Raises:
        InputError: the file is not UTF-8, not TOML, or a known key holds a value of the wrong kind.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except IsADirectoryError:
        raise InputError(
            f"The config file {path} is a folder.", hint=f"Move it aside (mv {path} {path}.old)."
        ) from None
    fix = f"Edit {path}, or move it aside (mv {path} {path}.old) and run `glm setup`."
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"The config file {path} is not UTF-8 text (byte {exc.start}).", hint=fix) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"The config file {path} is not valid TOML: {exc}", hint=fix) from None
    check_config(data, path)
    return data


# The kinds of value each known key takes: (accepted types, what to call them in an error).
_TEXT: tuple[tuple[type, ...], str] = ((str,), "a string")
_SWITCH: tuple[tuple[type, ...], str] = ((bool,), "true or false")
_TABLE: tuple[tuple[type, ...], str] = ((dict,), "a table")
PROFILE_KINDS: dict[str, tuple[tuple[type, ...], str]] = {
    "api_key": _TEXT,
    "endpoint": _TEXT,
    "plan": _TEXT,
    "region": _TEXT,
    "auth": _TEXT,
    "model": _TEXT,
    "vision_model": _TEXT,
    "timeout": ((int, float), "a number of seconds"),
    "max_retries": ((int,), "a whole number"),
    "offline": _SWITCH,
    "log": ((bool, str), "true or false"),
    "quiet_coding_notice": _SWITCH,
    "mcp_fallback": _SWITCH,
    "plan_only": _SWITCH,
}
_TOP_KINDS = {
    "default_profile": _TEXT,
    "profiles": _TABLE,
    "log": PROFILE_KINDS["log"],
    "gateway": _TABLE,
    "mcp": _TABLE,
}
_MCP_KINDS = {"token": _TEXT}


def check_config(data: Mapping[str, Any], path: Path) -> None:
    """Check the kind of every key glmkit reads (unknown keys are left to their readers).

    Raises:
        InputError: naming the file, the key, what it holds and what it should hold.
    """

    def check(key: str, value: Any, kind: tuple[tuple[type, ...], str], where: str) -> None:
        types, wanted = kind
        if isinstance(value, types) and not (isinstance(value, bool) and bool not in types):
            return
        raise InputError(
            f"The config file {path} has {where}{key} = {value!r}: it must be {wanted}.",
            hint=f"Edit {path}, or move it aside (mv {path} {path}.old) and run `glm setup`.",
        )

    for key, kind in _TOP_KINDS.items():
        if key in data:
            check(key, data[key], kind, "")
    for name, profile in (data.get("profiles") or {}).items():
        check(name, profile, _TABLE, "profiles.")
        for key, kind in PROFILE_KINDS.items():
            if key in profile:
                check(key, profile[key], kind, f"[profiles.{toml_key(name)}] ")
    for key, kind in _MCP_KINDS.items():
        if key in (data.get("mcp") or {}):
            check(key, data["mcp"][key], kind, "[mcp] ")


def save_config(path: Path, data: Mapping[str, Any]) -> None:
    """Write the config atomically with mode 0600 (it may hold a key), keeping a backup of the old file."""
    from glmkit._fileio import atomic_write, private_dir, private_file

    if not path.parent.exists():  # a folder glmkit makes for its config is private; a chosen GLMKIT_CONFIG's is not
        private_dir(path.parent)
    if path.exists():
        backup = private_file(path.with_name(path.name + ".bak"))
        backup.write_bytes(path.read_bytes())
    atomic_write(path, dump_toml(data), mode=0o600)


def _presets() -> dict[str, Any]:
    from glmkit import data

    return data.load("endpoints")


def split_base_url(url: str) -> tuple[str, str]:
    """Split ``https://host/api/coding/paas/v4`` into (``https://host/api``, ``coding``)."""
    url = url.rstrip("/")
    m = _SURFACE_RE.match(url)
    if not m:
        return url, "general"
    surface = {"/coding/paas/v4": "coding", "/paas/v4": "general", "/anthropic": "anthropic", "/v1": "responses"}
    return m.group("root"), surface[m.group("surface")]


@dataclass(frozen=True)
class Settings:
    """Everything a client needs, resolved once.

    ``base_url`` serves the REST resources, ``chat_base_url`` chat completions (the coding endpoint for
    a Coding Plan profile), ``root_url`` agents/monitor/MCP, ``anthropic_base_url`` the Anthropic surface.
    """

    api_key: str | None = field(default=None, repr=False)
    base_url: str = "https://api.z.ai/api/paas/v4"
    chat_base_url: str = "https://api.z.ai/api/paas/v4"
    root_url: str = "https://api.z.ai/api"
    anthropic_base_url: str = "https://api.z.ai/api/anthropic"
    region: Region = "international"
    plan: Plan = "payg"
    auth: Literal["key", "jwt"] = "key"
    timeout: float = 300.0
    connect_timeout: float = 8.0
    max_retries: int = 3
    profile: str = "default"
    offline: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"Settings(api_key={redact(self.api_key)!r}, base_url={self.base_url!r}, chat_base_url={self.chat_base_url!r},"
            f" plan={self.plan!r}, auth={self.auth!r}, profile={self.profile!r}, offline={self.offline!r})"
        )

    @property
    def routes_chat_to_coding(self) -> bool:
        """Whether chat goes to the Coding Plan endpoint."""
        return self.chat_base_url.rstrip("/").endswith("/coding/paas/v4")

    def url_for(self, base: str) -> str:
        """The base URL of a route's ``Endpoint.base``."""
        if base == "chat":
            return self.chat_base_url
        if base == "root":
            return self.root_url
        if base == "anthropic":
            return self.anthropic_base_url
        return self.base_url

    def with_changes(self, **changes: Any) -> Settings:
        """A copy with some fields replaced."""
        unknown = set(changes) - set(self.__dataclass_fields__)
        if unknown:
            raise InputError(
                f"Unknown client option(s): {', '.join(sorted(unknown))}.",
                hint="Change one of: timeout, max_retries, base_url, api_key, plan, auth, options.",
            )
        return replace(self, **changes)


# The presets a user can name; the anthropic and responses surfaces are derived from the region's root.
ENDPOINT_NAMES = ("auto", "general", "coding")


def _endpoint_urls(endpoint: str, region: Region, plan: Plan) -> tuple[str, str, str, str]:
    """(base, chat base, root, anthropic) for a preset name or a URL."""
    presets = _presets()
    surfaces = presets["surfaces"]
    if endpoint.startswith(("http://", "https://")):
        root, surface = split_base_url(endpoint)
        general = endpoint.rstrip("/") if surface in ("general", "coding") else root + surfaces["general"]
        chat = general
        if surface == "general" and plan in ("coding", "plan-only"):
            chat = root + surfaces["coding"]
        return general, chat, root, root + surfaces["anthropic"]
    name = endpoint
    if name.startswith("mainland-"):
        region, name = "mainland", name.removeprefix("mainland-")
    if name not in ENDPOINT_NAMES:
        known = ", ".join(ENDPOINT_NAMES)
        raise InputError(
            f"Unknown endpoint {endpoint!r}.", hint=f"Use one of {known} (mainland-* for open.bigmodel.cn), or a URL."
        )
    root = presets["regions"][region]["root"]
    general = root + surfaces["general"]
    if name == "coding" or (name == "auto" and plan in ("coding", "plan-only")):
        chat = root + surfaces["coding"]
    else:
        chat = general
    return general, chat, root, root + surfaces["anthropic"]


class SettingArgs(TypedDict, total=False):
    """The settings a caller may give ``resolve_settings`` (and ``Client``) directly."""

    api_key: str | None
    endpoint: str | None
    base_url: str | None
    plan: str | None
    region: str | None
    auth: str | None
    timeout: float | None
    max_retries: int | None
    offline: bool | None


def _switch(text: str) -> bool | None:
    """``GLM_OFFLINE``: 1/true/yes turn it on; anything else leaves it to the profile."""
    return True if text.lower() in ("1", "true", "yes") else None


@dataclass(frozen=True)
class _Field:
    """One setting: its environment variables, how their text is read, the values it takes, its default."""

    name: str
    env: tuple[str, ...]
    cast: Callable[[str], Any] = str
    default: Any = None
    choices: tuple[str, ...] = ()
    hint: str = ""  # the fix for a value outside ``choices``, or what ``check`` wants
    check: Callable[[Any], bool] | None = None
    in_profile: bool = True


# Arguments > environment (the first variable set) > the profile's key of the same name > default. None and ""
# are "not set" at every level. A new setting is one row here, one in SettingArgs, one field of Settings.
_FIELDS = (
    _Field("api_key", KEY_ENV),
    _Field("region", ("GLM_REGION",), choices=("international", "mainland"), hint=_REGION_HINT),
    _Field("endpoint", ("GLM_ENDPOINT",), default="auto"),
    _Field("base_url", ("ZAI_BASE_URL",), in_profile=False),
    _Field("plan", ("GLM_PLAN",), default="payg", choices=("coding", "payg", "plan-only"), hint=_PLAN_HINT),
    _Field("auth", ("GLM_AUTH",), default="key", choices=("key", "jwt"), hint="Use 'key' (Bearer API key) or 'jwt'."),
    _Field("timeout", ("GLM_TIMEOUT",), float, 300.0, hint="positive", check=lambda v: v > 0),
    _Field("max_retries", ("GLM_MAX_RETRIES",), int, 3, hint="0 or more", check=lambda v: v >= 0),
    _Field("offline", ("GLM_OFFLINE",), _switch, False),
)
_CAST_NAMES: dict[Callable[[str], Any], str] = {int: "a whole number", float: "a number"}


def _resolve(f: _Field, arg: Any, env: Mapping[str, str], prof: Mapping[str, Any], where: str) -> tuple[Any, str]:
    """One setting's value, and where it came from: ``"argument"``, a variable's name, or ``where`` (the profile)."""
    value, origin = (arg, "argument") if arg is not None and arg != "" else (None, "")
    for name in f.env if not origin else ():
        if env.get(name):
            try:
                value, origin = f.cast(env[name]), name
            except ValueError:
                what = _CAST_NAMES.get(f.cast, "valid")
                raise InputError(
                    f"{name}={env[name]!r} is not {what}.", hint=f"Set {name} to {what}, or unset it."
                ) from None
            if value is not None:
                break
    if value is None and f.in_profile and prof.get(f.name) not in (None, ""):
        value, origin = prof[f.name], where
    if value is None:
        return f.default, "default"
    shown = "" if origin == "argument" else f" (from {origin})"
    if f.choices and value not in f.choices:
        label = "auth mode" if f.name == "auth" else f.name
        raise InputError(f"Unknown {label} {value!r}{shown}.", hint=f.hint)
    if f.check is not None and not f.check(value):
        raise InputError(f"{f.name} must be {f.hint}, got {value}{shown}.")
    return value, origin


def resolve_settings(
    *,
    profile: str | None = None,
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
    **args: Unpack[SettingArgs],
) -> Settings:
    """Resolve settings from arguments, then the environment, then the config-file profile, then defaults.

    Raises:
        InputError: an unknown profile, or a bad value (naming the variable or profile that holds it).
    """
    env = dict(os.environ if environ is None else environ)
    path = config_file or config_path(env)
    config = load_config(path)
    profile_name = profile or env.get("GLM_PROFILE") or config.get("default_profile") or "default"
    profiles = config.get("profiles", {})
    prof: dict[str, Any] = dict(profiles.get(profile_name, {}))
    if profile and profile not in profiles and profile != "default":
        raise InputError(f"No profile named {profile!r} in {path}.", hint="List them with `glm config profiles`.")
    where = f"profile {profile_name!r} in {path}"
    got = {f.name: _resolve(f, args.get(f.name), env, prof, where) for f in _FIELDS}
    value = {name: v for name, (v, _) in got.items()}
    key = value["api_key"].strip() if value["api_key"] is not None else None
    region: Region = value["region"] or ("mainland" if got["api_key"][1] == "ZHIPUAI_API_KEY" else "international")
    if value["endpoint"].startswith("mainland-"):
        region = "mainland"
    url, plan = value["base_url"], value["plan"]
    if url and got["endpoint"][1] != "argument":
        # The URL replaces the host and surface; the plan still sends chat to that host's coding surface.
        general, chat, root, anthropic = _endpoint_urls(url, region, plan)
        if url.rstrip("/").endswith("/coding/paas/v4"):
            chat = url.rstrip("/")
    else:
        general, chat, root, anthropic = _endpoint_urls(value["endpoint"], region, plan)
    return Settings(
        api_key=key,
        base_url=general,
        chat_base_url=chat,
        root_url=root,
        anthropic_base_url=anthropic,
        region=region,
        plan=plan,
        auth=value["auth"],
        timeout=value["timeout"],
        max_retries=value["max_retries"],
        profile=profile_name,
        offline=bool(value["offline"]),
        options={k: v for k, v in prof.items() if k != "api_key"},
    )
