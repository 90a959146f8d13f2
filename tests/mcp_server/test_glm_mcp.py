"""`glm mcp` end to end: the official `mcp` client over stdio and streamable HTTP, the emulator upstream.

Every test runs once per transport (the ``glm_mcp`` fixture is parametrized and module-scoped).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest
from media_samples import png

from glmkit.emulator.faults import Fault

pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.timeout(90)]

VISION = {
    "analyze_image",
    "extract_text_from_screenshot",
    "diagnose_error_screenshot",
    "ui_to_code",
    "understand_diagram",
    "analyze_chart",
    "compare_ui_screenshots",
    "analyze_video",
}
OTHERS = {"web_search", "web_read", "count_tokens"}
REQUIRED = {
    "analyze_image": ["image_source", "prompt"],
    "extract_text_from_screenshot": ["image_source"],
    "diagnose_error_screenshot": ["image_source"],
    "ui_to_code": ["image_source"],
    "understand_diagram": ["image_source"],
    "analyze_chart": ["image_source"],
    "compare_ui_screenshots": ["expected_image_source", "actual_image_source"],
    "analyze_video": ["video_source", "prompt"],
    "web_search": ["search_query"],
    "web_read": ["url"],
    "count_tokens": [],
}


def text_of(result: Any) -> str:
    return "\n".join(c.text for c in result.content if c.type == "text")


def chat_requests(glm_mcp: Any) -> int:
    return sum(1 for r in glm_mcp.upstream.state.requests if r["path"].endswith("/chat/completions"))


def mp4() -> bytes:
    """The start of an MP4 (an ``ftyp`` box), enough for the format check."""
    return struct.pack(">I", 24) + b"ftypmp42" + b"\x00\x00\x00\x00mp42isom" + b"\x00" * 64


@pytest.fixture(scope="module")
def images(glm_mcp: Any) -> dict[str, Path]:
    work = glm_mcp.workdir
    files = {
        "shot": work / "shot.png",
        "other": work / "other.png",
        "clip": work / "clip.mp4",
        "huge": work / "huge.png",
        "wide": work / "wide.png",
    }
    files["shot"].write_bytes(png(8, 6))
    files["other"].write_bytes(png(8, 6, rgb=(0, 0, 200)))
    files["clip"].write_bytes(mp4())
    files["huge"].write_bytes(png(4, 4) + b"\x00" * (6 * 1024 * 1024))  # 6 MB: over the 5 MB cap
    files["wide"].write_bytes(png(7000, 1))  # over 6000 px
    return files


async def test_lists_every_tool_with_a_described_schema(glm_mcp: Any) -> None:
    listed = {t.name: t for t in (await glm_mcp.session.list_tools()).tools}
    assert set(listed) >= VISION | OTHERS
    for name, tool in listed.items():
        assert tool.description and len(tool.description) > 60, name
        schema = tool.input_schema
        assert schema["type"] == "object"
        assert sorted(schema.get("required", [])) == sorted(REQUIRED.get(name, schema.get("required", [])))
        for prop, spec in schema["properties"].items():
            assert spec.get("description"), f"{name}.{prop} has no description"
    assert listed["ui_to_code"].input_schema["properties"]["output_type"]["enum"] == [
        "code",
        "spec",
        "prompt",
        "description",
    ]
    recency = listed["web_search"].input_schema["properties"]["search_recency_filter"]["anyOf"][0]
    assert recency["enum"] == ["oneDay", "oneWeek", "oneMonth", "oneYear", "noLimit"]
    assert listed["web_search"].input_schema["properties"]["count"]["maximum"] == 50


@pytest.mark.parametrize(
    ("tool", "arguments", "expect"),
    [
        ("analyze_image", {"prompt": "what colour is the square"}, "what colour is the square"),
        ("extract_text_from_screenshot", {"programming_language": "python"}, "Extract all the text"),
        ("diagnose_error_screenshot", {"context": "running pytest"}, "What is this error"),
        ("ui_to_code", {"framework": "React + Tailwind"}, "React + Tailwind"),
        ("ui_to_code", {"output_type": "spec"}, "design specification"),
        ("understand_diagram", {"diagram_type": "sequence"}, "Explain this diagram"),
        ("analyze_chart", {"analysis_focus": "trends"}, "What does this chart show"),
    ],
)
async def test_vision_tool_sends_the_image_and_its_focused_prompt(
    glm_mcp: Any, images: dict[str, Path], tool: str, arguments: dict[str, Any], expect: str
) -> None:
    result = await glm_mcp.call(tool, {"image_source": str(images["shot"]), **arguments})
    text = text_of(result)
    assert not result.is_error, text
    # The emulator answers as the model it was asked for, quoting the user text and counting images.
    assert "glm-4.6v" in text
    assert expect in text
    assert "1 image(s)" in text


async def test_relative_paths_resolve_against_the_server_working_directory(
    glm_mcp: Any, images: dict[str, Path]
) -> None:
    result = await glm_mcp.call("analyze_image", {"image_source": "shot.png", "prompt": "describe"})
    assert not result.is_error, text_of(result)
    assert "1 image(s)" in text_of(result)


async def test_compare_sends_both_screenshots(glm_mcp: Any, images: dict[str, Path]) -> None:
    result = await glm_mcp.call(
        "compare_ui_screenshots",
        {"expected_image_source": str(images["shot"]), "actual_image_source": str(images["other"])},
    )
    assert not result.is_error, text_of(result)
    assert "2 image(s)" in text_of(result)


async def test_video_and_url_sources(glm_mcp: Any, images: dict[str, Path]) -> None:
    video = await glm_mcp.call("analyze_video", {"video_source": str(images["clip"]), "prompt": "what happens"})
    assert not video.is_error, text_of(video)
    assert "1 video(s)" in text_of(video)
    by_url = await glm_mcp.call(
        "analyze_image", {"image_source": "https://example.com/shot.png", "prompt": "what is shown"}
    )
    assert not by_url.is_error, text_of(by_url)
    assert "1 image(s)" in text_of(by_url)


async def test_missing_file_is_a_tool_error_and_the_server_lives_on(glm_mcp: Any) -> None:
    before = chat_requests(glm_mcp)
    result = await glm_mcp.call("analyze_image", {"image_source": "no/such/file.png", "prompt": "x"})
    assert result.is_error
    text = text_of(result)
    assert "No such file" in text
    assert str(glm_mcp.workdir / "no/such/file.png") in text  # names the path it looked for
    assert chat_requests(glm_mcp) == before  # nothing was sent
    after = await glm_mcp.call("count_tokens", {"text": "still alive"})
    assert not after.is_error and "tokens" in text_of(after)


@pytest.mark.parametrize(("image", "says"), [("huge", "at most 5.0 MB"), ("wide", "at most 6000x6000 px")])
async def test_oversized_image_is_a_tool_error_before_any_request(
    glm_mcp: Any, images: dict[str, Path], image: str, says: str
) -> None:
    before = chat_requests(glm_mcp)
    result = await glm_mcp.call("analyze_chart", {"image_source": str(images[image])})
    assert result.is_error
    assert says in text_of(result)
    assert "Hint:" in text_of(result)
    assert chat_requests(glm_mcp) == before


async def test_upstream_429_is_a_tool_error_with_the_hint(glm_mcp: Any, images: dict[str, Path]) -> None:
    glm_mcp.upstream.state.faults.add(Fault(code="1310", path="/chat/completions", times=1))
    result = await glm_mcp.call("analyze_image", {"image_source": str(images["shot"]), "prompt": "x"})
    assert result.is_error
    text = text_of(result)
    assert "HTTP 429, code 1310" in text
    assert "Hint:" in text and "resets" in text
    again = await glm_mcp.call("analyze_image", {"image_source": str(images["shot"]), "prompt": "x"})
    assert not again.is_error, text_of(again)


async def test_bad_arguments_are_tool_errors(glm_mcp: Any) -> None:
    result = await glm_mcp.call("web_search", {"search_query": "python", "count": 500})
    assert result.is_error
    assert "count" in text_of(result)
    result = await glm_mcp.call("ui_to_code", {"image_source": "x.png", "output_type": "poem"})
    assert result.is_error
    result = await glm_mcp.call("count_tokens", {})
    assert result.is_error and "exactly one of text or path" in text_of(result)


async def test_web_search_passes_the_filters(glm_mcp: Any) -> None:
    result = await glm_mcp.call(
        "web_search",
        {
            "search_query": "glmkit mcp",
            "count": 3,
            "search_domain_filter": "docs.z.ai",
            "search_recency_filter": "oneWeek",
        },
    )
    text = text_of(result)
    assert not result.is_error, text
    assert text.startswith("3 results for 'glmkit mcp'")
    assert text.count("https://docs.z.ai/") == 3  # the domain filter reached the engine


async def test_web_read_returns_markdown_in_pieces(glm_mcp: Any) -> None:
    url = "https://docs.z.ai/guides/overview"
    whole = text_of(await glm_mcp.call("web_read", {"url": url}))
    assert whole.startswith("# ") and f"URL: {url}" in whole
    assert "Characters" not in whole  # short enough for one piece: nothing said about pieces
    piece = text_of(await glm_mcp.call("web_read", {"url": url, "start_char": 20}))
    assert "(Characters 20-" in piece
    body = whole.split("\n\n", 1)[1]
    assert body[20:60] in piece
    past = await glm_mcp.call("web_read", {"url": url, "start_char": 10**6})
    assert "past the end" in text_of(past)


async def test_count_tokens_of_text_and_file(glm_mcp: Any) -> None:
    (glm_mcp.workdir / "notes.txt").write_text("hello world " * 50, encoding="utf-8")
    short = text_of(await glm_mcp.call("count_tokens", {"text": "hello world"}))
    long = text_of(await glm_mcp.call("count_tokens", {"path": "notes.txt"}))
    n_short, n_long = int(short.split()[0]), int(long.split()[0])
    assert 0 < n_short < n_long


async def test_each_call_is_a_ledger_row(glm_mcp: Any, images: dict[str, Path]) -> None:
    start = len(glm_mcp.ledger_rows(0, timeout=0.5))
    await glm_mcp.call("analyze_image", {"image_source": str(images["shot"]), "prompt": "ledger"})
    await glm_mcp.call("analyze_image", {"image_source": "missing.png", "prompt": "ledger"})
    glm_mcp.upstream.state.faults.add(Fault(code="1310", path="/chat/completions", times=1))
    await glm_mcp.call("diagnose_error_screenshot", {"image_source": str(images["shot"])})
    await glm_mcp.call("count_tokens", {"text": "ledger"})
    rows = glm_mcp.ledger_rows(start + 4)[start:]
    assert [r["tool"] for r in rows] == ["analyze_image", "analyze_image", "diagnose_error_screenshot", "count_tokens"]
    ok, missing, quota, tokens = rows
    assert all(r["source"] == "mcp" and r["client"] == glm_mcp.transport for r in rows)
    assert ok["status"] == 200 and ok["model_used"] == "glm-4.6v" and ok["input_tokens"] > 0
    assert ok["output_tokens"] > 0 and ok["latency_ms"] > 0
    assert missing["status"] is None and missing["error_code"] == "InputError"
    assert quota["status"] == 429 and quota["error_code"] == "1310"
    assert tokens["status"] == 200
