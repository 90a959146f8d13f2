"""What the emulator remembers (``EmulatorState``, one per app) and how it was asked to behave (``EmulatorConfig``)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from glmkit.emulator.faults import Fault, FaultBook

__all__ = ["EmulatorConfig", "EmulatorState"]


@dataclass
class EmulatorConfig:
    """How the emulator behaves.

    Attributes:
        keys: the only keys accepted (empty: any well-formed key).
        seed: makes ids and generated content repeatable.
        faults: faults armed at start (see ``faults.py``).
        max_concurrency: requests in flight per model before 1302 (0: unlimited).
        job_seconds: how long async jobs (video, async chat/images, agents) stay PROCESSING.
        chunk_delay: seconds between stream chunks.
        plan: the Coding Plan level reported by the quota endpoint.
        public_url: the base the emulator uses for URLs it hands out (images, videos), when known.
        allowed_hosts: ``Host`` names accepted beside loopback ones and ``emulator.invalid``.
    """

    keys: frozenset[str] = frozenset()
    seed: int = 0
    faults: list[Fault] = field(default_factory=list)
    max_concurrency: int = 0
    job_seconds: float = 2.0
    chunk_delay: float = 0.0
    plan: str = "pro"
    public_url: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    allowed_hosts: tuple[str, ...] = ()
    """Host names served beside loopback ones and ``emulator.invalid`` (the in-process name; ``.invalid``
    never resolves, so no web page can rebind to it): ``glm emulate --host`` adds its address here."""


class EmulatorState:
    """Everything the emulator remembers; one per app (no module-level state)."""

    def __init__(self, config: EmulatorConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.faults = FaultBook(config.faults)
        self.requests: list[dict[str, Any]] = []
        self.in_flight: dict[str, int] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.usage_hooks: list[Callable[[dict[str, Any]], None]] = []
        # Checks run by ``admit`` after the key check; one may answer instead (the quota module's 1308/1310).
        self.admit_hooks: list[Callable[[Request], Response | None]] = []
        self.extra: dict[str, Any] = {}  # per-module state, keyed by module name
        self._ids = itertools.count(1)

    def new_id(self, prefix: str = "") -> str:
        """A deterministic, unique id."""
        n = next(self._ids)
        return f"{prefix}{self.config.seed:04d}{n:012d}"

    def now(self) -> int:
        """Seconds since the epoch on the emulator's clock."""
        return int(self.clock())

    def record_usage(self, entry: dict[str, Any]) -> None:
        """Tell the quota module (and others) that a request consumed tokens."""
        for hook in self.usage_hooks:
            hook(entry)

    def base_url(self, request: Request) -> str:
        """The URL the client reached us at (for URLs we hand out)."""
        if self.config.public_url:
            return self.config.public_url.rstrip("/")
        return str(request.base_url).rstrip("/")
