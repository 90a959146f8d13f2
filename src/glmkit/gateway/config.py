"""The gateway's settings: model mapping, vision routing, upstream modes, shaping limits, security.

Read from the ``[gateway]`` table of the config file, overridden by ``glm serve`` options::

    [gateway]
    mode = "translate"            # or "passthrough" (Z.AI's Anthropic-compatible endpoint)
    vision = "route"              # or "describe": the vision model describes images, text replaces them
    vision_model = "glm-4.6v"
    max_inflight = 2              # per model; learned down when 1302 arrives
    queue_size = 256
    queue_timeout = 600
    max_body = 67108864           # bytes (64 MiB); larger bodies get 413 before the rest is read
    allowed_hosts = []            # Host names beside 127.0.0.1, localhost, [::1] and --host
    allowed_origins = []          # web origins allowed to call (browsers' Origin header); loopback always is
    max_context = 0               # input tokens per request (0: the model's window); beyond: "prompt is too long"
    plan_limits = 60              # seconds between monitor reads for anthropic-ratelimit-unified-* headers (0: off)
    [gateway.models]              # Claude families or exact names -> GLM ids
    opus = "glm-5.3"
    haiku = "glm-5.3-flash"
    [gateway.routes]              # upstream mode per route
    "/v1/messages" = "passthrough"
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from glmkit._errors import InputError

log = logging.getLogger("glmkit.gateway")

MODES = ("translate", "passthrough")
VISION = ("route", "describe")
FAMILIES = ("opus", "sonnet", "haiku")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
# The default body cap. The largest legitimate request, by the API's limits: a 1M-token context is ~4-6 MB
# of JSON; Anthropic's own Messages API caps a request at 32 MB (what Claude Code sizes its requests for); a
# single 50 MB file part (reference: the unified `file` part) is ~67 MB as base64. 64 MiB takes the first
# two with room and most of the third. Z.AI's own request cap is not documented (UNVERIFIED).
MAX_BODY = 64 * 1024 * 1024
CLAUDE_PREFIX = "claude-"
_CLAUDE = re.compile(r"claude|anthropic", re.I)


def _default_models() -> dict[str, str]:
    from glmkit.catalog import default_model

    return {family: default_model(family) for family in FAMILIES}


def _default_vision() -> str:
    from glmkit.catalog import default_model

    return default_model("vision")


@dataclass
class GatewayConfig:
    """Everything the gateway decides by, resolved once at start."""

    host: str = "127.0.0.1"
    port: int = 8742
    token: str | None = field(default=None, repr=False)
    mode: str = "translate"
    routes: dict[str, str] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=_default_models)
    vision: str = "route"
    vision_model: str = field(default_factory=_default_vision)
    max_inflight: int = 2
    queue_size: int = 256
    queue_timeout: float = 600.0
    plan_limits: float = 60.0
    """Seconds between background reads of the Coding Plan monitor for the ``anthropic-ratelimit-unified-*``
    headers on /v1/messages answers (Claude Code's plan-usage warnings); 0 turns them off."""
    max_context: int = 0
    """Input tokens a request may carry (0: the model's own context window). A larger request gets Anthropic's
    ``prompt is too long: N tokens > M maximum`` 400, on which Claude Code compacts its conversation; a
    smaller value makes it compact sooner (fewer tokens per request)."""
    ping_interval: float = 5.0
    recover_after: int = 100
    log_bodies: bool = False
    max_body: int = MAX_BODY
    """The largest request body in bytes; a larger one is answered 413 before the rest is read."""
    body_timeout: float = 60.0
    """Seconds a request body may take to arrive (408 after that)."""
    header_timeout: float = 10.0
    """Seconds a connection may take to send a request's headers (closed after that)."""
    allowed_hosts: list[str] = field(default_factory=list)
    """Host names the gateway answers to beside loopback ones and ``host`` (a name a remote client uses)."""
    allowed_origins: list[str] = field(default_factory=list)
    """Web origins (``https://app.example``) allowed to call; loopback origins always are, others never."""
    ledger_path: str | None = None
    ledger: bool = True
    fallback_key: str | None = field(default=None, repr=False)
    """A pay-as-you-go key: a request the plan refuses with 1308/1310 goes to the general endpoint with it, within
    ``fallback_cap_usd`` a UTC day (see ``gateway/fallback.py``). ``None``: no fallback."""
    fallback_cap_usd: float = 0.0
    background_clients: list[str] = field(default_factory=list)
    """Clients (their ``x-glmkit-client`` name, user id or tool) whose requests are background work."""
    hold_max_seconds: float = 4 * 3600.0
    """The longest a background request is held for off-peak hours; then it goes at peak price."""
    peak_hours: dict[str, Any] | None = None
    """The plan's peak hours, when they differ from ``data/limits.toml`` ``[plan.peak_hours]`` (same keys)."""
    lean_upstream: bool | None = None
    """Send upstream requests through the gateway's lean HTTP/1.1 transport (TLS included). ``None`` (default):
    yes, unless a proxy in the environment applies to an upstream URL (then httpx's transport, which speaks to
    proxies); ``False``: always httpx's transport. The gateway's end-to-end suite runs over http and https."""
    _warned: set[str] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Raise ``InputError`` naming the bad setting and its fix."""
        for route, mode in {"default": self.mode, **self.routes}.items():
            if mode not in MODES:
                raise InputError(
                    f"Unknown gateway mode {mode!r} for {route}.", hint="Use 'translate' or 'passthrough'."
                )
        if self.vision not in VISION:
            raise InputError(f"Unknown vision strategy {self.vision!r}.", hint="Use 'route' or 'describe'.")
        if self.max_inflight < 1:
            raise InputError(f"max_inflight must be 1 or more, got {self.max_inflight}.")
        if self.queue_size < 0 or self.queue_timeout <= 0:
            raise InputError("queue_size must be 0 or more and queue_timeout positive.")
        for name in ("allowed_hosts", "allowed_origins"):
            value = getattr(self, name)
            if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                raise InputError(f"{name} must be a list of strings, got {value!r}.", hint=f'{name} = ["..."]')
        if self.max_body < 1 or self.body_timeout <= 0 or self.header_timeout <= 0:
            raise InputError("max_body, body_timeout and header_timeout must be positive.")
        if self.fallback_cap_usd < 0 or (self.fallback_key and not self.fallback_cap_usd):
            raise InputError(
                "The pay-as-you-go fallback needs a spending cap.",
                hint="Set fallback_cap_usd in [gateway] to the most it may spend a day (USD), e.g. 2.",
            )
        if self.hold_max_seconds < 0:
            raise InputError(f"hold_max_seconds must be 0 or more, got {self.hold_max_seconds}.")
        if self.peak_hours is not None:
            try:
                self.peak_table()
            except (KeyError, TypeError, ValueError) as exc:
                raise InputError(
                    f"[gateway.peak_hours] is not a peak-hour table ({exc}).",
                    hint="Keys: utc_offset_hours, weekdays (Monday = 0), start_hour, end_hour (and off_peak_cost).",
                ) from None
        if self.host not in LOOPBACK and not self.token:
            raise InputError(
                f"Binding {self.host} exposes the gateway (and your Z.AI quota) to the network.",
                hint="Set a gateway token with --token (clients send it as their API key), or bind 127.0.0.1.",
            )

    def guard_policy(self) -> Any:
        """The ``RequestGuard`` policy: the hosts and origins let in, the body cap and timeout."""
        from glmkit._request_guard import GuardPolicy

        return GuardPolicy.for_bind(
            self.host,
            allowed_hosts=self.allowed_hosts,
            allowed_origins=self.allowed_origins,
            max_body=self.max_body,
            body_timeout=self.body_timeout,
        )

    def peak_table(self) -> Any:
        """The plan's peak hours (``glmkit.types.quota.PeakHours``): the data file's, or ``peak_hours``."""
        from glmkit.types.quota import PEAK_HOURS, PeakHours

        row = self.peak_hours
        if row is None:
            return PEAK_HOURS
        return PeakHours(
            utc_offset_hours=int(row["utc_offset_hours"]),
            weekdays=tuple(int(d) for d in row["weekdays"]),
            start=int(row["start_hour"]),
            end=int(row["end_hour"]),
            off_peak_cost=float(row.get("off_peak_cost", PEAK_HOURS.off_peak_cost)),
        )

    def mode_for(self, route: str) -> str:
        """The upstream mode of a route (``/v1/messages``)."""
        return self.routes.get(route, self.mode)

    def map_model(self, name: str) -> str:
        """The GLM model for a requested name: Claude families by substring, GLM ids as they are, else the default."""
        from glmkit.catalog import default_model, get_model

        raw = (name or "").strip()
        base = raw.removesuffix("[1m]").strip()
        low = base.lower()
        if raw in self.models:
            return self.models[raw]
        if low in self.models:
            return self.models[low]
        if get_model(low) is not None:
            return low
        if low.startswith(CLAUDE_PREFIX) and get_model(low.removeprefix(CLAUDE_PREFIX)) is not None:
            return low.removeprefix(CLAUDE_PREFIX)  # claude-glm-5.3: the id GET /v1/models lists for glm-5.3
        for family in FAMILIES:
            if family in low:
                return self.models.get(family) or default_model(family)
        fallback = self.models.get("default") or default_model("chat")
        if raw not in self._warned:
            self._warned.add(raw)
            log.warning("unknown model %r: using %s (map it under [gateway.models])", raw, fallback)
        return fallback

    def listed_models(self) -> list[tuple[str, str]]:
        """(id, GLM model) pairs ``GET /v1/models`` shows Anthropic clients, every id one Claude Code keeps
        (it drops ids not matching ``/(claude|anthropic)/i``): the Claude id of each family slot
        (``claude-opus-5-5``), mapped names that are Claude ids already, then ``claude-<glm id>`` per GLM model
        mapped to; ``map_model`` resolves each of them to the GLM model listed beside it."""
        from glmkit import data

        ids = data.load("models")["claude_ids"]
        pairs: list[tuple[str, str]] = []
        for name, target in self.models.items():
            if name in ids:
                pairs.append((str(ids[name]), target))
            elif _CLAUDE.search(name):
                pairs.append((name, target))
        pairs += [(CLAUDE_PREFIX + target, target) for target in dict.fromkeys(self.models.values())]
        from glmkit.catalog import all_models

        # models released after the installed catalog (`glm models --refresh`)
        pairs += [(CLAUDE_PREFIX + m.id, m.id) for m in all_models() if m.inferred and m.kind == "chat"]
        unique: dict[str, str] = {}
        for name, target in pairs:
            unique.setdefault(name, target)  # each id once, where it first appears
        return list(unique.items())


# A setting's annotation -> the TOML values it accepts, and what to call them in an error.
_KINDS: dict[str, tuple[tuple[type, ...], str]] = {
    "int": ((int,), "a whole number"),
    "float": ((int, float), "a number"),
    "str": ((str,), "a string"),
    "str | None": ((str,), "a string"),
    "bool": ((bool,), "true or false"),
    "bool | None": ((bool,), "true or false"),
}


def _check_kind(name: str, value: Any) -> None:
    """A ``[gateway]`` value of the wrong kind (``max_inflight = "x"``) is an ``InputError`` naming it."""
    types, wanted = _KINDS.get(str(GatewayConfig.__dataclass_fields__[name].type), ((object,), ""))
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        raise InputError(f"[gateway] {name} = {value!r}: it must be {wanted}.", hint="Fix it in the config file.")


def from_config(table: Mapping[str, Any] | None, **overrides: Any) -> GatewayConfig:
    """Build the config from the ``[gateway]`` table and CLI overrides (``None`` overrides are ignored)."""
    raw = dict(table or {})
    for name in ("models", "routes"):
        if not isinstance(raw.get(name) or {}, Mapping):
            raise InputError(f"[gateway] {name} = {raw[name]!r}: it must be a table.", hint=f"Use [gateway.{name}].")
    models = _default_models()
    models.update({str(k): str(v) for k, v in dict(raw.pop("models", {}) or {}).items()})
    routes = {str(k): str(v) for k, v in dict(raw.pop("routes", {}) or {}).items()}
    known = set(GatewayConfig.__dataclass_fields__) - {"_warned", "models", "routes"}
    unknown = set(raw) - known
    if unknown:
        raise InputError(
            f"Unknown [gateway] settings: {', '.join(sorted(unknown))}.", hint=f"Known: {', '.join(sorted(known))}."
        )
    for name, value in raw.items():
        _check_kind(name, value)
    values = {**raw, **{k: v for k, v in overrides.items() if v is not None}}
    return GatewayConfig(models=models, routes=routes, **values)
