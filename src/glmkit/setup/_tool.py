"""A coding tool as ``data/tools.toml`` describes it, and the plan of edits ``glm setup`` makes for it."""

from __future__ import annotations

import datetime as _dt
import os
import re
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glmkit.setup._files import SetupError

__all__ = ["Edit", "Plan", "Tool", "gateway_url", "target_values", "template_values"]

_FIELD = re.compile(r"\{(\w+)\}")


@dataclass
class Edit:
    """Set some key paths in one file."""

    path: Path
    format: str  # json | jsonc | toml | yaml
    sets: list[tuple[tuple[str, ...], Any]]
    secret: bool = False
    role: str = "config"  # config | settings | mcp | secrets


@dataclass
class Plan:
    """What ``glm setup TOOL`` will do: file edits, plus steps the user must take by hand."""

    tool: str
    edits: list[Edit] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def tools_data() -> dict[str, Any]:
    """``data/tools.toml``."""
    from glmkit import data

    return data.load("tools")


def fill(value: Any, values: Mapping[str, str]) -> Any:
    """Fill ``{name}`` templates in strings (recursively); unknown names stay as written."""
    if isinstance(value, str):
        return _FIELD.sub(lambda m: values.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [fill(v, values) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, values) for k, v in value.items()}
    return value


def expand(path: str, values: Mapping[str, str] | None = None, *, cwd: Path | None = None) -> Path:
    """A path from the table: templates filled, ``~`` is ``Path.home()``, relative paths below ``cwd``."""
    text: str = fill(path, values or {})
    if "%APPDATA%" in text:
        text = text.replace("%APPDATA%", os.environ.get("APPDATA", str(Path.home() / "AppData" / "Roaming")))
    if text == "~" or text.startswith("~/"):
        return Path.home() / text[2:]
    p = Path(text)
    return p if p.is_absolute() else (cwd or Path.cwd()) / p


def vscode_user_dir() -> str:
    """VS Code's ``User`` folder on this platform."""
    table = tools_data()["vscode"]
    platform = "darwin" if sys.platform == "darwin" else "win32" if sys.platform.startswith("win") else "linux"
    return str(expand(table[platform]))


def template_values(
    *,
    api_key: str | None,
    root_url: str,
    anthropic_url: str,
    gateway: str | None = None,
    model: str | None = None,
) -> dict[str, str]:
    """The values templates are filled with: endpoints (Z.AI's or the gateway's), token, models, paths."""
    from glmkit._config import config_dir
    from glmkit.catalog import default_model

    surfaces = _surfaces()
    if gateway:
        gw = tools_data()["gateway"]
        base = gateway.rstrip("/")
        urls = {
            "anthropic_url": base + gw["anthropic"],
            "openai_url": base + gw["openai"],
            "responses_url": base + gw["responses"],
        }
        token = os.environ.get("GLM_GATEWAY_TOKEN") or gw["token"]
    else:
        root = root_url.rstrip("/")
        urls = {
            "anthropic_url": anthropic_url.rstrip("/"),
            "openai_url": root + surfaces["coding"],
            "responses_url": root + surfaces["responses"],
        }
        token = api_key or ""
    chat = model or default_model("chat")
    user = vscode_user_dir()
    return {
        **urls,
        "token": token,
        "model": chat,
        "model_upper": chat.upper(),
        "fast_model": default_model("fast"),
        "opus": model or default_model("opus"),
        "sonnet": model or default_model("sonnet"),
        "haiku": default_model("haiku"),
        "mcp_command": mcp_command(),
        "vscode_user": user,
        "vscode_global": str(Path(user) / "globalStorage"),
        "glmkit_dir": str(config_dir()),
    }


def gateway_url(explicit: str | None = None) -> str:
    """The gateway's URL: ``explicit``, else ``GLM_GATEWAY_URL``, else the default from ``data/tools.toml``."""
    return explicit or os.environ.get("GLM_GATEWAY_URL") or str(tools_data()["gateway"]["default_url"])


def target_values(settings: Any, *, gateway: str | None = None, model: str | None = None) -> dict[str, str]:
    """``template_values`` for resolved ``Settings``: Z.AI's endpoints, or the gateway at ``gateway``."""
    return template_values(
        api_key=settings.api_key,
        root_url=settings.root_url,
        anthropic_url=settings.anthropic_base_url,
        gateway=gateway,
        model=model,
    )


def mcp_command() -> str:
    """How tools should start ``glm``: from PATH, else the script beside this Python (a venv), else ``glm``."""
    found = shutil.which("glm")
    if found:
        return found
    beside = Path(sys.executable).parent / ("glm.exe" if sys.platform.startswith("win") else "glm")
    return str(beside) if beside.exists() else "glm"


def _surfaces() -> dict[str, str]:
    from glmkit import data

    return data.load("endpoints")["surfaces"]  # type: ignore[no-any-return]


class Tool:
    """One coding tool: its facts from ``data/tools.toml`` and how to set it up.

    A tool module subclasses this only for what is not data (Goose's secrets file, say).
    """

    def __init__(self, tool_id: str) -> None:
        self.id = tool_id
        self.facts: dict[str, Any] = tools_data()["tools"][tool_id]
        self.name: str = self.facts["name"]
        self.protocol: str = self.facts["protocol"]

    # -- what the table says -------------------------------------------------------------------------
    def section(self, name: str) -> dict[str, Any] | None:
        """A sub-table (``config``, ``settings``, ``mcp``, ``env``), if the tool has one."""
        value = self.facts.get(name)
        return value if isinstance(value, dict) else None

    def config_path(self, values: Mapping[str, str], *, project: bool, cwd: Path | None = None) -> Path | None:
        """The file holding the endpoint (user or project level), if the tool has one."""
        return self._file("config", values, project=project, cwd=cwd)

    def mcp_path(self, values: Mapping[str, str], *, project: bool, cwd: Path | None = None) -> Path | None:
        """The file where MCP servers are registered, if the tool has one."""
        return self._file("mcp", values, project=project, cwd=cwd)

    def _file(self, section: str, values: Mapping[str, str], *, project: bool, cwd: Path | None) -> Path | None:
        table = self.section(section)
        where = table.get("project" if project else "user") if table is not None else None
        if isinstance(where, list):  # candidates the tool reads: the first that exists, else the last
            paths = [expand(w, values, cwd=cwd) for w in where]
            return next((p for p in paths if p.exists()), paths[-1] if paths else None)
        return expand(where, values, cwd=cwd) if where else None

    def installed(self) -> bool:
        """Whether the tool looks installed: its program on PATH or its folder present."""
        if self.facts.get("binary") and shutil.which(self.facts["binary"]):
            return True
        values = {"vscode_global": str(Path(vscode_user_dir()) / "globalStorage")}
        return any(expand(p, values).exists() for p in self.facts.get("detect", []))

    def env(self, values: Mapping[str, str]) -> dict[str, str]:
        """Variables that point the tool at Z.AI (or the gateway) for one process."""
        table = self.section("env")
        if not table:
            raise SetupError(
                f"{self.name} does not read its endpoint from environment variables.",
                hint=f"Use `glm setup {self.id}` instead.",
            )
        return {k: str(v) for k, v in fill(table, values).items()}

    def unset(self) -> list[str]:
        """Variables ``glm env``/``glm run`` remove because they would compete with ours."""
        table = self.section("unset") or {}
        return list(table.get("names", []))

    # -- the plan ------------------------------------------------------------------------------------
    def plan(
        self, values: dict[str, str], *, project: bool = False, mcp: bool = False, cwd: Path | None = None
    ) -> Plan:
        """The edits for this tool; ``SetupError`` when the tool has no file at the level asked for."""
        plan = Plan(self.id, steps=[fill(s, values) for s in self.facts.get("steps", [])])
        config = self.section("config")
        path: Path | None = None
        if config is not None:
            path = self.config_path(values, project=project, cwd=cwd)
            if path is None and mcp:
                plan.notes.append(f"{self.name} reads its provider only from the user-level file; registered MCP only.")
            elif path is None:
                raise SetupError(
                    f"{self.name} has no project-level config file glmkit can write.",
                    hint=f"Run `glm setup {self.id}` without --project.",
                )
        if config is not None and path is not None:
            filled = dict(values)
            if project and config.get("project_token"):
                filled["token"] = config["project_token"]  # a project file may be committed: no key in it
            sets = [(tuple(k.split("/")), fill(v, filled)) for k, v in config["set"].items()]
            sets += self.missing_defaults(path, config, filled)
            secret = bool(config.get("secret")) and filled["token"] == values["token"]
            plan.edits.append(Edit(path, config["format"], sets, secret=secret, role="config"))
            values = {**values, "config_file": str(path)}
            settings = self.section("settings")
            if settings is not None:
                spath = expand(settings["user"], values, cwd=cwd)
                ssets = [(tuple(k.split("/")), fill(v, values)) for k, v in settings["set"].items()]
                plan.edits.append(Edit(spath, settings["format"], ssets, role="settings"))
        elif project and not mcp:
            raise SetupError(
                f"{self.name} keeps its provider settings outside any file; there is no project-level file to write.",
                hint=f"Run `glm setup {self.id}` and follow the steps it prints.",
            )
        if mcp:
            plan.edits.append(self.mcp_edit(values, project=project, cwd=cwd))
        return plan

    def missing_defaults(
        self, path: Path, config: Mapping[str, Any], values: Mapping[str, str]
    ) -> list[tuple[tuple[str, ...], Any]]:
        """The ``config.defaults`` the file does not have yet (written once, never overwritten).

        ``{now}`` is the current UTC time (ISO 8601, milliseconds, ``Z``), as JavaScript tools write it.
        """
        defaults = config.get("defaults")
        if not defaults:
            return []
        from glmkit.setup._files import get_value

        try:
            text = path.read_text(encoding="utf-8") if path.exists() else ""
        except (OSError, UnicodeDecodeError):
            text = ""  # render() reports an unreadable file with the full message
        now = _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        filled = {**values, "now": now}
        missing = []
        for key, value in defaults.items():
            key_path = tuple(key.split("/"))
            try:
                present = text.strip() and get_value(text, config["format"], key_path) is not None
            except SetupError:
                present = False  # render() refuses the file
            if not present:
                missing.append((key_path, fill(value, filled)))
        return missing

    def mcp_edit(self, values: Mapping[str, str], *, project: bool, cwd: Path | None = None) -> Edit:
        """The edit registering ``glm mcp`` (stdio) with this tool."""
        table = self.section("mcp")
        path = self.mcp_path(values, project=project, cwd=cwd)
        if table is None or path is None:
            level = "project-level " if project else ""
            raise SetupError(
                f"{self.name} has no {level}MCP config file glmkit knows.", hint="Register `glm mcp` by hand."
            )
        entry = fill(table["entry"], values)
        return Edit(path, table["format"], [(tuple(table["path"].split("/")), entry)], role="mcp")
