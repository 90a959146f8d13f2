"""The chat requests OpenAI-compatible coding agents really sent, replayed in seconds without the agents.

tests/fixtures/agents/<agent>/ holds the bodies the `agents` suite recorded (``GLMKIT_AGENTS_RECORD=1``,
scrubbed) from OpenCode, Cline, Kilo and Factory Droid, sent direct (to the emulator's coding surface) and
through ``glm serve`` (``/v1/chat/completions``). Each is replayed both ways: the gateway and the emulator
must take every one of them (200, a stream that ends with ``[DONE]``), as the agents need.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from glmkit._config import resolve_settings
from glmkit.emulator import EmulatorConfig
from glmkit.emulator import create_app as emulator_app
from glmkit.gateway.app import create_app
from glmkit.gateway.config import GatewayConfig
from glmkit.testing import TEST_KEY, AsyncEmulatorTransport

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "agents"
AGENTS = ("opencode", "cline", "kilo", "droid")


def corpus() -> list[dict[str, Any]]:
    records = []
    for agent in AGENTS:
        for path in sorted((FIXTURES / agent).glob("*.json")):
            record = json.loads(path.read_text())
            if record["path"].endswith("/chat/completions"):
                records.append(record | {"file": f"{agent}/{path.name}"})
    return records


RECORDS = corpus()


def test_the_corpus_holds_every_agent_and_both_routes() -> None:
    seen = {(r["agent"], r["mode"]) for r in RECORDS}
    assert seen == {(a, m) for a in AGENTS for m in ("direct", "gateway")}
    assert all(TEST_KEY not in json.dumps(r) for r in RECORDS)  # scrubbed: no key, no token
    assert all(r["body"].get("messages") for r in RECORDS)


async def send(app: Any, path: str, record: dict[str, Any]) -> httpx.Response:
    headers = {k: v for k, v in record["headers"].items() if k.lower() in ("user-agent", "accept")}
    headers["authorization"] = f"Bearer {TEST_KEY}"
    async with httpx.AsyncClient(transport=AsyncEmulatorTransport(app), base_url="http://127.0.0.1") as client:
        response = await client.post(path, json=record["body"], headers=headers)
        await response.aread()
        return response


def check(response: httpx.Response, record: dict[str, Any]) -> None:
    assert response.status_code == 200, f"{record['file']}: {response.text[:500]}"
    if record["body"].get("stream"):
        assert response.text.rstrip().endswith("data: [DONE]"), record["file"]
    else:
        assert response.json()["choices"], record["file"]


@pytest.mark.parametrize("record", RECORDS, ids=[r["file"] for r in RECORDS])
async def test_the_gateway_and_the_emulator_take_it(record: dict[str, Any], tmp_path: Path) -> None:
    emulator = emulator_app(EmulatorConfig())
    check(await send(emulator, "/api/coding/paas/v4/chat/completions", record), record)
    settings = resolve_settings(api_key=TEST_KEY, base_url="http://emulator.invalid/api/coding/paas/v4", environ={})
    gateway = create_app(
        GatewayConfig(ledger_path=str(tmp_path / "ledger.db")), settings, transport=AsyncEmulatorTransport(emulator)
    )
    try:
        check(await send(gateway, "/v1/chat/completions", record), record)
    finally:
        await gateway.state.gateway.aclose()
