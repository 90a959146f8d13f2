"""Injected faults as data: ``Fault(status=429, code="1302", times=2)``.

A fault comes from the ``X-Emulator-Fault`` header of one request (``status=429,code=1302,retry_after=1``,
``kind=cut,after=5``, ``kind=slow,delay=2``, ``kind=malformed``, ``kind=finish,reason=sensitive``,
``kind=stream_error,code=1234``), or from the fault book (a scenario file, or ``POST /_emulator/faults``),
where each fault matches a path substring, skips its first ``skip`` matches, and fires ``times`` times.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

KINDS = ("status", "cut", "slow", "malformed", "finish", "stream_error")


@dataclass
class Fault:
    """One injected fault."""

    kind: str = "status"
    status: int | None = None
    code: str | None = None
    message: str | None = None
    retry_after: float | None = None
    after: int = 0  # cut/stream_error: chunks sent first
    delay: float = 0.0  # slow: seconds before the first byte
    reason: str = "sensitive"  # finish: the finish_reason to end with
    path: str = ""  # book: match requests whose path contains this
    skip: int = 0  # book: let this many matching requests through first
    times: int = 1  # book: fire this many times (-1: forever)
    fired: int = field(default=0, repr=False)
    seen: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(KINDS)}")
        if self.kind == "status" and self.status is None:
            if self.code is None:
                raise ValueError("a status fault needs status= or code=")
            from glmkit._errors import code_row

            self.status = code_row(self.code).status
        if self.code is not None:
            self.code = str(self.code)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {k: v for k, v in asdict(self).items() if v not in (None, "", 0, 0.0) or k in ("kind", "times")}


def parse_header(value: str) -> Fault:
    """Parse ``X-Emulator-Fault``: JSON, or ``key=value`` pairs separated by commas or semicolons."""
    value = value.strip()
    if value.startswith("{"):
        return fault_from_dict(json.loads(value))
    fields: dict[str, Any] = {}
    for part in value.replace(";", ",").split(","):
        if "=" in part:
            k, v = part.split("=", 1)
            fields[k.strip()] = v.strip()
        elif part.strip().isdigit():
            fields["status"] = part.strip()
    return fault_from_dict(fields)


def fault_from_dict(raw: dict[str, Any]) -> Fault:
    """Build a fault from loose JSON/header values."""
    conv: dict[str, Any] = {}
    for k, v in raw.items():
        if k in ("status", "after", "skip", "times"):
            conv[k] = int(v)
        elif k in ("retry_after", "delay"):
            conv[k] = float(v)
        elif k in ("kind", "code", "message", "reason", "path"):
            conv[k] = str(v)
        else:
            raise ValueError(f"unknown fault field {k!r}")
    return Fault(**conv)


class FaultBook:
    """Faults armed for future requests, thread-safe."""

    def __init__(self, faults: list[Fault] | None = None) -> None:
        self._faults = list(faults or [])
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        """Arm a fault."""
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._faults.clear()

    def list(self) -> list[Fault]:
        """The armed faults."""
        with self._lock:
            return list(self._faults)

    def take(self, path: str) -> Fault | None:
        """The fault that fires for this request, if any (counting it)."""
        with self._lock:
            for fault in self._faults:
                if fault.path and fault.path not in path:
                    continue
                fault.seen += 1
                if fault.seen <= fault.skip:
                    continue
                if fault.times >= 0 and fault.fired >= fault.times:
                    continue
                fault.fired += 1
                return fault
        return None


def load_scenario(path: Path) -> list[Fault]:
    """Read a scenario file: ``{"faults": [{...}, ...]}`` or a bare list."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    items = raw.get("faults", []) if isinstance(raw, dict) else raw
    return [fault_from_dict(item) for item in items]
