"""``glm doctor``'s checks of this machine's own setup: saved model choices, the catalog cache, proxy variables,
the coding tools' config files, the MCP registration and the gateway. (``doctor.py`` checks the key and the API.)
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Check", "check_catalog", "check_gateway", "check_models", "check_proxy", "check_tools"]

PROXY_VARS = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")


@dataclass
class Check:
    """One line of the report."""

    name: str
    status: str  # pass | fail | skip | info
    detail: str
    fix: str | None = None


def check_models(settings: Any, direct: dict[str, str]) -> Check:
    """Saved model choices older than the current defaults."""
    from glmkit.catalog import default_model, get_model
    from glmkit.setup import SetupError, get_tool, get_value

    saved: dict[str, tuple[str, str]] = {}
    path = get_tool("claude-code").config_path(direct, project=False)
    if path is not None and path.exists():
        try:
            env = get_value(path.read_text(encoding="utf-8"), "json", ("env",)) or {}
        except (SetupError, OSError):
            env = {}
        for slot in ("opus", "sonnet", "haiku"):
            value = env.get(f"ANTHROPIC_DEFAULT_{slot.upper()}_MODEL") if isinstance(env, dict) else None
            if value:
                saved[f"claude-code {slot}"] = (str(value), default_model(slot))
    if settings.options.get("model"):
        saved["profile model"] = (str(settings.options["model"]), default_model("chat"))
    if not saved:
        return Check("model mapping current", "skip", "no saved model mapping")
    stale = []
    for where, (model, default) in saved.items():
        have, want = get_model(model.lower()), get_model(default)
        if have and want and have.released and want.released and have.released < want.released:
            stale.append(f"{where} = {model} (current default {default})")
    if stale:
        return Check(
            "model mapping current",
            "fail",
            "; ".join(stale),
            "Run `glm setup claude-code` (or set the profile's model).",
        )
    return Check("model mapping current", "pass", ", ".join(f"{w} = {m}" for w, (m, _) in saved.items()))


def check_catalog() -> Check:
    """Whether the cached model catalog (``glm models --refresh``) is older than the installed one."""
    from glmkit.catalog import cache_state, installed_date

    cached = cache_state()
    if cached is None:
        return Check("model catalog", "pass", f"installed catalog of {installed_date()} (no cached listing)")
    fix = "Run `glm models --refresh` (it asks Z.AI's /models again)."
    if cached.get("error"):
        return Check("model catalog", "info", f"cached catalog {cached['path']} is {cached['error']}", fix)
    refreshed = str(cached.get("refreshed_at") or "")
    new = ", ".join(cached.get("models") or {}) or "no models beyond the installed ones"
    if refreshed[:10] < installed_date():
        detail = f"cached catalog of {refreshed[:10] or '?'} is older than the installed catalog of {installed_date()}"
        return Check("model catalog", "info", f"{detail} ({new})", fix)
    return Check("model catalog", "pass", f"refreshed {refreshed}; beyond the installed catalog: {new}")


def check_proxy(environ: dict[str, str]) -> Check:
    """Proxy variables that reroute every request (credentials redacted)."""
    found = []
    for name in PROXY_VARS:
        value = environ.get(name) or environ.get(name.lower())
        if value:
            found.append(f"{name}={value if name == 'NO_PROXY' else _without_credentials(value)}")
    if not found:
        return Check("proxy variables", "pass", "none set")
    return Check(
        "proxy variables", "info", "; ".join(found), "If requests fail, try without them (or add the host to NO_PROXY)."
    )


def _without_credentials(proxy: str) -> str:
    """A proxy URL (or bare ``host:port``) with any ``user:password@`` taken out."""
    from urllib.parse import urlsplit

    parts = urlsplit(proxy if "://" in proxy else f"//{proxy}")
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # not a number: show no port rather than fail the report
        port = ""
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme + '://' if parts.scheme else ''}{host}{port}"


def check_tools(direct: dict[str, str], gateway: dict[str, str]) -> tuple[list[Check], list[Any]]:
    """Each configured tool's files point where they should; glmkit's MCP registration."""
    from glmkit.setup import all_tools, tool_status

    checks, statuses = [], []
    for tool in all_tools():
        st = tool_status(tool, direct, gateway)
        statuses.append(st)
        if st.state in ("not-configured", "manual"):
            continue
        if st.state == "configured":
            checks.append(Check(f"{tool.id} config", "pass", f"points at {st.target} ({st.file})"))
            continue
        detail = "; ".join(st.problems) or st.state
        if "/coding/paas/v4" in detail and tool.protocol == "anthropic":
            detail += " (this tool speaks the Anthropic protocol: it needs /api/anthropic)"
        checks.append(Check(f"{tool.id} config", "fail", detail, f"Run `glm setup {tool.id}` (it backs up first)."))
    registered = [st.id for st in statuses if st.mcp]
    if not registered:
        checks.append(
            Check("MCP registration", "info", "glmkit's MCP server is not registered", "`glm setup TOOL --mcp`")
        )
    else:
        missing = [f"{st.id} ({st.mcp_command})" for st in statuses if st.mcp and not _runnable(st.mcp_command)]
        if missing:
            fix = "Run `glm setup TOOL --mcp` again from an environment where `glm` is installed."
            checks.append(Check("MCP registration", "fail", "command not found for " + ", ".join(missing), fix))
        else:
            checks.append(Check("MCP registration", "pass", "registered in " + ", ".join(registered)))
    return checks, statuses


def _runnable(command: str | None) -> bool:
    if not command:
        return True  # the file does not say (Goose's YAML block): nothing to check
    return Path(command).exists() if Path(command).is_absolute() else shutil.which(command) is not None


def check_gateway(statuses: list[Any], url: str, http: Any) -> Check:
    """``glm serve`` answers its health route, when a tool (or GLM_GATEWAY_URL) points at it."""
    import httpx

    from glmkit.setup import tools_data

    users = [st.id for st in statuses if st.target == "gateway"]
    if not users and not os.environ.get("GLM_GATEWAY_URL"):
        return Check("gateway reachable", "skip", "no tool uses the gateway")
    health = url.rstrip("/") + tools_data()["gateway"]["health"]
    fix = "Start it: `glm serve` (or fix GLM_GATEWAY_URL)."
    try:
        r = http.get(health, timeout=5.0)
        body = r.json() if r.status_code == 200 else {}
    except (httpx.HTTPError, ValueError) as exc:
        return Check("gateway reachable", "fail", f"{health}: {type(exc).__name__}", fix)
    if not isinstance(body, dict) or body.get("gateway") != "glmkit":
        return Check("gateway reachable", "fail", f"{health} answered HTTP {r.status_code}, not glmkit's gateway", fix)
    return Check("gateway reachable", "pass", url + (f" (used by {', '.join(users)})" if users else ""))
