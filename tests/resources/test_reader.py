"""client.reader.read against the emulator: every option, local checks, and the Coding-Plan MCP fallback."""

from __future__ import annotations

import pytest

from glmkit import Client
from glmkit._errors import BadRequestError, InputError
from glmkit.testing import async_offline_client, offline_client
from glmkit.types.reader import ReaderResponse

PLAN_KEY = "0123456789abcdef0123456789abcdef.planonly00000001"
URL = "https://docs.example.com/guides/getting-started"


def paths(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [r["path"] for r in app.state.emulator.requests]


def test_read_returns_typed_markdown_stable_per_url(sclient: Client) -> None:
    page = sclient.reader.read(URL)
    again = sclient.reader.create(url=URL)
    other = sclient.reader.read("https://docs.example.com/guides/other")
    assert isinstance(page, ReaderResponse) and page.served_by == "rest"
    assert page.reader_result == again.reader_result != other.reader_result
    r = page.reader_result
    assert r.url == URL and r.title == "Getting Started" and r.content == page.content
    assert page.content.startswith("# Getting Started")
    assert r.published_time and r.metadata and r.external


def test_text_format_has_no_markdown(sclient: Client) -> None:
    text = sclient.reader.read(URL, return_format="text").content
    assert not text.startswith("#") and "![" not in text and "](" not in text and "Getting Started" in text


def test_images_are_kept_by_default_and_dropped_on_request(sclient: Client) -> None:
    assert "![Figure 1](" in sclient.reader.read(URL).content  # retain_images defaults to true
    assert "![" not in sclient.reader.read(URL, retain_images=False).content
    assert "data:image/png;base64" in sclient.reader.read(URL, keep_img_data_url=True).content


def test_no_gfm_drops_tables(sclient: Client) -> None:
    assert "| --- |" in sclient.reader.read(URL).content
    assert "| --- |" not in sclient.reader.read(URL, no_gfm=True).content


def test_summaries_on_request(sclient: Client) -> None:
    plain = sclient.reader.read(URL).reader_result
    full = sclient.reader.read(URL, with_images_summary=True, with_links_summary=True, no_cache=True, timeout=5)
    assert plain.images is None and plain.links is None
    assert full.reader_result.images == {"Figure 1": full.content.split("![Figure 1](")[1].split(")")[0]}
    assert list(full.reader_result.links or {}) == ["Related"]


@pytest.mark.parametrize(
    ("url", "params", "words"),
    [
        ("ftp://example.com/file", {}, "http(s) URL"),
        ("example.com/page", {}, "http(s) URL"),
        (URL, {"timeout": 0}, "positive whole number"),
        (URL, {"timeout": 2.5}, "positive whole number"),
        (URL, {"return_format": "html"}, "markdown, text"),
        (URL, {"retain_images": "no"}, "True or False"),
        (URL, {"with_links_summary": 1}, "True or False"),
        (URL, {"user_id": "abc"}, "6 to 128"),
    ],
)
def test_bad_input_fails_locally_before_any_request(app, sclient: Client, url, params, words) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=words.replace("(", r"\(").replace(")", r"\)")):
        sclient.reader.read(url, **params)
    assert paths(app) == []


def test_create_without_url_names_the_field(app, sclient: Client) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match="url must be an http"):
        sclient.reader.create(return_format="text")  # type: ignore[call-arg]
    assert paths(app) == []


def test_unreachable_page_is_the_servers_error(sclient: Client) -> None:
    with pytest.raises(BadRequestError) as err:
        sclient.reader.read("https://gone.invalid/page")
    assert err.value.code == "1214" and "Failed to fetch" in err.value.message


def test_request_timeout_is_the_http_timeout_not_the_fetch_timeout(sclient: Client) -> None:
    page = sclient.reader.read(URL, timeout=30, request_timeout=60.0)
    assert page.served_by == "rest"


def test_1113_falls_back_to_the_web_reader_mcp_server(app, sclient: Client) -> None:  # type: ignore[no-untyped-def]
    rest = sclient.reader.read(URL, return_format="text", with_links_summary=True)
    app.state.emulator.requests.clear()
    with offline_client(app, api_key=PLAN_KEY) as plan:
        via_mcp = plan.reader.read(URL, return_format="text", with_links_summary=True)
    assert via_mcp.served_by == "mcp"
    assert via_mcp.reader_result == rest.reader_result
    assert paths(app)[0] == "/api/paas/v4/reader" and set(paths(app)[1:]) == {"/api/mcp/web_reader/mcp"}


def test_plan_only_profile_skips_rest(app) -> None:  # type: ignore[no-untyped-def]
    with offline_client(app, api_key=PLAN_KEY, plan="plan-only") as plan:
        assert plan.reader.read(URL).served_by == "mcp"
    assert "/api/paas/v4/reader" not in paths(app)


@pytest.mark.anyio
async def test_async_read_and_fallback_match_sync(app, sclient: Client) -> None:  # type: ignore[no-untyped-def]
    sync_page = sclient.reader.read(URL, no_gfm=True)
    async with async_offline_client(app) as ac:
        page = await ac.reader.read(URL, no_gfm=True)
        with pytest.raises(InputError):
            await ac.reader.read("nota url")
    async with async_offline_client(app, api_key=PLAN_KEY) as plan:
        via_mcp = await plan.reader.read(URL, no_gfm=True)
    assert page.reader_result == sync_page.reader_result == via_mcp.reader_result
    assert via_mcp.served_by == "mcp"


@pytest.mark.timeout(60)
def test_official_zai_sdk_reads_through_the_emulator(emulator_server) -> None:  # type: ignore[no-untyped-def]
    zai = pytest.importorskip("zai", reason="the official zai-sdk package is not installed")
    official = zai.ZaiClient(api_key=emulator_server.api_key, base_url=emulator_server.base_url)
    page = official.web_reader.web_reader(url=URL, return_format="markdown")
    assert page.reader_result.title == "Getting Started" and page.reader_result.content.startswith("# Getting Started")
