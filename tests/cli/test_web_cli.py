"""`glm search`, `glm read`, `glm ocr` in-process through Typer's runner, against the in-process emulator (--offline)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from ocr_samples import text_pdf
from typer.testing import CliRunner

from glmkit.cli.app import app

runner = CliRunner()


def glm(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def test_search_prints_a_table_of_hits() -> None:
    out = glm("search", "--offline", "glm", "coding", "plan", "-n", "3", "--recency", "oneWeek")
    assert out.exit_code == 0, out.output
    lines = out.stdout.strip().splitlines()
    assert lines[0].split("\t") == ["#", "Title", "Link", "Date", "Source"]
    assert len(lines) == 4 and all("glm coding plan" in line for line in lines[1:])


def test_search_json_is_the_typed_response() -> None:
    out = glm("search", "--offline", "--json", "anyio", "--domain", "anyio.readthedocs.io", "-n", "2")
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert [h["refer"] for h in data["search_result"]] == ["ref_1", "ref_2"]
    assert all(h["link"].startswith("https://anyio.readthedocs.io/") for h in data["search_result"])


def test_search_bad_filter_is_a_usage_error() -> None:
    out = glm("search", "--offline", "q", "--recency", "lastWeek")
    assert out.exit_code == 2
    assert "oneDay" in out.stderr


def test_read_prints_markdown_or_writes_a_file(tmp_path: Path) -> None:
    shown = glm("read", "--offline", "https://docs.example.com/guide/setup")
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.startswith("# Setup")
    target = tmp_path / "page.md"
    saved = glm("read", "--offline", "https://docs.example.com/guide/setup", "-o", str(target), "--no-images")
    assert saved.exit_code == 0, saved.output
    text = target.read_text()
    assert text.startswith("# Setup") and "![" not in text and saved.stdout == ""


def test_read_text_format_and_bad_url() -> None:
    text = glm("read", "--offline", "https://docs.example.com/a", "--format", "text")
    assert text.exit_code == 0 and not text.stdout.startswith("#")
    bad = glm("read", "--offline", "docs.example.com/a")
    assert bad.exit_code == 2 and "http(s) URL" in bad.stderr


def test_ocr_writes_markdown_in_page_order(tmp_path: Path) -> None:
    doc = tmp_path / "doc.pdf"
    doc.write_bytes(text_pdf(5))
    target = tmp_path / "doc.md"
    out = glm("ocr", "--offline", str(doc), "-o", str(target), "--pages-per-request", "2")
    assert out.exit_code == 0, out.output
    assert target.read_text().split("\n\n") == [f"Page {k} of 5" for k in range(1, 6)]


def test_ocr_json_and_page_range(tmp_path: Path) -> None:
    doc = tmp_path / "doc.pdf"
    doc.write_bytes(text_pdf(4))
    out = glm("ocr", "--offline", str(doc), "--json", "--start-page", "3")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["md_results"] == "Page 3 of 4\n\nPage 4 of 4"


def test_ocr_bad_file_names_the_problem(tmp_path: Path) -> None:
    doc = tmp_path / "notes.docx"
    doc.write_bytes(b"PK\x03\x04")
    out = glm("ocr", "--offline", str(doc))
    assert out.exit_code == 2 and "pdf, png, jpeg" in out.stderr
    missing = glm("ocr", "--offline", str(tmp_path / "nope.pdf"))
    assert missing.exit_code == 2 and "No such file" in missing.stderr


@pytest.mark.timeout(60)
def test_help_stays_light() -> None:
    code = "import sys, glmkit.cli.web; print('rich' in sys.modules, 'httpx' in sys.modules, 'pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["False", "False", "False"]


@pytest.mark.e2e
@pytest.mark.timeout(60)
def test_ctrl_c_stops_ocr_after_the_current_range_and_keeps_the_pages(tmp_path: Path) -> None:
    import os
    import signal
    import time

    from glmkit.emulator.faults import Fault
    from glmkit.testing import EmulatorServer

    doc, target = tmp_path / "long.pdf", tmp_path / "long.md"
    doc.write_bytes(text_pdf(6))
    with EmulatorServer() as server:
        server.state.faults.add(Fault(kind="slow", delay=0.5, path="/layout_parsing", times=-1))
        env = {
            **os.environ,
            "ZAI_API_KEY": server.api_key,
            "ZAI_BASE_URL": server.base_url,
            "GLMKIT_HOME": str(tmp_path),
        }
        cmd = [sys.executable, "-m", "glmkit.cli.app", "ocr", str(doc), "-o", str(target), "--pages-per-request", "1"]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 30
            while not any(r["path"].endswith("/layout_parsing") for r in server.state.requests):
                assert time.monotonic() < deadline and proc.poll() is None, "glm ocr never reached the emulator"
                time.sleep(0.02)
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        sent = sum(1 for r in server.state.requests if r["path"].endswith("/layout_parsing"))
    assert proc.returncode == 130, err
    assert "The pages parsed so far were kept" in err
    kept = target.read_text().split("\n\n")
    assert kept == [f"Page {k} of 6" for k in range(1, sent + 1)] and 1 <= sent < 6


def test_ocr_notes_the_30_page_doubt_once_on_stderr(tmp_path: Path) -> None:
    doc = tmp_path / "doc.pdf"
    doc.write_bytes(text_pdf(31))
    out = glm("ocr", "--offline", str(doc))
    assert out.exit_code == 0, out.output
    assert out.stderr.count("note: Sending 31 PDF pages") == 1 and "pages_per_request=30" in out.stderr
    assert out.stdout.startswith("Page 1 of 31") and "Warning" not in out.stderr
