"""The agent request corpus (tests/fixtures/agents/, recorded from the real agents by the `agents` suite) replayed
through the gateway in both modes, in-process and in seconds: what the agents send keeps working without them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from agent_corpus import load

from glmkit._config import resolve_settings
from glmkit._sse import SSEDecoder
from glmkit.emulator import EmulatorConfig
from glmkit.emulator import create_app as emulator_app
from glmkit.gateway.app import create_app
from glmkit.gateway.config import GatewayConfig
from glmkit.testing import TEST_KEY, AsyncEmulatorTransport

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]
CORPUS = [r for r in load() if r["method"] == "POST" and r["path"].startswith("/v1/messages")]


def test_the_corpus_holds_what_claude_code_sends() -> None:
    claude = [r for r in CORPUS if r["agent"] == "claude-code"]
    assert len(claude) >= 10
    assert any(m.get("role") == "system" for r in claude for m in r["body"]["messages"])  # refused before issue 14
    assert {r["mode"] for r in claude} == {"translate", "passthrough"}
    assert any(r["query"] == "beta=true" for r in claude)


def _events(raw: bytes) -> list[str]:
    decoder = SSEDecoder()
    return [e.event or "message" for e in [*decoder.feed(raw), *decoder.flush()]]


@pytest.mark.parametrize("mode", ["translate", "passthrough"])
async def test_every_recorded_request_is_answered(tmp_path: Path, mode: str) -> None:
    settings = resolve_settings(api_key=TEST_KEY, base_url="http://emulator.invalid/api/coding/paas/v4", environ={})
    app = create_app(
        GatewayConfig(ledger_path=str(tmp_path / "l.db"), mode=mode),
        settings,
        transport=AsyncEmulatorTransport(emulator_app(EmulatorConfig())),
    )
    failures: list[str] = []
    async with httpx.AsyncClient(transport=AsyncEmulatorTransport(app), base_url="http://127.0.0.1") as c:
        for r in CORPUS:
            url = r["path"] + (f"?{r['query']}" if r["query"] else "")
            resp = await c.post(url, content=json.dumps(r["body"]), headers=r["headers"])
            body: Any = resp.content
            if resp.status_code != 200:
                failures.append(f"{r['file']}: {resp.status_code} {body[:300]!r}")
            elif r["body"].get("stream") and "message_stop" not in _events(body):
                failures.append(f"{r['file']}: the stream did not end with message_stop: {body[-300:]!r}")
    await app.state.gateway.aclose()
    assert not failures, "\n".join(failures)
