"""client.layout_parsing (GLM-OCR) against the emulator: real PDFs/PNGs made in code, limits, page-range splitting."""

from __future__ import annotations

import base64
import io
import threading
import warnings
from pathlib import Path

import httpx
import pytest
from media_samples import jpeg_header
from ocr_samples import text_pdf, text_png

from glmkit import Client
from glmkit._errors import InputError, OperationCancelledError
from glmkit.media import limits
from glmkit.resources.ocr import OCRProgress
from glmkit.testing import TEST_KEY, EmulatorTransport, async_offline_client, offline_client
from glmkit.types.ocr import LayoutParsingResult

LIMITS = limits("ocr")
MAX_PAGES = LIMITS["pdf_max_pages"]


def ocr_requests(app) -> int:  # type: ignore[no-untyped-def]
    return sum(1 for r in app.state.emulator.requests if r["path"].endswith("/layout_parsing"))


def page_texts(result: LayoutParsingResult) -> list[str]:
    return [" ".join(el.content or "" for el in page) for page in result.layout_details]


# -- reading documents -----------------------------------------------------------------------------


def test_pdf_from_a_path_gives_markdown_and_layout(sclient: Client, tmp_path: Path) -> None:
    doc = tmp_path / "report.pdf"
    doc.write_bytes(text_pdf([["Quarterly report", "Revenue grew (a lot)"], ["Appendix A"]]))
    result = sclient.layout_parsing.create(model="glm-ocr", file=doc)
    assert isinstance(result, LayoutParsingResult) and result.model == "GLM-OCR"
    assert result.markdown == "Quarterly report\n\nRevenue grew (a lot)\n\nAppendix A"
    assert page_texts(result) == ["Quarterly report Revenue grew (a lot)", "Appendix A"]
    assert result.data_info and result.data_info.num_pages == 2
    assert result.data_info.pages[0].width == 612 and result.layout_details[0][0].label == "text"


@pytest.mark.parametrize("source", ["bytes", "base64", "str-path", "file-object"])
def test_every_input_kind_reads_the_same(sclient: Client, tmp_path: Path, source: str) -> None:
    data = text_pdf([["Same text"]], compress=True)
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    file = {
        "bytes": data,
        "base64": base64.b64encode(data).decode(),
        "str-path": str(path),
        "file-object": io.BytesIO(data),
    }[source]
    assert sclient.layout_parsing.create(file=file).markdown == "Same text"


def test_base64_jpeg_starting_with_a_slash_is_data_not_a_path(sclient: Client) -> None:
    b64 = base64.b64encode(jpeg_header(640, 480) + bytes(range(256))).decode()
    assert b64.startswith("/9j/") and len(b64) > 255  # looks like an absolute path too long for a file name
    result = sclient.layout_parsing.create(file=b64)
    assert result.data_info and result.data_info.pages[0].width == 640


def test_pdf_with_a_compressed_object_stream(sclient: Client) -> None:
    result = sclient.layout_parsing.create(file=text_pdf(3, compress=True, object_stream=True), pages_per_request=2)
    assert page_texts(result) == ["Page 1 of 3", "Page 2 of 3", "Page 3 of 3"]


def test_png_and_jpeg(sclient: Client) -> None:
    png = sclient.layout_parsing.create(file=text_png(300, 120, "Invoice 42"))
    assert png.markdown == "Invoice 42"
    assert png.data_info and (png.data_info.pages[0].width, png.data_info.pages[0].height) == (300, 120)
    jpg = sclient.layout_parsing.create(file=jpeg_header(640, 480))
    assert jpg.layout_details[0][0].label == "image" and jpg.data_info and jpg.data_info.pages[0].width == 640


def test_page_range_and_options_are_sent(sclient: Client) -> None:
    result = sclient.layout_parsing.create(
        file=text_pdf(5), start_page_id=2, end_page_id=3, need_layout_visualization=True
    )
    assert page_texts(result) == ["Page 2 of 5", "Page 3 of 5"]
    assert len(result.layout_visualization) == 2


def test_a_url_is_passed_through_unchecked(app, sclient: Client) -> None:  # type: ignore[no-untyped-def]
    result = sclient.layout_parsing.create(file="https://cdn.example.com/static/scan.pdf")
    assert "scan.pdf" in result.markdown and ocr_requests(app) == 1


# -- splitting ---------------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_one_page_over_the_limit_is_split_and_joined_in_order(app, sclient: Client) -> None:  # type: ignore[no-untyped-def]
    seen: list[OCRProgress] = []
    with pytest.warns(UserWarning, match="30 pages") as caught:
        result = sclient.layout_parsing.create(file=text_pdf(MAX_PAGES + 1, compress=True), on_progress=seen.append)
    (ours,) = [w for w in caught if "30 pages" in str(w.message)]  # other warnings may be caught too
    assert ours.filename == __file__  # the warning points at the caller's line
    assert ocr_requests(app) == 2
    assert page_texts(result) == [f"Page {k} of {MAX_PAGES + 1}" for k in range(1, MAX_PAGES + 2)]
    assert result.markdown.startswith("Page 1 of") and result.markdown.endswith(
        f"Page {MAX_PAGES + 1} of {MAX_PAGES + 1}"
    )
    assert result.data_info and result.data_info.num_pages == MAX_PAGES + 1 == len(result.data_info.pages)
    assert [(p.pages_done, p.last_range) for p in seen] == [
        (MAX_PAGES, (1, MAX_PAGES)),
        (MAX_PAGES + 1, (MAX_PAGES + 1, MAX_PAGES + 1)),
    ]
    assert result.usage and result.usage["prompt_tokens"] == 256 * (MAX_PAGES + 1)


def test_smaller_ranges_keep_order(app, sclient: Client) -> None:  # type: ignore[no-untyped-def]
    result = sclient.layout_parsing.create(file=text_pdf(7), pages_per_request=3, start_page_id=2)
    assert ocr_requests(app) == 2  # pages 2-4, 5-7
    assert page_texts(result) == [f"Page {k} of 7" for k in range(2, 8)]


def test_split_off_names_the_limit_and_the_remedy(app, sclient: Client) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as err:
        sclient.layout_parsing.create(file=text_pdf(MAX_PAGES + 1), split=False)
    assert f"at most {MAX_PAGES} pages" in str(err.value) and "split=True" in (err.value.hint or "")
    assert ocr_requests(app) == 0


def test_cancel_between_ranges_keeps_the_pages_done(app, sclient: Client) -> None:  # type: ignore[no-untyped-def]
    stop = threading.Event()
    with pytest.raises(OperationCancelledError) as err:
        sclient.layout_parsing.create(
            file=text_pdf(6), pages_per_request=2, cancel=stop, on_progress=lambda p: p.ranges_done == 2 and stop.set()
        )
    assert ocr_requests(app) == 2
    assert page_texts(err.value.partial) == [f"Page {k} of 6" for k in range(1, 5)]
    assert "4 of 6 pages" in str(err.value)


@pytest.mark.anyio
async def test_async_split_progress_and_cancel(app) -> None:  # type: ignore[no-untyped-def]
    seen: list[OCRProgress] = []
    async with async_offline_client(app) as ac:
        whole = await ac.layout_parsing.create(file=text_pdf(5), pages_per_request=2, on_progress=seen.append)
        with pytest.raises(OperationCancelledError):
            await ac.layout_parsing.create(
                file=text_pdf(5), pages_per_request=2, on_progress=seen.append, cancel=lambda: len(seen) >= 4
            )
        with pytest.raises(InputError):
            await ac.layout_parsing.create(file=b"not a document")
    assert page_texts(whole) == [f"Page {k} of 5" for k in range(1, 6)]
    assert [p.ranges_done for p in seen] == [1, 2, 3, 1]  # 3 ranges, then 1 range of the cancelled run
    assert ocr_requests(app) == 4


# -- local checks: nothing is sent ------------------------------------------------------------------------


def _big_pdf(size: int) -> bytes:
    head = text_pdf(1)
    return head + b"%" + b"0" * (size - len(head) - 2) + b"\n"


@pytest.mark.parametrize(
    ("name", "make", "words", "hint"),
    [
        ("big.pdf", lambda: _big_pdf(LIMITS["pdf_max_bytes"] + 1), "at most 50.0 MB", "Split"),
        ("big.png", lambda: text_png() + b"\0" * LIMITS["image_max_bytes"], "at most 10.0 MB", "Compress"),
        ("doc.docx", lambda: b"PK\x03\x04 word", "GLM-OCR reads pdf, png, jpeg", "Convert"),
        ("scan.gif", lambda: b"GIF89a\x01\x00\x01\x00", "not gif", "Convert"),
        ("broken.pdf", lambda: b"%PDF-1.4\n garbage without pages", "damaged PDF", "Re-save"),
        ("broken.png", lambda: b"\x89PNG\r\n\x1a\n\0\0", "damaged PNG", "Re-export"),
        ("noext", lambda: b"\x00\x01garbage", "not a PDF, PNG or JPEG", "corrupt"),
        ("fake.pdf", lambda: b"hello, not a pdf", "not a file format", "corrupt"),
    ],
)
def test_bad_files_fail_locally_naming_limit_and_remedy(
    app, sclient: Client, tmp_path: Path, name, make, words, hint
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_bytes(make())
    with pytest.raises(InputError) as err:
        sclient.layout_parsing.create(file=path)
    assert words in str(err.value) and hint in (err.value.hint or "")
    assert ocr_requests(app) == 0


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"model": "glm-4.6v"}, "glm-ocr"),
        ({"file": ""}, "file is required"),
        ({"start_page_id": 0}, "1 or more"),
        ({"start_page_id": 3, "end_page_id": 2}, "after end_page_id"),
        ({"end_page_id": 9}, "has 3 pages"),
        ({"pages_per_request": MAX_PAGES + 1}, f"1 to {MAX_PAGES}"),
        ({"return_crop_images": "yes"}, "True or False"),
        ({"file": "/nowhere/doc.pdf"}, "No such file"),
    ],
)
def test_bad_arguments_fail_locally(app, sclient: Client, params, words) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=words):
        sclient.layout_parsing.create(**{"file": text_pdf(3), **params})
    assert ocr_requests(app) == 0


# -- the emulator alone gives the API's errors --------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        ({"model": "glm-ocr", "file": base64.b64encode(b"GIF89a....").decode()}, "1214", "unsupported file format"),
        ({"model": "glm-ocr", "file": base64.b64encode(b"%PDF-1.4 nothing").decode()}, "1214", "could not be parsed"),
        (
            {"model": "glm-ocr", "file": base64.b64encode(text_pdf(MAX_PAGES + 1)).decode()},
            "1214",
            f"at most {MAX_PAGES} pages",
        ),
        ({"model": "glm-ocr", "file": base64.b64encode(text_pdf(2)).decode(), "start_page_id": 3}, "1214", "exceeds"),
        ({"model": "glm-ocr", "file": base64.b64encode(text_pdf(2)).decode(), "start_page_id": 0}, "1214", "range"),
        ({"model": "glm-ocr", "file": base64.b64encode(text_pdf(2)).decode(), "end_page_id": 0}, "1214", "range"),
        ({"model": "glm-4.7", "file": "https://x.example/a.pdf"}, "1211", "Unknown Model"),
        ({"model": "glm-ocr"}, "1213", "file"),
    ],
)
def test_emulator_refuses_like_the_api(app, body, code, words) -> None:  # type: ignore[no-untyped-def]
    with httpx.Client(transport=EmulatorTransport(app), base_url="http://emulator.invalid") as http:
        r = http.post("/api/paas/v4/layout_parsing", json=body, headers={"Authorization": f"Bearer {TEST_KEY}"})
    assert r.status_code == 400 and r.json()["error"]["code"] == code and words in r.json()["error"]["message"]


def test_emulator_accepts_data_urls_and_counts_pages_from_the_file(app) -> None:  # type: ignore[no-untyped-def]
    data = "data:application/pdf;base64," + base64.b64encode(text_pdf(4, compress=True)).decode()
    with (
        httpx.Client(transport=EmulatorTransport(app), base_url="http://emulator.invalid") as http,
        warnings.catch_warnings(),
    ):
        r = http.post(
            "/api/paas/v4/layout_parsing",
            json={"model": "GLM-OCR", "file": data},
            headers={"Authorization": f"Bearer {TEST_KEY}"},
        )
    assert r.status_code == 200 and r.json()["data_info"]["num_pages"] == 4


@pytest.mark.timeout(60)
def test_official_zai_sdk_parses_a_pdf_on_the_emulator(emulator_server) -> None:  # type: ignore[no-untyped-def]
    zai = pytest.importorskip("zai", reason="the official zai-sdk package is not installed")
    official = zai.ZaiClient(api_key=emulator_server.api_key, base_url=emulator_server.base_url)
    result = official.layout_parsing.create(model="glm-ocr", file=base64.b64encode(text_pdf(2)).decode())
    assert result.md_results == "Page 1 of 2\n\nPage 2 of 2"


def test_a_plan_only_key_gets_the_balance_error_with_an_ocr_hint(app) -> None:  # type: ignore[no-untyped-def]
    from glmkit._errors import InsufficientBalanceError

    key = "0123456789abcdef0123456789abcdef.planonly00000001"
    with offline_client(app, api_key=key) as plan, pytest.raises(InsufficientBalanceError) as err:
        plan.layout_parsing.create(file=text_pdf(1))
    assert err.value.code == "1113" and "no Coding Plan page lists it" in (err.value.hint or "")
