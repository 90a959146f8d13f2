"""`glm transcribe`, `glm image`, `glm video`, `glm translate`, `glm slides` against the in-process emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import media_samples as ms
import pytest
from typer.testing import CliRunner

from glmkit import media
from glmkit.cli.app import app

pytestmark = pytest.mark.timeout(60)
runner = CliRunner()


def glm(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), input=stdin)


@pytest.fixture
def fast_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Video jobs finish at once (the default emulator keeps them PROCESSING for 2 s)."""
    import glmkit.cli.media as cli_media
    from glmkit.emulator import EmulatorConfig, create_app
    from glmkit.testing import offline_client

    app = create_app(EmulatorConfig(job_seconds=0))  # one emulator for every command of the test
    monkeypatch.setattr(cli_media, "make_client", lambda **kw: offline_client(app))


def test_image_writes_a_png(tmp_path: Path) -> None:
    target = tmp_path / "fox.png"
    out = glm("image", "--offline", "a red fox", "-o", str(target), "--size", "1088x1472")
    assert out.exit_code == 0, out.output
    assert out.stdout.strip() == str(target)
    assert media.image_size(target.read_bytes()) == (1088, 1472)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fox.png"]


def test_image_without_output_prints_the_url_and_json_mode() -> None:
    out = glm("image", "--offline", "a fox")
    assert out.exit_code == 0 and out.stdout.strip().endswith(".png")
    data = json.loads(glm("image", "--offline", "--json", "a fox").stdout)
    assert data["data"][0]["url"].endswith(".png") and data["saved"] is None


def test_image_bad_size_is_a_usage_error_with_a_hint() -> None:
    out = glm("image", "--offline", "x", "--size", "999x999")
    assert out.exit_code == 2
    assert "both sides must be 1024-2048 px" in out.stderr and "hint:" in out.stderr


def test_transcribe_short_and_long_files(tmp_path: Path) -> None:
    short = tmp_path / "hi.mp3"
    short.write_bytes(ms.mp3(4))
    out = glm("transcribe", "--offline", str(short))
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith("Emulated transcript of 4.0 seconds")
    long = tmp_path / "talk.wav"
    long.write_bytes(ms.wav(0, pattern=[(25, True), (0.5, False), (20, True)]))
    text_file = tmp_path / "talk.txt"
    out = glm("transcribe", "--offline", str(long), "-o", str(text_file), "-w", "glmkit")
    assert out.exit_code == 0, out.output
    text = text_file.read_text()
    assert text.count("Emulated transcript") == 2 and "Hotwords: glmkit." in text


def test_ctrl_c_during_a_long_transcription_keeps_the_text_so_far(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first Ctrl-C stops after the piece in flight; what was transcribed is written, not lost."""
    import signal

    import httpx

    import glmkit.cli.media as cli_media
    from glmkit import Client
    from glmkit.testing import OFFLINE_BASE, TEST_KEY, EmulatorTransport

    class InterruptAfterFirst(httpx.BaseTransport):
        def __init__(self) -> None:
            from glmkit.emulator import create_app

            self.inner, self.calls = EmulatorTransport(create_app()), 0

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            self.calls += 1
            response = self.inner.handle_request(request)
            if self.calls == 1:
                os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl-C while the first piece is sent
            return response

    transport = InterruptAfterFirst()
    client = Client(api_key=TEST_KEY, base_url=OFFLINE_BASE, transport=transport, environ={})
    monkeypatch.setattr(cli_media, "make_client", lambda **kw: client)
    talk, text_file = tmp_path / "talk.wav", tmp_path / "talk.txt"
    talk.write_bytes(ms.wav(70))
    out = glm("transcribe", str(talk), "-o", str(text_file))
    assert out.exit_code == 130, out.output
    assert transport.calls == 1  # the next pieces were not sent
    assert text_file.read_text().startswith("Emulated transcript of 28.0 seconds")
    assert "1 of 3 pieces" in out.stderr and str(text_file) in out.stderr
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is put back


def test_transcribe_stream_and_json(tmp_path: Path) -> None:
    clip = tmp_path / "c.wav"
    clip.write_bytes(ms.wav(3))
    out = glm("transcribe", "--offline", "--stream", str(clip))
    assert out.exit_code == 0 and out.stdout.startswith("Emulated transcript of 3.0 seconds")
    data = json.loads(glm("transcribe", "--offline", "--json", str(clip)).stdout)
    assert data["segments"][0]["end"] == pytest.approx(3.0)


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("voice.ogg", ms.wav(1), ".ogg files are not accepted for GLM-ASR"),
        ("cut.wav", ms.wav(1)[:30], "damaged or unsupported WAV"),
    ],
)
def test_transcribe_bad_files_exit_2(tmp_path: Path, name: str, data: bytes, words: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    out = glm("transcribe", "--offline", str(path))
    assert out.exit_code == 2 and words in out.stderr


def test_transcribe_stream_refuses_31_seconds(tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    path.write_bytes(ms.wav(31))
    out = glm("transcribe", "--offline", "--stream", str(path))
    assert out.exit_code == 2
    assert "31.0 s long; GLM-ASR takes at most 30 s" in out.stderr and "transcribe_long" in out.stderr


def test_video_submit_only_prints_the_task_id() -> None:
    out = glm("video", "--offline", "a cat surfing")
    assert out.exit_code == 0, out.output
    assert out.stdout.strip().startswith("vid") and "submitted" in out.stderr
    data = json.loads(glm("video", "--offline", "--json", "a cat surfing").stdout)
    assert data["id"].startswith("vid") and data["model"] == "cogvideox-3" and data["request_id"]


def test_video_wait_saves_the_file(fast_jobs: None, tmp_path: Path) -> None:
    target = tmp_path / "cat.mp4"
    out = glm("video", "a cat surfing", "--wait", "-o", str(target), "--poll", "0.1")
    assert out.exit_code == 0, out.output
    assert "SUCCESS" in out.stderr
    assert media.check_video(target).format == "mp4"


def test_video_resume_by_task_id(fast_jobs: None, tmp_path: Path) -> None:
    task_id = glm("video", "a slow boat").stdout.strip()
    status = glm("video", "--task", task_id)
    assert status.exit_code == 0 and status.stdout.strip() == f"SUCCESS {task_id}"
    target = tmp_path / "boat.mp4"
    out = glm("video", "--task", task_id, "-o", str(target), "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["saved"] == str(target) and target.read_bytes()[4:8] == b"ftyp"


def test_video_failure_names_the_task(fast_jobs: None) -> None:
    out = glm("video", "[fail] x", "--wait", "--poll", "0.1")
    assert out.exit_code == 1
    assert "failed" in out.stderr and "vid" in out.stderr


def test_video_bad_params_exit_2() -> None:
    out = glm("video", "--offline", "x", "--model", "vidu2-image")
    assert out.exit_code == 2 and "takes 1 image" in out.stderr


def test_translate_from_args_and_stdin() -> None:
    out = glm("translate", "--offline", "--to", "ja", "good", "morning")
    assert out.exit_code == 0 and out.stdout.strip() == "[ja] good morning"
    out = glm("translate", "--offline", "--to", "fr", stdin="piped text\n")
    assert out.exit_code == 0 and out.stdout == "[fr] piped text\n"  # one newline, not two
    bad = glm("translate", "--offline", "--to", "xx", "hi")
    assert bad.exit_code == 2 and "target_lang 'xx'" in bad.stderr


def test_slides_writes_deck_and_pdf(tmp_path: Path) -> None:
    deck, pdf = tmp_path / "deck.pptx", tmp_path / "deck.pdf"
    out = glm("slides", "--offline", "intro", "to", "Rust", "-o", str(deck), "--pdf", str(pdf))
    assert out.exit_code == 0, out.output
    assert out.stdout.split() == [str(deck), str(pdf)]
    assert deck.read_bytes()[:2] == b"PK" and media.pdf_page_count(pdf.read_bytes()) == 3


@pytest.mark.e2e
def test_glm_image_offline_in_a_real_process(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZAI_", "GLM_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "glmkit.cli.app", "image", "--offline", "a lighthouse", "-o", str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(target)
    assert media.check_image(target, max_width=2048, max_height=2048).format == "png"
