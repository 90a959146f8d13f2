"""A real browser as the attacker: headless Chromium opens a page from another origin that tries to spend the
user's plan through `glm serve` (a no-preflight `text/plain` POST) and to read its answers after DNS rebinding.

The page lives at ``http://evil.test:<port>/`` (Chromium resolves ``evil.test`` to 127.0.0.2). Its server hands
every other path of that origin to the gateway with the browser's own headers, which is what DNS rebinding
achieves: the page's host name now reaches the gateway, so the browser treats the gateway as same-origin. A sink
on 127.0.0.1 takes the same no-cors POST as control: it shows the browser does deliver such requests to loopback,
so it is the gateway's refusal, not the browser, that keeps the plan unspent.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from glmkit.ledger import Ledger
from tests.gateway.conftest import Serve, serve_process

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(120),
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install -y chromium)"),
]
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

PAGE = """<!doctype html><html><body><pre id="result">pending</pre><script>
const GW = "http://127.0.0.1:%(gw)d", SINK = "http://127.0.0.1:%(sink)d";
const chat = JSON.stringify({model: "glm-4.6", messages: [{role: "user", content: "spend it"}]});
const msg = JSON.stringify({model: "claude-sonnet-4-5", max_tokens: 20, messages: [{role: "user", content: "spend it"}]});
const out = {};
async function attempt(name, go) { try { out[name] = await go(); } catch (e) { out[name] = "blocked: " + e.name; } }
async function read(r) { return r.status + " " + (await r.text()); }
async function run() {
  const simple = {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}};
  await attempt("control", () => fetch(SINK + "/v1/chat/completions", {...simple, body: chat}).then(r => r.type));
  await attempt("nocors_chat", () => fetch(GW + "/v1/chat/completions", {...simple, body: chat}).then(r => r.type));
  await attempt("nocors_messages", () => fetch(GW + "/v1/messages", {...simple, body: msg}).then(r => r.type));
  await attempt("cors_read", () => fetch(GW + "/v1/models").then(read));
  await attempt("rebound_models", () => fetch("/v1/models").then(read));
  await attempt("rebound_health", () => fetch("/health").then(read));
  await attempt("rebound_chat", () => fetch("/v1/chat/completions",
      {method: "POST", headers: {"Content-Type": "application/json"}, body: chat}).then(read));
  out.done = true;
  document.getElementById("result").textContent = JSON.stringify(out);
}
run();
</script></body></html>"""


class _Sink(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self) -> None:
        _Sink.received.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        return None


def _attacker(gateway: str, page: bytes) -> type[BaseHTTPRequestHandler]:
    class Attacker(BaseHTTPRequestHandler):
        """The page at ``/``; any other path relayed to the gateway as the browser sent it (rebinding)."""

        def _relay(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "content-length")}
            r = httpx.request(self.command, gateway + self.path, headers=headers, content=body, timeout=30)
            self.send_response(r.status_code)
            self.send_header("Content-Type", r.headers.get("content-type", "text/plain"))
            self.send_header("Content-Length", str(len(r.content)))
            self.end_headers()
            self.wfile.write(r.content)

        def do_GET(self) -> None:
            if self.path != "/":
                return self._relay()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        do_POST = _relay

        def log_message(self, *args: Any) -> None:
            return None

    return Attacker


def _serving(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def gateway(emulate_url: str, tmp_path: Path) -> Iterator[Serve]:
    with serve_process(emulate_url, tmp_path / "home", "translate") as s:
        yield s


def test_a_web_page_can_neither_spend_nor_read(gateway: Serve, tmp_path: Path) -> None:
    httpx.post(f"{gateway.emulator}/_emulator/reset", timeout=5).raise_for_status()
    sink = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    page = PAGE % {"gw": int(gateway.url.rsplit(":", 1)[1]), "sink": sink.server_address[1]}
    evil = ThreadingHTTPServer(("127.0.0.2", 0), _attacker(gateway.url, page.encode()))
    _serving(sink), _serving(evil)
    try:
        done = subprocess.run(
            [
                str(CHROMIUM),
                *FLAGS,
                f"--user-data-dir={tmp_path / 'profile'}",
                "--host-resolver-rules=MAP evil.test 127.0.0.2",
                "--virtual-time-budget=15000",
                "--dump-dom",
                f"http://evil.test:{evil.server_address[1]}/",
            ],
            capture_output=True,
            timeout=90,
        )
    finally:
        sink.shutdown(), evil.shutdown()
    found = re.search(r'<pre id="result">(.*?)</pre>', done.stdout.decode(errors="replace"), re.S)
    assert found, done.stderr.decode(errors="replace")[-2000:]
    out = json.loads(html.unescape(found.group(1)))
    assert out["done"] is True and out["control"] == "opaque" and _Sink.received  # the browser did send it
    assert out["nocors_chat"] == "opaque" and out["nocors_messages"] == "opaque"  # sent, answer unreadable
    assert out["cors_read"].startswith("blocked")
    for name in ("rebound_models", "rebound_health", "rebound_chat"):
        assert out[name].startswith("421 "), (name, out[name])
        assert "glm-" not in out[name] and '"models"' not in out[name]
    upstream = httpx.get(f"{gateway.emulator}/_emulator/requests", timeout=5).json()["requests"]
    assert [r["path"] for r in upstream if not r["path"].startswith("/_emulator")] == []  # nothing was spent
    assert Ledger(gateway.home / "glmkit.db").requests(source="gateway") == []
