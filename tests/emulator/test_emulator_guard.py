"""`glm emulate` refuses what a web page sends (foreign Host, web Origin, non-JSON posts) in the API's error shape,
still takes the official SDKs' multipart uploads, and answers 100,000-deep JSON on any POST route with a 4xx."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from asgi_routes import post_routes

from glmkit.emulator import EmulatorConfig, create_app
from glmkit.testing import TEST_KEY, EmulatorTransport

pytestmark = pytest.mark.timeout(60)
AUTH = {"Authorization": f"Bearer {TEST_KEY}"}
CHAT = {"model": "glm-4.7", "messages": [{"role": "user", "content": "hi"}]}


def client(app: Any, base: str = "http://127.0.0.1:8741") -> httpx.Client:
    return httpx.Client(transport=EmulatorTransport(app), base_url=base, headers=AUTH, timeout=10)


def test_foreign_host_and_web_origin_are_refused_before_the_log() -> None:
    app = create_app(EmulatorConfig())
    with client(app, "http://rebound.example:8741") as c:
        host = c.post("/api/paas/v4/chat/completions", json=CHAT)
        anthropic = c.post("/api/anthropic/v1/messages", json={**CHAT, "max_tokens": 5})
    with client(app) as c:
        origin = c.post("/api/paas/v4/chat/completions", json=CHAT, headers={"Origin": "http://127.0.0.2:9000"})
        plain = c.post(
            "/api/paas/v4/chat/completions", content=json.dumps(CHAT), headers={"Content-Type": "text/plain"}
        )
        ok = c.post("/api/paas/v4/chat/completions", json=CHAT, headers={"Origin": "http://localhost:5173"})
    assert host.status_code == 421 and host.json()["error"]["code"] == "421"
    assert anthropic.status_code == 421 and anthropic.json()["type"] == "error"
    assert origin.status_code == 403 and "127.0.0.2" in origin.json()["error"]["message"]
    assert plain.status_code == 415 and plain.json()["error"]["code"] == "415"
    assert ok.status_code == 200
    assert len(app.state.emulator.requests) == 1  # only the allowed one reached a route


def test_in_process_name_and_configured_hosts_are_served() -> None:
    app = create_app(EmulatorConfig(allowed_hosts=("emu.lan",)))
    for base in ("http://emulator.invalid", "http://emu.lan:8741", "http://[::1]:8741"):
        with client(app, base) as c:
            assert c.post("/api/paas/v4/chat/completions", json=CHAT).status_code == 200, base


def test_multipart_only_where_uploads_go() -> None:
    app = create_app(EmulatorConfig())
    with client(app) as c:
        upload = c.post(
            "/api/paas/v4/files", data={"purpose": "batch"}, files={"file": ("a.jsonl", b'{"custom_id": "a"}\n')}
        )
        form = c.post("/api/paas/v4/chat/completions", data={"model": "glm-4.7"}, files={"f": ("a", b"x")})
    assert upload.status_code == 200, upload.text
    assert form.status_code == 415


def test_every_post_route_answers_deep_json_with_a_4xx() -> None:
    app = create_app(EmulatorConfig())
    routes = post_routes(app)
    assert len(routes) > 20
    deep = b"[" * 100_000 + b"]" * 100_000
    inside = b'{"model": "glm-4.7", "messages": ' + deep + b"}"
    with client(app) as c:
        for path in routes:
            for body in (deep, inside):
                r = c.post(path, content=body, headers={"Content-Type": "application/json"})
                assert r.status_code < 500, (path, r.status_code, r.text[:200])
                assert r.status_code >= 400 or path == "/_emulator/reset", path  # reset reads no body
                assert "error" in r.json() or r.status_code == 200, path
