"""The request corpus: every request body an agent run sends, scrubbed, kept under tests/fixtures/agents/.

``GLMKIT_AGENTS_RECORD=1`` (read when the suite starts) makes the `agents` scenarios write what their
recording proxy saw into ``tests/fixtures/agents/<agent>/``; without it nothing is written. The fast test
``tests/gateway/test_agent_corpus.py`` replays the corpus through both gateway modes without any agent.

Scrubbed: the sandbox paths (``/scratch/home``, ``/scratch/work``), UUIDs (session ids), the device id in
``metadata.user_id``; of the headers only the protocol ones are kept (no key, no token ever).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "agents"
RECORD = os.environ.get("GLMKIT_AGENTS_RECORD", "") not in ("", "0")
KEEP_HEADERS = ("anthropic-version", "anthropic-beta", "x-app", "user-agent", "content-type", "accept")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_HEX64 = re.compile(r"\b[0-9a-f]{64}\b")


def scrub(value: Any, paths: dict[str, str]) -> Any:
    """``value`` with the sandbox paths, UUIDs and device ids replaced by fixed stand-ins."""
    text = json.dumps(value, ensure_ascii=False)
    for real, fake in sorted(paths.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(real, fake)
    text = _UUID.sub("00000000-0000-4000-8000-000000000000", text)
    text = _HEX64.sub("0" * 64, text)
    return json.loads(text)


def save_bodies(agent: str, scenario: str, mode: str, requests: list[dict[str, Any]], home: Path, cwd: Path) -> None:
    """Write the run's requests (JSON bodies only) as ``<scenario>-<mode>-<n>.json`` when recording is on."""
    if not RECORD:
        return
    folder = FIXTURES / agent
    folder.mkdir(parents=True, exist_ok=True)
    paths = {str(cwd.resolve()): "/scratch/work", str(cwd): "/scratch/work", str(home): "/scratch/home"}
    seen: set[str] = set()
    n = 0
    for r in requests:
        if not isinstance(r.get("body"), dict):
            continue
        record = {
            "agent": agent,
            "scenario": scenario,
            "mode": mode,
            "method": r["method"],
            "path": r["path"],
            "query": r.get("query") or "",
            "headers": {k: v for k, v in r["headers"].items() if k.lower() in KEEP_HEADERS},
            "body": r["body"],
        }
        record = scrub(record, paths)
        digest = hashlib.sha256(json.dumps(record["body"], sort_keys=True).encode()).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        n += 1
        (folder / f"{scenario}-{mode}-{n}.json").write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n")


def load(agent: str | None = None) -> list[dict[str, Any]]:
    """Every saved request (of one agent, or all), sorted by file name."""
    folder = FIXTURES / agent if agent else FIXTURES
    return [json.loads(p.read_text()) | {"file": p.name} for p in sorted(folder.rglob("*.json"))]
