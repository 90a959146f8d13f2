"""``glm usage``: the Coding Plan's windows (bars, time to reset, pace forecast) and this machine's spend."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

import typer

from glmkit.cli._common import DEBUG, ENDPOINT, JSON, OFFLINE, PROFILE, handle_errors, is_tty, make_client

BAR = 24


def _bar(percent: float | None) -> str:
    if percent is None:
        return "[" + "?" * BAR + "]"
    filled = round(BAR * max(0.0, min(percent, 100.0)) / 100)
    return "[" + "█" * filled + "░" * (BAR - filled) + "]"


def _span(seconds: float) -> str:
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m"


def _num(value: float | None) -> str:
    if value is None:
        return "?"
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{value:g}"


def in_peak(now: dt.datetime) -> bool:
    """Whether ``now`` falls in the plan's peak hours (``glmkit.types.quota.price_phase``)."""
    from glmkit.types.quota import price_phase

    return price_phase(now).peak


def quota_report(info: Any, now: dt.datetime) -> dict[str, Any]:
    """The quota as plain data: each identified window, the MCP details, unknown rows raw."""
    windows = []
    for lim in info.limits:
        if lim.kind == "unknown" or lim.window is None:
            continue
        resets = lim.resets_at
        runout = lim.forecast(now)
        windows.append(
            {
                "window": lim.window,
                "type": lim.type,
                "label": lim.label,
                "percentage": lim.used_percent,
                "used": lim.currentValue,
                "capacity": lim.usage,
                "remaining": lim.remaining,
                "resets_at": resets.isoformat() if resets else None,
                "resets_in_seconds": int((resets - now).total_seconds()) if resets else None,
                "exhausted": (lim.used_percent or 0) >= 100,
                "runs_out_at": runout.isoformat() if runout else None,
                "details": {d.modelCode: d.usage for d in lim.usageDetails if d.modelCode},
            }
        )
    unknown = [
        lim.model_dump(mode="json", exclude_unset=True) if not hasattr(lim, "raw") else lim.raw for lim in info.unknown
    ]
    from glmkit.types.quota import price_phase

    phase = price_phase(now)
    return {
        "plan": info.plan,
        "peak_hours_now": phase.peak,
        "peak_hours_change_at": phase.changes_at.isoformat(),
        "peak_hours": phase.hours,
        "cost_factor": phase.cost_factor,
        "windows": windows,
        "unknown": unknown,
    }


def local_report(since: str) -> dict[str, Any]:
    """Tokens this machine spent (CLI conversations and the gateway ledger) by model, hour and tool."""
    from glmkit.ledger import Ledger, default_path

    groups = ("model", "hour", "tool")
    path = default_path()
    if not path.exists():  # nothing logged yet: reading never creates the database
        empty = {"repaired": [], "fallbacks": {"requests": 0, "cost_usd": 0.0, "by_model": []}}
        return {"since": since, **{f"by_{by}": [] for by in groups}, "gateway": {**empty, "held": {"requests": 0}}}
    ledger = Ledger(path)
    try:
        report: dict[str, Any] = {"since": since, **{f"by_{by}": ledger.usage(since=since, by=by) for by in groups}}
        report["gateway"] = ledger.interventions(since=since)
        return report
    finally:
        ledger.close()


def _render_gateway(gateway: dict[str, Any]) -> list[str]:
    """What the gateway did to keep sessions going: repairs, pay-as-you-go fallbacks (estimated cost), held requests."""
    lines = []
    repaired = gateway["repaired"]
    if repaired:
        lines.append(f"  gateway repaired {len(repaired)} request(s) Z.AI would have refused; the last:")
        lines.extend(f"    {note}" for note in repaired[-1]["notes"][:6])
    fallbacks = gateway["fallbacks"]
    if fallbacks["requests"]:
        lines.append(
            f"  pay-as-you-go fallbacks (plan window spent): {fallbacks['requests']} request(s),"
            f" ~${fallbacks['cost_usd']:.4f} (estimate)"
        )
        lines.extend(f"    {r['model']}: {r['requests']} req ~${r['cost_usd']:.4f}" for r in fallbacks["by_model"])
    held = gateway["held"]
    if held["requests"]:
        lines.append(f"  held for off-peak: {held['requests']} request(s), {held['held_ms'] / 1000:.0f} s in all")
    return lines


def _render_quota(report: dict[str, Any], now: dt.datetime) -> list[str]:
    lines = [f"GLM Coding Plan: {report['plan'] or 'unknown level'}"]
    change = dt.datetime.fromisoformat(report["peak_hours_change_at"])
    until = _span((change - now).total_seconds())
    hours = report["peak_hours"]
    if report["peak_hours_now"]:
        lines[0] += f"   ⚑ PEAK HOURS for {until} more: usage draws the quota at full price ({hours})"
    else:
        cost = f"{report['cost_factor']:.0%}"
        lines[0] += f"   off-peak (usage at {cost} of the peak price) for {until} more; peak hours: {hours}"
    if not report["windows"] and not report["unknown"]:
        lines.append("  no plan windows reported (is this a Coding Plan key?)")
    width = max([len(w["label"]) for w in report["windows"]] + [10])
    for w in report["windows"]:
        pct = w["percentage"]
        amount = f"  {_num(w['used'])} / {_num(w['capacity'])}" if w["capacity"] else ""
        reset = ""
        if w["resets_at"]:
            at = dt.datetime.fromisoformat(w["resets_at"]).astimezone()
            reset = f"  resets in {_span(w['resets_in_seconds'])} ({at:%a %H:%M})"
        elif w["type"] == "CREDIT_LIMIT" and not w["used"]:  # live evidence §3: no reset until first used
            reset = "  starts with the next request"
        shown = "?" if pct is None else f"{pct:.0f}%"
        lines.append(f"{w['label']:<{width}}  {_bar(pct)} {shown:>4}{amount}{reset}")
        if w["exhausted"]:
            lines.append(f"{'':<{width}}  spent: requests get 1308/1310 until it resets")
        elif w["runs_out_at"]:
            at = dt.datetime.fromisoformat(w["runs_out_at"]).astimezone()
            lines.append(
                f"{'':<{width}}  at this rate it runs out at {at:%H:%M}"
                + ("" if at.date() == now.astimezone().date() else f" on {at:%a}")
            )
        if w["details"]:
            lines.append(f"{'':<{width}}  " + " · ".join(f"{k} {_num(v)}" for k, v in w["details"].items()))
    for raw in report["unknown"]:
        lines.append(f"unrecognised row (shown raw): {raw}")
    return lines


def _render_local(local: dict[str, Any]) -> list[str]:
    lines = [f"\nThis machine since {local['since']} (CLI logs and gateway ledger):"]
    if not local["by_model"]:
        return [*lines, "  nothing recorded"]
    for by in ("model", "tool"):
        for row in local[f"by_{by}"]:
            total = (row["input_tokens"] or 0) + (row["output_tokens"] or 0)
            lines.append(
                f"  {by} {row['key'] or '?':<24} {row['requests']:>5} req  {_num(row['input_tokens'] or 0):>6} in"
                f"  {_num(row['output_tokens'] or 0):>6} out  {_num(total):>6} total"
            )
    hours = local["by_hour"][-6:]
    if hours:
        lines.append(
            "  last hours: "
            + "  ".join(f"{r['key'][-5:]} {_num((r['input_tokens'] or 0) + (r['output_tokens'] or 0))}" for r in hours)
        )
    return lines + _render_gateway(local["gateway"])


def usage(
    since: str = typer.Option("24h", "--since", help="This machine's spend since: 30m, 24h, 7d, a date."),
    watch: bool = typer.Option(False, "--watch", "-w", help="Refresh until Ctrl-C."),
    interval: float = typer.Option(60.0, "--interval", help="Seconds between refreshes with --watch."),
    times: int = typer.Option(0, "--times", hidden=True, help="Stop --watch after this many refreshes (tests)."),
    json_out: bool = JSON,
    offline: bool = OFFLINE,
    profile: str = PROFILE,
    endpoint: str = ENDPOINT,
    debug: bool = DEBUG,
) -> None:
    """Coding Plan usage: 5-hour and weekly windows, MCP allowance, pace forecast, and this machine's tokens."""
    with handle_errors(debug):
        from glmkit._errors import InputError
        from glmkit.ledger import parse_since

        parse_since(since)  # a bad --since fails before any request
        if interval <= 0:
            raise InputError(f"--interval must be more than 0 seconds, got {interval:g}.", hint="--interval 60")
        with make_client(offline=offline, profile=profile, endpoint=endpoint) as client:
            _show(client, since, watch=watch, interval=interval, times=times, json_out=json_out)


def _show(client: Any, since: str, *, watch: bool, interval: float, times: int, json_out: bool) -> None:
    """Print the report once, or every ``interval`` seconds with ``watch`` (``times`` refreshes, 0: until Ctrl-C)."""
    import time

    count = 0
    while True:
        now = dt.datetime.now(dt.UTC)
        report = quota_report(client.quota.limits(), now)
        local = local_report(since)
        if json_out:
            import json

            sys.stdout.write(json.dumps({**report, "local": local}, indent=2, default=str) + "\n")
        else:
            if watch and is_tty():
                sys.stdout.write("\x1b[2J\x1b[H")
            sys.stdout.write("\n".join(_render_quota(report, now) + _render_local(local)) + "\n")
        sys.stdout.flush()
        count += 1
        if not watch or (times and count >= times):
            return
        time.sleep(interval)


def register(app: typer.Typer) -> None:
    """Add ``usage``."""
    app.command("usage")(usage)
