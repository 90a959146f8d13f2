"""client.web_search against the emulator: every filter, local checks, and the Coding-Plan MCP fallback."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from glmkit import AsyncClient, Client
from glmkit._config import resolve_settings
from glmkit._errors import AuthenticationError, InputError, InsufficientBalanceError
from glmkit.emulator import EmulatorConfig, create_app
from glmkit.emulator.faults import Fault
from glmkit.testing import (
    OFFLINE_BASE,
    TEST_KEY,
    AsyncEmulatorTransport,
    EmulatorTransport,
    async_offline_client,
    offline_client,
)
from glmkit.types.web_search import WebSearchResponse

PLAN_KEY = "0123456789abcdef0123456789abcdef.planonly00000001"
NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC).timestamp()


def paths(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [r["path"] for r in app.state.emulator.requests]


@pytest.fixture
def app():  # type: ignore[no-untyped-def]
    return create_app(EmulatorConfig(), clock=lambda: NOW)


def client_with(app, *, key: str = TEST_KEY, **options) -> Client:  # type: ignore[no-untyped-def]
    settings = resolve_settings(api_key=key, base_url=OFFLINE_BASE)
    settings = settings.with_changes(options=options, max_retries=0)
    return Client(settings=settings, transport=EmulatorTransport(app))


# -- REST ------------------------------------------------------------------------------------------


def test_search_is_callable_typed_and_stable(sclient: Client) -> None:
    first = sclient.web_search(search_query="GLM 5.3 release notes")
    again = sclient.web_search.create(search_query="GLM 5.3 release notes")
    other = sclient.web_search(search_query="anyio cancel scopes")
    assert isinstance(first, WebSearchResponse) and first.served_by == "rest"
    assert len(first.search_result) == 10  # the API's default count
    assert first.search_result == again.search_result
    assert first.search_result != other.search_result
    hit = first.search_result[0]
    assert "GLM 5.3 release notes" in hit.title and hit.link.startswith("https://") and hit.refer == "ref_1"
    assert first.id and first.created == int(NOW)


def test_count_filter(sclient: Client) -> None:
    assert len(sclient.web_search(search_query="q", count=1).search_result) == 1
    assert len(sclient.web_search(search_query="q", count=50).search_result) == 50


def test_domain_filter_keeps_only_that_domain(sclient: Client) -> None:
    hits = sclient.web_search(search_query="typed python", search_domain_filter="docs.python.org").search_result
    assert hits and all(h.link.startswith("https://docs.python.org/") for h in hits)


@pytest.mark.parametrize(("recency", "days"), [("oneDay", 1), ("oneWeek", 7), ("oneMonth", 30), ("oneYear", 365)])
def test_recency_filter_bounds_publish_dates(sclient: Client, recency: str, days: int) -> None:
    hits = sclient.web_search(search_query="news", count=30, search_recency_filter=recency).search_result
    today = dt.datetime.fromtimestamp(NOW, dt.UTC).date()
    ages = [(today - dt.date.fromisoformat(h.publish_date or "")).days for h in hits]
    assert all(0 <= a < days for a in ages)


def test_content_size_high_gives_longer_content(sclient: Client) -> None:
    medium = sclient.web_search(search_query="rust async", content_size="medium").search_result[0]
    high = sclient.web_search(search_query="rust async", content_size="high").search_result[0]
    assert len(high.content) > 2 * len(medium.content)


def test_search_intent_and_images_on_request(sclient: Client) -> None:
    plain = sclient.web_search(search_query="weather berlin")
    asked = sclient.web_search(search_query="weather berlin", search_intent=True, include_image=True)
    assert plain.search_intent == [] and not plain.search_result[0].images
    assert asked.search_intent[0].query == "weather berlin"
    assert asked.search_result[0].images and asked.search_result[0].images[0].startswith("https://")


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"search_query": ""}, "search_query is required"),
        ({"search_query": "q", "count": 0}, "1 to 50"),
        ({"search_query": "q", "count": 51}, "1 to 50"),
        ({"search_query": "q", "count": True}, "1 to 50"),
        ({"search_query": "q", "search_domain_filter": "https://www.example.com/a"}, "without scheme or path"),
        ({"search_query": "q", "search_recency_filter": "yesterday"}, "oneDay, oneWeek"),
        ({"search_query": "q", "content_size": "low"}, "medium, high"),
        ({"search_query": "q", "location": "uk"}, "cn, us"),
        ({"search_query": "q", "search_intent": "yes"}, "True or False"),
        ({"search_query": "q", "search_engine": "google"}, "search-prime"),
        ({"search_query": "q", "user_id": "abc"}, "6 to 128"),
        ({"search_query": "q", "request_id": "x" * 65}, "6 to 64"),
    ],
)
def test_bad_filters_fail_locally_before_any_request(app, sclient: Client, params, words) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as err:
        sclient.web_search(**params)
    assert words in str(err.value) + (err.value.hint or "")
    assert paths(app) == []


def test_mainland_caps_the_query_and_uses_its_engines(app) -> None:  # type: ignore[no-untyped-def]
    settings = resolve_settings(api_key=TEST_KEY, base_url=OFFLINE_BASE, region="mainland")
    with Client(settings=settings, transport=EmulatorTransport(app)) as c:
        with pytest.raises(InputError, match="at most 70"):
            c.web_search(search_query="x" * 71)
        with pytest.raises(InputError, match="search_std"):
            c.web_search(search_query="q", search_engine="search-prime")
        assert c.web_search(search_query="q", search_engine="search_pro").search_result
    assert paths(app) == ["/api/paas/v4/web_search"]


def test_emulator_requires_search_engine_like_the_api(app) -> None:  # type: ignore[no-untyped-def]
    with httpx.Client(transport=EmulatorTransport(app), base_url="http://emulator.invalid") as http:
        r = http.post(
            "/api/paas/v4/web_search", json={"search_query": "q"}, headers={"Authorization": f"Bearer {TEST_KEY}"}
        )
    assert r.status_code == 400 and r.json()["error"]["code"] == "1213"


@pytest.mark.anyio
async def test_async_search_matches_sync(app, sclient: Client) -> None:  # type: ignore[no-untyped-def]
    async with async_offline_client(app) as ac:
        hits = await ac.web_search(search_query="same answer", count=5, search_recency_filter="oneWeek")
        with pytest.raises(InputError):
            await ac.web_search(search_query="q", count=99)
    assert (
        hits.search_result
        == sclient.web_search(search_query="same answer", count=5, search_recency_filter="oneWeek").search_result
    )


# -- Coding Plan fallback through the remote MCP server -------------------------------------------------


def test_1113_falls_back_to_mcp_with_identical_results(app, sclient: Client) -> None:  # type: ignore[no-untyped-def]
    params = {
        "search_query": "glm coding plan",
        "count": 7,
        "search_recency_filter": "oneMonth",
        "content_size": "high",
    }
    rest = sclient.web_search(**params)
    with offline_client(app, api_key=PLAN_KEY) as plan:
        app.state.emulator.requests.clear()
        via_mcp = plan.web_search(**params)
    assert via_mcp.served_by == "mcp" and rest.served_by == "rest"
    assert via_mcp.search_result == rest.search_result
    assert paths(app)[0] == "/api/paas/v4/web_search"
    assert set(paths(app)[1:]) == {"/api/mcp/web_search_prime/mcp"}
    statuses = [r.get("status") for r in app.state.emulator.requests]
    assert statuses[0] == 429


def test_fault_header_1113_also_falls_back(app, sclient: Client) -> None:  # type: ignore[no-untyped-def]
    result = sclient.web_search(search_query="fault path", extra_headers={"X-Emulator-Fault": "code=1113"})
    assert result.served_by == "mcp"
    assert result.search_result == sclient.web_search(search_query="fault path").search_result


def test_session_is_reused_for_later_calls(app) -> None:  # type: ignore[no-untyped-def]
    with offline_client(app, api_key=PLAN_KEY) as plan:
        plan.web_search(search_query="one")
        app.state.emulator.requests.clear()
        plan.web_search(search_query="two")
    # REST 1113, then one tools/call: no second initialize
    assert paths(app) == ["/api/paas/v4/web_search", "/api/mcp/web_search_prime/mcp"]


def test_plan_only_profile_goes_straight_to_mcp(app) -> None:  # type: ignore[no-untyped-def]
    with offline_client(app, api_key=PLAN_KEY, plan="plan-only") as plan:
        result = plan.web_search(search_query="no rest at all", count=3)
    assert result.served_by == "mcp" and len(result.search_result) == 3
    assert all(p == "/api/mcp/web_search_prime/mcp" for p in paths(app))
    with client_with(app, key=PLAN_KEY, plan_only=True) as c:
        assert c.web_search(search_query="option too").served_by == "mcp"
    assert "/api/paas/v4/web_search" not in paths(app)


def test_fallback_can_be_turned_off(app) -> None:  # type: ignore[no-untyped-def]
    with client_with(app, key=PLAN_KEY, mcp_fallback=False) as c, pytest.raises(InsufficientBalanceError) as err:
        c.web_search(search_query="q")
    assert err.value.code == "1113" and "mcp_fallback" in (err.value.hint or "")
    assert paths(app) == ["/api/paas/v4/web_search"]


def test_mcp_refusing_the_key_reraises_the_1113_with_a_hint(app) -> None:  # type: ignore[no-untyped-def]
    app.state.emulator.faults.add(Fault(code="1002", path="/mcp/", times=-1))
    with client_with(app, key=PLAN_KEY) as c, pytest.raises(InsufficientBalanceError) as err:
        c.web_search(search_query="q")
    assert isinstance(err.value.__cause__, AuthenticationError)
    assert "Recharge" in (err.value.hint or "") and "web_search_prime" in (err.value.hint or "")


@pytest.mark.anyio
async def test_async_fallback_gives_identical_results(app, sclient: Client) -> None:  # type: ignore[no-untyped-def]
    async def no_sleep(s: float) -> None:
        return None

    rest = sclient.web_search(search_query="async plan", search_domain_filter="github.com")
    ac = AsyncClient(
        api_key=PLAN_KEY, base_url=OFFLINE_BASE, transport=AsyncEmulatorTransport(app), sleep=no_sleep, environ={}
    )
    async with ac:
        via_mcp = await ac.web_search(search_query="async plan", search_domain_filter="github.com")
    assert via_mcp.served_by == "mcp" and via_mcp.search_result == rest.search_result


@pytest.mark.timeout(60)
def test_official_zai_sdk_searches_the_emulator(emulator_server) -> None:  # type: ignore[no-untyped-def]
    zai = pytest.importorskip("zai", reason="the official zai-sdk package is not installed")
    official = zai.ZaiClient(api_key=emulator_server.api_key, base_url=emulator_server.base_url)
    resp = official.web_search.web_search(search_engine="search-prime", search_query="zai judge", count=2)
    mine = Client(api_key=emulator_server.api_key, base_url=emulator_server.base_url)
    with mine:
        ours = mine.web_search(search_query="zai judge", count=2)
    titles = [h["title"] if isinstance(h, dict) else h.title for h in resp.search_result]
    assert titles == [h.title for h in ours.search_result]
