"""The agent request corpus: every request body the `agents` scenarios sent, scrubbed, in tests/fixtures/agents/.

``GLMKIT_AGENTS_RECORD=1`` (read when the suite starts) makes the scenarios write what their recording proxy
saw into ``tests/fixtures/agents/<agent>/<scenario>-<mode>-<n>.json``; without it nothing is written.
``tests/gateway/test_agent_corpus.py`` replays the corpus through both gateway modes, without any agent.

Scrubbed: the sandbox paths (``/scratch/home``, ``/scratch/work``, and Claude Code's dashed form of them), UUIDs (session ids), 64-hex ids (the device
id in ``metadata.user_id``); of the headers only the protocol ones are kept (never a key or token). The large
parts every request repeats (``tools``, ``system``) are stored once, as ``shared/<sha>.json``, and referenced as
``{"$ref": "<sha>"}``; ``load`` puts them back.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "agents"
RECORD = os.environ.get("GLMKIT_AGENTS_RECORD", "") not in ("", "0")
KEEP_HEADERS = ("anthropic-version", "anthropic-beta", "x-app", "user-agent", "content-type", "accept")
SHARED = ("tools", "system")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_HEX64 = re.compile(r"\b[0-9a-f]{64}\b")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def scrub(value: Any, paths: dict[str, str]) -> Any:
    """``value`` with the sandbox paths, UUIDs and device ids replaced by fixed stand-ins."""
    text = json.dumps(value, ensure_ascii=False)
    for real, fake in sorted(paths.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(real, fake)
    text = _UUID.sub("00000000-0000-4000-8000-000000000000", text)
    return json.loads(_HEX64.sub("0" * 64, text))


def _share(body: dict[str, Any], folder: Path) -> dict[str, Any]:
    out = dict(body)
    for key in SHARED:
        if isinstance(out.get(key), list) and len(_dumps(out[key])) > 2000:
            sha = hashlib.sha256(_dumps(out[key]).encode()).hexdigest()[:16]
            path = folder / "shared" / f"{sha}.json"
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(out[key], ensure_ascii=False, indent=1) + "\n")
            out[key] = {"$ref": sha}
    return out


def save(agent: str, scenario: str, mode: str, requests: list[dict[str, Any]], home: Path, cwd: Path) -> None:
    """Write the run's JSON requests as ``<scenario>-<mode>-<n>.json`` (when recording is on)."""
    if not RECORD:
        return
    folder = FIXTURES / agent
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"{scenario}-{mode}-*.json"):
        old.unlink()
    paths = {str(cwd.resolve()): "/scratch/work", str(cwd): "/scratch/work", str(home): "/scratch/home"}
    # Claude Code names a project's folder after its path, every non-alphanumeric character a dash
    paths |= {re.sub(r"[^A-Za-z0-9]", "-", str(p)): re.sub(r"[^A-Za-z0-9]", "-", f) for p, f in list(paths.items())}
    seen: set[str] = set()
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
        digest = hashlib.sha256(_dumps(record["body"]).encode()).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        record["body"] = _share(record["body"], folder)
        name = f"{scenario}-{mode}-{len(seen)}.json"
        (folder / name).write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n")


def load(agent: str | None = None) -> list[dict[str, Any]]:
    """Every saved request (of one agent, or all), sorted by file name, with shared parts put back."""
    records = []
    for folder in sorted(p for p in FIXTURES.iterdir() if p.is_dir()) if FIXTURES.exists() else []:
        if agent is not None and folder.name != agent:
            continue
        for path in sorted(folder.glob("*.json")):
            record = json.loads(path.read_text())
            body = record["body"]
            for key in SHARED:
                if isinstance(body.get(key), dict) and "$ref" in body[key]:
                    body[key] = json.loads((folder / "shared" / f"{body[key]['$ref']}.json").read_text())
            records.append({**record, "file": f"{folder.name}/{path.name}"})
    return records
