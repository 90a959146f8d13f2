"""``glm doctor``: checks with ✓/✗ and a fix each; exit 0 only when every check passes.

This module checks the key, the endpoints, the plan and the clock; ``_doctor_local`` checks this machine's
setup (tool configs, MCP registration, gateway, proxies, catalog cache).

Skipped (``-``) and informational (``i``) checks never fail the run. ``--json`` for scripts.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import typer

from glmkit.cli._common import DEBUG, ENDPOINT, JSON, OFFLINE, PROFILE, handle_errors, make_client
from glmkit.cli._doctor_local import Check, check_catalog, check_gateway, check_models, check_proxy, check_tools

SKEW_LIMIT = 30.0  # seconds; a JWT lives 210 s and is re-signed 30 s early (reference §1.2)
MARK = {"pass": "✓", "fail": "✗", "skip": "-", "info": "i"}


@dataclass
class Probe:
    """What one endpoint answered."""

    name: str
    url: str
    status: int | None
    code: str | None = None
    error: str | None = None
    date: str | None = None


def _probe(http: Any, name: str, method: str, url: str, key: str | None) -> Probe:
    import httpx

    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        if method == "POST":  # an empty body: refused as bad input before any tokens are spent
            r = http.request(method, url, headers=headers, json={}, timeout=10.0)
        else:
            r = http.request(method, url, headers=headers, timeout=10.0)
    except httpx.HTTPError as exc:
        return Probe(name, url, None, error=type(exc).__name__)
    code = None
    try:
        body = r.json()
        err = body.get("error") if isinstance(body, dict) else None
        code = str(err.get("code")) if isinstance(err, dict) and err.get("code") is not None else None
    except ValueError:
        pass
    return Probe(name, url, r.status_code, code=code, date=r.headers.get("date"))


def probe_endpoints(client: Any) -> list[Probe]:
    """GET /models on the general and coding bases; an empty POST /v1/messages on the Anthropic base."""
    from glmkit import data

    s = client.settings
    coding = s.root_url.rstrip("/") + data.load("endpoints")["surfaces"]["coding"]
    http = client.http_client  # the client's own connection (the in-process emulator with --offline)
    return [
        _probe(http, "general", "GET", s.base_url.rstrip("/") + "/models", s.api_key),
        _probe(http, "coding", "GET", coding + "/models", s.api_key),
        _probe(http, "anthropic", "POST", s.anthropic_base_url.rstrip("/") + "/v1/messages", s.api_key),
    ]


def check_key(settings: Any) -> list[Check]:
    """Key present and well-formed."""
    from glmkit._auth import check_key_format

    if not settings.api_key:
        fix = "export ZAI_API_KEY=<your key> (z.ai -> API keys), or save it with `glm config`."
        return [Check("key present", "fail", "no API key found", fix), Check("key well-formed", "skip", "no key")]
    reason = check_key_format(settings.api_key)
    checks = [Check("key present", "pass", "found")]
    if reason:
        checks.append(Check("key well-formed", "fail", reason, "Copy the key again from z.ai -> API keys."))
    else:
        checks.append(Check("key well-formed", "pass", "id.secret"))
    return checks


def check_probes(settings: Any, probes: list[Probe]) -> list[Check]:
    """Key accepted, which endpoints answer."""
    answered = [p for p in probes if p.status is not None]
    summary = ", ".join(f"{p.name} {p.status or p.error}" for p in probes)
    if not answered:
        return [
            Check("key accepted", "skip", "no endpoint answered"),
            Check("endpoints answer", "fail", summary, "Check the network, a proxy, or ZAI_BASE_URL."),
        ]
    refused = [p for p in answered if p.status == 401]
    if refused:
        code = refused[0].code or "401"
        key = Check(
            "key accepted", "fail", f"refused with {code}", "The key is wrong or revoked: make a new one at z.ai."
        )
    else:
        key = Check("key accepted", "pass", "accepted")
    chat = "coding" if settings.routes_chat_to_coding else "general"
    ok = {p.name for p in answered if p.status != 404}
    status = "pass" if chat in ok else "fail"
    fix = (
        None
        if status == "pass"
        else f"Your chat endpoint ({chat}) did not answer; try `--endpoint` or check ZAI_BASE_URL."
    )
    return [key, Check("endpoints answer", status, f"{summary} (chat goes to {chat})", fix)]


def check_plan(client: Any, probes: Sequence[Probe] = ()) -> list[Check]:
    """A plan key aimed at the general endpoint (1113), and a spent quota.

    A plan key on the general endpoint fails only when an endpoint answered 1113 (no balance); when it is
    accepted there, chat bills the account's balance, which may be meant: that is said, not failed.
    """
    from glmkit._errors import GLMError

    try:
        info = client.quota.limits()
    except GLMError as exc:
        return [Check("plan key on the right endpoint", "skip", f"quota not readable ({exc})")]
    has_plan = bool(info.plan or info.limits)
    checks = []
    if has_plan and not client.settings.routes_chat_to_coding:
        # An empty chat body is refused before any tokens are spent; a key without balance there gets 1113.
        chat = _probe(
            client.http_client,
            "general chat",
            "POST",
            client.settings.chat_base_url.rstrip("/") + "/chat/completions",
            client.settings.api_key,
        )
        probes = [*probes, chat]
        checks.append(
            Check(
                "plan key on the right endpoint",
                "fail" if any(p.code == "1113" for p in probes) else "info",
                f"a Coding Plan ({info.plan}) key, but chat goes to the general endpoint, which bills balance (1113)",
                'Use the coding endpoint: `--endpoint coding`, GLM_PLAN=coding, or plan = "coding" in the profile.',
            )
        )
    else:
        checks.append(Check("plan key on the right endpoint", "pass", f"plan {info.plan or 'none'}"))
    spent = [lim for lim in info.limits if lim.kind == "model" and (lim.used_percent or 0) >= 100]
    if spent:
        when = spent[0].resets_at
        at = f" until {when.astimezone():%a %H:%M}" if when else ""
        checks.append(
            Check(
                "plan quota",
                "fail",
                f"{spent[0].label} spent{at}",
                "Wait for the reset (`glm usage`), or use --endpoint general (balance).",
            )
        )
    elif has_plan:
        five = info.window("5h")
        pct = five.used_percent if five else None
        checks.append(Check("plan quota", "pass", "5-hour window " + ("?" if pct is None else f"{pct:.0f}% used")))
    return checks


def check_clock(settings: Any, probes: list[Probe], now: float) -> Check:
    """Local clock against the server's Date header (JWTs expire after 210 s)."""
    import email.utils  # here, not at the top: ~7 ms that `glm --help` would pay

    date = next((p.date for p in probes if p.date), None)
    if not date:
        return Check("clock skew", "skip", "no Date header to compare with")
    try:
        server = email.utils.parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError):
        return Check("clock skew", "skip", f"unreadable Date header {date!r}")
    skew = now - server
    detail = f"{skew:+.0f} s against the server"
    if abs(skew) <= SKEW_LIMIT:
        return Check("clock skew", "pass", detail)
    status = "fail" if settings.auth == "jwt" else "info"
    return Check(
        "clock skew",
        status,
        detail + " (JWT tokens would be refused with 1003)",
        "Sync the clock (e.g. timedatectl set-ntp true).",
    )


def run_checks(client: Any, tool_settings: Any, *, now: float | None = None) -> list[Check]:
    """Every check, in report order; tools are compared with ``tool_settings`` (the real endpoints)."""
    import httpx

    from glmkit.setup import gateway_url, status_values

    settings = client.settings
    checks = check_key(settings)
    probes = probe_endpoints(client) if settings.api_key else []
    checks += check_probes(settings, probes) if probes else [Check("key accepted", "skip", "no key")]
    if probes and not any(p.status is not None for p in probes):  # nothing answers: asking again would only retry
        checks.append(Check("plan key on the right endpoint", "skip", "no endpoint answered"))
    elif settings.api_key and not any(c.status == "fail" and c.name == "key accepted" for c in checks):
        checks += check_plan(client, probes)
    direct, gateway = status_values(tool_settings)
    checks.append(check_models(tool_settings, direct))
    checks.append(check_catalog())
    checks.append(check_clock(settings, probes, time.time() if now is None else now))
    checks.append(check_proxy(dict(os.environ)))
    tool_checks, statuses = check_tools(direct, gateway)
    checks += tool_checks
    with httpx.Client() as http:
        checks.append(check_gateway(statuses, gateway_url(), http))
    return checks


def doctor(
    json_out: bool = JSON,
    offline: bool = OFFLINE,
    profile: str = PROFILE,
    endpoint: str = ENDPOINT,
    debug: bool = DEBUG,
) -> None:
    """Check the key, endpoints, plan, clock, proxies and each coding tool's config; exit 0 when all pass."""
    with handle_errors(debug):
        from glmkit._config import resolve_settings

        with make_client(offline=offline, profile=profile, endpoint=endpoint) as client:
            checks = run_checks(client, resolve_settings(profile=profile, endpoint=endpoint))
    ok = not any(c.status == "fail" for c in checks)
    if json_out:
        import json

        sys.stdout.write(
            json.dumps({"ok": ok, "checks": [c.__dict__ for c in checks]}, indent=2, ensure_ascii=False) + "\n"
        )
    else:
        for c in checks:
            typer.echo(f"{MARK[c.status]} {c.name}: {c.detail}")
            if c.fix and c.status in ("fail", "info"):
                typer.echo(f"    fix: {c.fix}")
        failed = sum(c.status == "fail" for c in checks)
        typer.echo("\nall checks passed" if ok else f"\n{failed} check(s) failed")
    raise typer.Exit(0 if ok else 1)


def register(app: typer.Typer) -> None:
    """Add ``doctor``."""
    app.command("doctor")(doctor)
