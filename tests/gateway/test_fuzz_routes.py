"""Bad input never yields a 5xx: hypothesis posts random bytes and mutated valid bodies to every POST route of
`glm serve`, `glm emulate` and `glm mcp --http` (real processes on loopback) and each answer must be a success
or a 4xx in that route's error format; afterwards each process still answers.

Example counts are modest (CI time); ``derandomize`` keeps a run repeatable.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_routes import post_routes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glmkit.testing import TEST_KEY, EmulatorServer
from tests.gateway.conftest import Serve, serve_process

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

SEEDS: list[dict[str, Any]] = [
    {"model": "glm-4.6", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 20},
    {"model": "claude-sonnet-4-5", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]},
    {"model": "glm-4.6", "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}], "stream": True},
    {"model": "glm-image", "prompt": "a cat", "size": "1024x1024"},
    {"model": "embedding-3", "input": "hi", "query": "x", "search_query": "x", "url": "https://x.test"},
    {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
]
# Lone surrogates: JSON can carry them ("\\ud800"), UTF-8 cannot.
TEXT = st.text(max_size=20) | st.text(st.characters(categories=["Cs"]), min_size=1, max_size=2)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | TEXT
VALUES = st.recursive(
    SCALARS, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3), max_leaves=8
)
DEEP = "__deep__"  # replaced by arrays nested this deep once serialized: 10, 900 or 100,000 levels
SUPPRESS = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]


def _containers(value: Any) -> list[Any]:
    found = [value] if isinstance(value, (dict, list)) else []
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    for child in children:
        found.extend(_containers(child))
    return found


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid body with a few fields replaced, removed or added, sometimes cut short or with a byte changed."""
    body = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 3))):
        target = draw(st.sampled_from(_containers(body)))
        if isinstance(target, dict):
            key = draw(st.sampled_from([*target, "model", "stream", "messages", "x"]))
            if draw(st.booleans()) and key in target:
                del target[key]
            else:
                target[key] = draw(VALUES | st.just(DEEP))
        elif target:
            target[draw(st.integers(0, len(target) - 1))] = draw(VALUES | st.just(DEEP))
    depth = draw(st.sampled_from([10, 900, 100_000]))
    raw = json.dumps(body).replace(f'"{DEEP}"', "[" * depth + "]" * depth).encode()
    cut = draw(st.sampled_from(["whole", "whole", "whole", "truncate", "flip"]))
    at = draw(st.integers(0, max(len(raw) - 1, 0)))
    if cut == "truncate":
        return raw[:at]
    if cut == "flip":
        return raw[:at] + bytes([draw(st.integers(0, 255))]) + raw[at + 1 :]
    return raw


BODIES = st.one_of(st.binary(max_size=300), mutated(), mutated())
Check = Callable[[str, httpx.Response], None]


def fuzz(base: str, routes: list[str], headers: dict[str, str], check: Check, examples: int) -> None:
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None, suppress_health_check=SUPPRESS)
    @given(route=st.sampled_from(routes), body=BODIES)
    def run(route: str, body: bytes) -> None:
        with httpx.Client(base_url=base, timeout=20) as c:
            r = c.post(route, content=body, headers={"Content-Type": "application/json", **headers})
        assert r.status_code < 500, (route, body[:300], r.status_code, r.text[:300])
        if r.status_code >= 400:
            check(route, r)

    run()


def _json(r: httpx.Response) -> Any:
    try:
        return r.json()
    except ValueError:
        raise AssertionError(f"a {r.status_code} whose body is not JSON: {r.text[:200]!r}") from None


def gateway_format(route: str, r: httpx.Response) -> None:
    body = _json(r)
    if route.startswith("/v1/messages"):
        assert body["type"] == "error" and body["error"]["message"], body
    else:
        assert body["error"]["message"], body


def zai_format(route: str, r: httpx.Response) -> None:
    body = _json(r)
    if "/anthropic/" in route:
        assert body["type"] == "error" and body["error"]["message"], body
    elif "/mcp/" in route:
        assert "error" in body, body
    else:
        assert body["error"]["message"] and body["error"]["code"], body


def jsonrpc_format(route: str, r: httpx.Response) -> None:
    body = _json(r)
    assert "error" in body, body


@pytest.fixture(scope="module")
def gateway(emulate_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    with serve_process(emulate_url, tmp_path_factory.mktemp("fuzz-home"), "translate") as s:
        yield s


def gateway_routes() -> list[str]:
    from glmkit._config import resolve_settings
    from glmkit.gateway.app import create_app
    from glmkit.gateway.config import GatewayConfig

    settings_ = resolve_settings(api_key=TEST_KEY, base_url="http://emulator.invalid/api/paas/v4", environ={})
    return post_routes(create_app(GatewayConfig(ledger=False), settings_))


def test_glm_serve_routes(gateway: Serve) -> None:
    routes = gateway_routes()
    assert {"/v1/messages", "/v1/chat/completions", "/v1/messages/count_tokens"} <= set(routes)
    fuzz(gateway.url, routes, {}, gateway_format, examples=100)
    assert httpx.get(f"{gateway.url}/health", timeout=5).status_code == 200


def test_glm_emulate_routes() -> None:
    from glmkit.emulator import create_app
    from glmkit.testing import emulate_process

    routes = [p for p in post_routes(create_app()) if not p.startswith("/_emulator")]
    # An emulator of its own: the module's emulator still carries the gateway fuzz's connections and state.
    with emulate_process() as url:
        fuzz(url, routes, {"Authorization": f"Bearer {TEST_KEY}"}, zai_format, examples=150)
        assert httpx.get(f"{url}/_emulator/health", timeout=5).status_code == 200


def test_glm_mcp_http_route(tmp_path: Path) -> None:
    from tests.mcp_server.mcp_harness import HTTP_TOKEN, http_server

    with EmulatorServer() as upstream, http_server(tmp_path, upstream, tmp_path, "--tools", "tokens") as url:
        # with the server's token, so the bodies reach the MCP server and not only its bearer check
        accept = {"Accept": "application/json, text/event-stream", "Authorization": f"Bearer {HTTP_TOKEN}"}
        fuzz(url.rsplit("/mcp", 1)[0], ["/mcp"], accept, jsonrpc_format, examples=40)
        assert httpx.post(url, content=b"{}", headers={"Content-Type": "application/json", **accept}).status_code < 500
