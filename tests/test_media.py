"""glmkit.media: local checks read the files themselves; each limit one unit over gets a clear InputError."""

from __future__ import annotations

import base64
import io
import zlib
from pathlib import Path

import media_samples as ms
import pytest

from glmkit import media
from glmkit._errors import InputError

MB = 1024 * 1024


# --- loading --------------------------------------------------------------------------------------


def test_load_input_reads_every_kind_of_source(tmp_path: Path) -> None:
    data = ms.png(3, 2)
    path = tmp_path / "pic.png"
    path.write_bytes(data)
    b64 = base64.b64encode(data).decode()
    assert media.load_input(path).data == data
    assert media.load_input(str(path)).name == "pic.png"
    assert media.load_input(data).data == data
    assert media.load_input(io.BytesIO(data)).data == data
    assert media.load_input(b64).data == data
    assert media.load_input(f"data:image/png;base64,{b64}").data == data
    remote = media.load_input("https://example.com/a.png?x=1")
    assert remote.url == "https://example.com/a.png?x=1" and remote.data is None and remote.name == "a.png"


def test_base64_with_slashes_and_long_strings_are_not_taken_for_paths() -> None:
    jpeg = ms.jpeg_header(64, 48) + bytes(range(256)) * 2
    b64 = base64.b64encode(jpeg).decode()
    assert b64.startswith("/9j/")  # looks like an absolute path
    assert media.load_input(b64).data == jpeg
    long = base64.b64encode(ms.png(300, 300)).decode()
    assert len(long) > 300 and media.load_input(long).data == ms.png(300, 300)
    with pytest.raises(InputError, match="No such file"):
        media.load_input("x" * 300 + ".png")  # too long for a file name: a clear error, not an OSError


def test_missing_file_and_url_where_bytes_are_needed_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="No such file"):
        media.load_input(str(tmp_path / "nope.wav"))
    with pytest.raises(InputError, match="not a URL"):
        media.check_audio("https://example.com/a.wav")


# --- images ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "size"),
    [
        (ms.png(640, 480), (640, 480)),
        (ms.jpeg_header(1920, 1080), (1920, 1080)),
        (ms.gif_header(33, 44), (33, 44)),
        (ms.webp_vp8x(800, 600), (800, 600)),
    ],
    ids=["png", "jpeg", "gif", "webp"],
)
def test_image_size_is_read_from_the_header(data: bytes, size: tuple[int, int]) -> None:
    assert media.image_size(data) == size


def test_check_image_accepts_6000_and_rejects_6001_pixels() -> None:
    assert media.check_image(ms.png(6000, 1)).width == 6000
    with pytest.raises(InputError) as err:
        media.check_image(ms.png(6001, 1), name="wide.png")
    assert "6001x1" in str(err.value) and "6000x6000" in str(err.value)
    assert err.value.hint and "6000 px" in err.value.hint


def test_check_image_rejects_5_mb_and_more() -> None:
    big = ms.png(10, 10) + b"\x00" * (5 * MB)
    with pytest.raises(InputError, match=r"5\.0 MB") as err:
        media.check_image(big, name="big.png")
    assert "Compress" in (err.value.hint or "")
    png = ms.png(10, 10)
    exactly = png + b"\x00" * (5 * MB - len(png))  # "< 5 MB" (reference §2.2): 5 MB itself is refused
    with pytest.raises(
        InputError, match=r"5\.0 MB \(5242880 bytes\); a chat image takes at most 5\.0 MB \(5242879 bytes\)"
    ):
        media.check_image(exactly, name="five.png")
    assert media.check_image(exactly[:-1], name="under.png").format == "png"


def test_check_image_rejects_wrong_extension_and_format() -> None:
    with pytest.raises(InputError, match=r"\.bmp files are not accepted.*png, jpeg"):
        media.check_image(ms.png(2, 2), name="pic.bmp")
    with pytest.raises(InputError, match="is a GIF file"):
        media.check_image(ms.gif_header(2, 2), name="anim")  # chat takes png/jpeg only


def test_check_image_rejects_corrupt_files() -> None:
    with pytest.raises(InputError, match="damaged PNG"):
        media.check_image(b"\x89PNG\r\n\x1a\n\x00\x00", name="cut.png")
    with pytest.raises(InputError, match="not a file format"):
        media.check_image(b"hello world", name="fake.png")


# --- audio ----------------------------------------------------------------------------------------


def test_wav_and_mp3_durations_are_read_from_the_file() -> None:
    assert media.check_audio(ms.wav(2.5)).seconds == pytest.approx(2.5)
    info = media.check_audio(ms.mp3(10), name="a.mp3")
    assert info.format == "mp3"
    assert info.seconds == pytest.approx(10, abs=ms.MP3_FRAME_SECONDS)
    assert media.check_audio(ms.mp3(3, id3=False), name="b.mp3").seconds == pytest.approx(3, abs=0.03)


def test_30_seconds_pass_and_31_seconds_fail_with_the_remedy() -> None:
    assert media.check_audio(ms.wav(30)).seconds == pytest.approx(30)
    for data, name in [(ms.wav(31), "long.wav"), (ms.mp3(31), "long.mp3")]:
        with pytest.raises(InputError, match=r"31\.0 s long; GLM-ASR takes at most 30 s") as err:
            media.check_audio(data, name=name)
        assert "transcribe_long" in (err.value.hint or "")


def test_26_mb_audio_is_refused_naming_the_25_mb_limit() -> None:
    with pytest.raises(InputError, match=r"26\.0 MB; GLM-ASR takes at most 25\.0 MB"):
        media.check_audio(b"RIFF" + b"\x00" * (26 * MB - 4), name="huge.wav")


def test_wrong_audio_extension_and_corrupt_audio() -> None:
    with pytest.raises(InputError, match=r"\.ogg files are not accepted for GLM-ASR; use wav, mp3"):
        media.check_audio(ms.wav(1), name="voice.ogg")
    with pytest.raises(InputError, match="damaged or unsupported WAV"):
        media.check_audio(ms.wav(1)[:30], name="cut.wav")
    with pytest.raises(InputError, match="is empty"):
        media.check_audio(b"", name="empty.mp3")
    with pytest.raises(InputError, match="is a PNG file"):
        media.check_audio(ms.png(1, 1), name="voice.mp3")


def test_split_audio_cuts_wav_on_silence_and_keeps_every_sample() -> None:
    data = ms.wav(0, pattern=[(22, True), (0.6, False), (20, True)])
    segments = media.split_audio(data, name="talk.wav")
    assert len(segments) == 2
    assert 22.0 <= segments[0].end <= 22.6  # inside the pause, not at the 28 s mark
    assert segments[-1].end == pytest.approx(42.6)
    assert sum(media.check_audio(s.data).seconds for s in segments) == pytest.approx(42.6)


def test_split_audio_cuts_mp3_between_frames() -> None:
    segments = media.split_audio(ms.mp3(65), name="pod.mp3")
    assert len(segments) == 3
    for seg in segments:
        assert media.check_audio(seg.data, name="x.mp3").seconds <= 30


# --- video, pdf, parts ----------------------------------------------------------------------------


def test_check_video_formats_and_200_mb() -> None:
    mp4 = b"\x00\x00\x00\x18ftypisom" + b"\x00" * 100
    assert media.check_video(mp4, name="clip.mp4").format == "mp4"
    with pytest.raises(InputError, match=r"\.avi files are not accepted"):
        media.check_video(mp4, name="clip.avi")
    with pytest.raises(InputError, match=r"200\.0 MB"):
        media.check_video(mp4 + b"\x00" * (200 * MB), name="long.mp4")


def test_pdf_page_count_reads_the_page_tree() -> None:
    assert media.pdf_page_count(ms.pdf(1)) == 1
    assert media.pdf_page_count(ms.pdf(37)) == 37
    with pytest.raises(ValueError):
        media.pdf_page_count(b"not a pdf")


def test_pdf_page_count_ignores_counts_of_nearby_dicts() -> None:
    """Outlines (bookmarks) carry a /Count too; a bookmark-rich PDF must not read as having more pages."""
    objs = [
        "<< /Type /Catalog /Pages 2 0 R /Outlines 3 0 R >>",
        "<< /Type /Pages /Kids [4 0 R 5 0 R] /Count 2 >>",
        "<< /Type /Outlines /First 6 0 R /Last 6 0 R /Count 140 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ]
    data = b"%PDF-1.4\n" + b"".join(f"{i} 0 obj\n{o}\nendobj\n".encode() for i, o in enumerate(objs, 1))
    assert media.pdf_page_count(data + b"trailer\n<< /Root 1 0 R >>\n%%EOF\n") == 2
    nested = b"%PDF-1.4\n1 0 obj\n<< /Type /Pages /Resources << /Font << /F1 7 0 R >> >> /Count 4 /Kids [] >>\nendobj\n"
    assert media.pdf_page_count(nested) == 4


def test_pdf_page_count_reads_compressed_object_streams() -> None:
    inner = b"1 0 2 40 << /Type /Catalog /Pages 2 0 R >> << /Type /Pages /Kids [3 0 R 4 0 R 5 0 R] /Count 3 >>"
    stream = zlib.compress(inner)
    data = (
        b"%PDF-1.5\n7 0 obj\n<< /Type /ObjStm /N 2 /First 8 /Filter /FlateDecode /Length "
        + str(len(stream)).encode()
        + b" >>\nstream\n"
        + stream
        + b"\nendstream\nendobj\n%%EOF\n"
    )
    assert media.pdf_page_count(data) == 3


def test_check_pdf_page_limit_from_data() -> None:
    lim = media.limits("ocr")
    assert lim["pdf_max_pages"] == 100 and lim["pdf_warn_pages"] == 30  # the docs disagree; the reference picks 100
    assert media.check_pdf(ms.pdf(100), name="ok.pdf").pages == 100
    with pytest.raises(InputError, match="101 pages; GLM-OCR takes at most 100") as err:
        media.check_pdf(ms.pdf(101), name="big.pdf")
    assert "start_page_id" in (err.value.hint or "")


def test_image_part_encodes_local_files_and_keeps_urls(tmp_path: Path) -> None:
    path = tmp_path / "chart.png"
    path.write_bytes(ms.png(4, 4))
    part = media.image_part(path)
    assert part["type"] == "image_url"
    assert part["image_url"]["url"].startswith("data:image/png;base64,")
    assert base64.b64decode(part["image_url"]["url"].split(",", 1)[1]) == path.read_bytes()
    assert media.image_part("https://x.test/a.jpg") == {
        "type": "image_url",
        "image_url": {"url": "https://x.test/a.jpg"},
    }
    with pytest.raises(InputError, match="6000x6000"):
        media.image_part(ms.png(6001, 2))


def test_video_and_file_parts(tmp_path: Path) -> None:
    clip = tmp_path / "c.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 10)
    assert media.video_part(clip)["video_url"]["url"].startswith("data:video/mp4;base64,")
    doc = tmp_path / "notes.pdf"
    doc.write_bytes(ms.pdf(2))
    part = media.file_part(doc)
    assert part["type"] == "file" and part["file"]["filename"] == "notes.pdf"
    assert part["file"]["file_data"].startswith("data:application/pdf;base64,")
    assert media.file_part("https://x.test/a.pdf")["file_url"]["url"] == "https://x.test/a.pdf"
    with pytest.raises(InputError, match="chat reads"):
        media.file_part(ms.png(1, 1), name="x.exe")


def test_float_and_extensible_wav_are_read_and_cut_in_their_own_format() -> None:
    for tag in (3, 0xFFFE):
        data = ms.wav_raw(40, tag=tag)
        assert media.check_audio(data, max_seconds=60).seconds == pytest.approx(40)
        segments = media.split_audio(data, name="float.wav")
        assert [round(s.end - s.start) for s in segments] == [28, 12]
        for seg in segments:
            assert seg.data[20:22] == tag.to_bytes(2, "little")  # the pieces keep the original fmt chunk
            assert media.check_audio(seg.data).seconds <= 30


def test_compressed_wav_is_refused_with_the_remedy() -> None:
    with pytest.raises(InputError, match=r"unsupported WAV file \(WAV encoding 0x0011 is compressed") as err:
        media.check_audio(ms.wav_raw(2, tag=0x11, bits=4), name="adpcm.wav")
    assert "16-bit PCM" in (err.value.hint or "")
