"""`glm mcp` end to end: the official `mcp` client over stdio and streamable HTTP, the emulator upstream.

Every test runs once per transport (the ``glm_mcp`` fixture is parametrized and module-scoped).
"""

from __future__ import annotations

import struct
import time
from pathlib import Path
from typing import Any

import pytest
from mcp_harness import CLIENT_NAME, VISION, text_of
from media_samples import png, wav

from glmkit.emulator.faults import Fault

pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.timeout(90)]

OTHERS = {"web_search", "web_read", "ocr", "transcribe", "generate_image", "count_tokens"}
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
    "ocr": ["file_source"],
    "transcribe": ["audio_path"],
    "generate_image": ["prompt", "output_path"],
    "count_tokens": [],
}


def chat_requests(glm_mcp: Any) -> int:
    return sum(1 for r in glm_mcp.upstream.state.requests if r["path"].endswith("/chat/completions"))


def text_pdf(pages: int) -> bytes:
    """A PDF whose page N shows the text ``Page N says hello``."""
    n = pages
    kids = " ".join(f"{3 + i} 0 R" for i in range(n))
    objs = ["<< /Type /Catalog /Pages 2 0 R >>", f"<< /Type /Pages /Kids [{kids}] /Count {n} >>"]
    objs += [f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {3 + n + i} 0 R >>" for i in range(n)]
    streams = [f"BT /F1 12 Tf 72 720 Td (Page {i + 1} says hello) Tj ET" for i in range(n)]
    objs += [f"<< /Length {len(s)} >>\nstream\n{s}\nendstream" for s in streams]
    out = b"%PDF-1.4\n"
    for i, body in enumerate(objs, 1):
        out += f"{i} 0 obj\n{body}\nendobj\n".encode()
    return out + b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"


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
    assert set(listed) == VISION | OTHERS
    for name, tool in listed.items():
        assert tool.description and len(tool.description) > 60, name
        assert "ctx" not in tool.input_schema["properties"]
        assert tool.title and tool.annotations is not None
        assert tool.annotations.destructive_hint is (name == "generate_image")
        assert tool.annotations.read_only_hint is (name not in {"ocr", "transcribe", "generate_image"})
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
    as_uri = await glm_mcp.call("analyze_image", {"image_source": images["shot"].as_uri(), "prompt": "describe"})
    assert not as_uri.is_error, text_of(as_uri)


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
    start = time.time()  # every earlier call has answered, so its row is older than this
    await glm_mcp.call("analyze_image", {"image_source": str(images["shot"]), "prompt": "ledger"})
    await glm_mcp.call("analyze_image", {"image_source": "missing.png", "prompt": "ledger"})
    glm_mcp.upstream.state.faults.add(Fault(code="1310", path="/chat/completions", times=1))
    await glm_mcp.call("diagnose_error_screenshot", {"image_source": str(images["shot"])})
    await glm_mcp.call("count_tokens", {"text": "ledger"})
    rows = glm_mcp.ledger_rows(4, since=start)
    assert [r["tool"] for r in rows] == ["analyze_image", "analyze_image", "diagnose_error_screenshot", "count_tokens"]
    ok, missing, quota, tokens = rows
    assert all(r["source"] == "mcp" and r["client"] == CLIENT_NAME for r in rows)  # the name given at initialize
    assert all(r["route"] == f"tools/call ({glm_mcp.transport})" for r in rows)
    assert ok["status"] == 200 and ok["model_used"] == "glm-4.6v" and ok["input_tokens"] > 0
    assert ok["output_tokens"] > 0 and ok["latency_ms"] > 0
    assert missing["status"] is None and missing["error_code"] == "InputError"
    assert quota["status"] == 429 and quota["error_code"] == "1310"
    assert tokens["status"] == 200


async def test_ocr_reads_a_long_pdf_in_page_ranges(glm_mcp: Any) -> None:
    (glm_mcp.workdir / "long.pdf").write_bytes(text_pdf(120))
    before = sum(1 for r in glm_mcp.upstream.state.requests if r["path"].endswith("/layout_parsing"))
    result = await glm_mcp.call("ocr", {"file_source": "long.pdf"})
    text = text_of(result)
    assert not result.is_error, text
    assert text.startswith("(120 pages)")
    assert "Page 1 says hello" in text and "Page 120 says hello" in text
    assert text.index("Page 100 says") < text.index("Page 101 says")  # joined in page order
    sent = sum(1 for r in glm_mcp.upstream.state.requests if r["path"].endswith("/layout_parsing")) - before
    assert sent == 2  # over 100 pages: split into two page ranges


async def test_ocr_page_range_and_save_to(glm_mcp: Any) -> None:
    (glm_mcp.workdir / "short.pdf").write_bytes(text_pdf(5))
    result = await glm_mcp.call(
        "ocr", {"file_source": "short.pdf", "start_page": 2, "end_page": 3, "save_to": "out/short.md"}
    )
    text = text_of(result)
    assert not result.is_error, text
    saved = (glm_mcp.workdir / "out/short.md").read_text(encoding="utf-8")
    assert "Page 2 says hello" in saved and "Page 3 says hello" in saved and "Page 4" not in saved
    assert f"to {glm_mcp.workdir / 'out/short.md'}" in text


async def test_ocr_refuses_a_non_document(glm_mcp: Any) -> None:
    (glm_mcp.workdir / "notes.docx").write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    result = await glm_mcp.call("ocr", {"file_source": "notes.docx"})
    assert result.is_error and "PDF" in text_of(result)


async def test_transcribe_splits_long_audio(glm_mcp: Any) -> None:
    (glm_mcp.workdir / "talk.wav").write_bytes(wav(65))
    (glm_mcp.workdir / "note.wav").write_bytes(wav(4))
    short = await glm_mcp.call("transcribe", {"audio_path": "note.wav"})
    assert not short.is_error, text_of(short)
    assert "4.0 seconds" in text_of(short)
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    long = await glm_mcp.call(
        "transcribe", {"audio_path": "talk.wav", "timestamps": True}, progress_callback=on_progress
    )
    lines = text_of(long).splitlines()
    assert not long.is_error, lines
    assert len(lines) == 3 and lines[0].startswith("[00:00-00:") and lines[-1].endswith(".")
    assert lines[-1].startswith("[00:5") and "-01:05]" in lines[-1]
    assert [m for _, _, m in progress] == [f"{i} of 3 pieces transcribed" for i in (1, 2, 3)]
    assert progress[-1][0] == pytest.approx(65.0) and progress[-1][1] == pytest.approx(65.0)


async def test_transcribe_refuses_other_formats(glm_mcp: Any) -> None:
    (glm_mcp.workdir / "memo.m4a").write_bytes(b"\x00" * 64)
    result = await glm_mcp.call("transcribe", {"audio_path": "memo.m4a"})
    assert result.is_error
    assert "wav, mp3" in text_of(result) and "Hint:" in text_of(result)


async def test_generate_image_saves_where_asked_and_shows_it(glm_mcp: Any) -> None:
    result = await glm_mcp.call("generate_image", {"prompt": "a red fox, flat style", "output_path": "art/fox.png"})
    assert not result.is_error, text_of(result)
    saved = glm_mcp.workdir / "art/fox.png"
    assert saved.read_bytes().startswith(b"\x89PNG")
    assert f"to {saved}" in text_of(result)
    images = [c for c in result.content if c.type == "image"]
    assert len(images) == 1 and images[0].mime_type == "image/png"
    import base64

    assert base64.b64decode(images[0].data) == saved.read_bytes()
    again = await glm_mcp.call("generate_image", {"prompt": "another fox", "output_path": "art/fox.png"})
    assert again.is_error and "already exists" in text_of(again)
    assert saved.read_bytes() == base64.b64decode(images[0].data)  # nothing clobbered


async def test_generate_image_checks_the_size_first(glm_mcp: Any) -> None:
    before = len(glm_mcp.upstream.state.requests)
    result = await glm_mcp.call("generate_image", {"prompt": "x", "output_path": "x.png", "size": "1000x1000"})
    assert result.is_error
    assert "both sides must be 1024-2048 px" in text_of(result)
    assert len(glm_mcp.upstream.state.requests) == before
    assert not (glm_mcp.workdir / "x.png").exists()


async def test_transcribe_save_to_writes_once(glm_mcp: Any) -> None:
    (glm_mcp.workdir / "memo.wav").write_bytes(wav(3))
    result = await glm_mcp.call("transcribe", {"audio_path": "memo.wav", "save_to": "memo.txt"})
    text = text_of(result)
    assert not result.is_error, text
    saved = (glm_mcp.workdir / "memo.txt").read_text(encoding="utf-8")
    assert "3.0 seconds" in saved and f"to {glm_mcp.workdir / 'memo.txt'}" in text
    before = len(glm_mcp.upstream.state.requests)
    again = await glm_mcp.call("transcribe", {"audio_path": "memo.wav", "save_to": "memo.txt"})
    assert again.is_error and "already exists" in text_of(again)
    assert len(glm_mcp.upstream.state.requests) == before  # refused before anything was sent
    assert (glm_mcp.workdir / "memo.txt").read_text(encoding="utf-8") == saved


async def test_concurrent_calls_all_answer(glm_mcp: Any, images: dict[str, Path]) -> None:
    import anyio

    results: dict[int, Any] = {}

    async def one(i: int) -> None:
        if i % 2:
            results[i] = await glm_mcp.call("count_tokens", {"text": "word " * (i + 1)})
        else:
            results[i] = await glm_mcp.call("analyze_image", {"image_source": str(images["shot"]), "prompt": f"q{i}"})

    async with anyio.create_task_group() as tg:
        for i in range(8):
            tg.start_soon(one, i)
    assert all(not r.is_error for r in results.values())
    assert all(f'"q{i}"' in text_of(results[i]) for i in range(0, 8, 2))  # each answer went to its own call


async def test_a_passing_429_is_retried_and_a_lasting_one_is_a_tool_error(
    glm_mcp: Any, images: dict[str, Path]
) -> None:
    # The server runs with GLM_MAX_RETRIES=1: one 1302 is absorbed by a retry, two are not.
    args = {"image_source": str(images["shot"]), "prompt": "retry"}
    before = chat_requests(glm_mcp)
    glm_mcp.upstream.state.faults.add(Fault(code="1302", path="/chat/completions", times=1, retry_after=0))
    passed = await glm_mcp.call("analyze_image", args)
    assert not passed.is_error, text_of(passed)
    assert chat_requests(glm_mcp) - before == 2
    glm_mcp.upstream.state.faults.add(Fault(code="1302", path="/chat/completions", times=2, retry_after=0))
    lasting = await glm_mcp.call("analyze_image", args)
    assert lasting.is_error
    assert "HTTP 429, code 1302" in text_of(lasting) and "Hint:" in text_of(lasting)
    assert not (await glm_mcp.call("analyze_image", args)).is_error
