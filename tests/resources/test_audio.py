"""client.audio against the emulator: transcription, streaming, local limits (no request sent), transcribe_long."""

from __future__ import annotations

import threading
from pathlib import Path

import anyio
import httpx
import media_samples as ms
import pytest

from glmkit._errors import InputError, OperationCancelledError
from glmkit.testing import TEST_KEY, EmulatorTransport

MB = 1024 * 1024


def _sent(app) -> list[dict]:  # type: ignore[no-untyped-def]
    return [r for r in app.state.emulator.requests if r["path"].endswith("/audio/transcriptions")]


def test_transcribe_wav_path(client, emulator_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "hello.wav"
    path.write_bytes(ms.wav(3.0))
    result = client.audio.transcriptions.create(file=path, hotwords=["glmkit", "Z.AI"])
    assert result.model == "glm-asr-2512"
    assert result.text.startswith("Emulated transcript of 3.0 seconds")
    assert "Hotwords: glmkit, Z.AI." in result.text  # both hotwords arrived as form fields
    assert len(_sent(emulator_app)) == 1


def test_transcribe_mp3_bytes_and_base64(client) -> None:  # type: ignore[no-untyped-def]
    import base64

    data = ms.mp3(6)
    assert "6.0 seconds" in client.audio.transcriptions.create(file=data).text
    assert client.audio.transcriptions.create(file=base64.b64encode(data).decode()).text.startswith("Emulated")


def test_transcription_stream_assembles_the_text(client) -> None:  # type: ignore[no-untyped-def]
    with client.audio.transcriptions.create(file=ms.wav(2), stream=True) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_transcription()
    assert len(pieces) > 3
    assert "".join(pieces) == final.text
    assert final.text.startswith("Emulated transcript of 2.0 seconds")


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (ms.wav(31), "long.wav", r"31\.0 s long; GLM-ASR takes at most 30 s"),
        (ms.mp3(31), "long.mp3", r"31\.0 s long"),
        (b"ID3" + b"\x00" * (26 * MB), "big.mp3", r"26\.0 MB; GLM-ASR takes at most 25\.0 MB"),
        (ms.wav(2), "voice.m4a", r"\.m4a files are not accepted for GLM-ASR"),
        (ms.wav(2)[:40], "cut.wav", "damaged or unsupported WAV"),
        (b"\xff\xfb\x90\x00" + b"garbage", "noise.mp3", "damaged or unsupported MP3"),
    ],
    ids=["31s-wav", "31s-mp3", "26MB", "extension", "corrupt-wav", "corrupt-mp3"],
)
def test_bad_audio_is_refused_locally_without_a_request(client, emulator_app, tmp_path, data, name, message) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputError, match=message) as err:
        client.audio.transcriptions.create(file=path)
    assert err.value.hint
    assert _sent(emulator_app) == []


def test_other_local_checks(client, emulator_app) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match="hotwords has 101 items"):
        client.audio.transcriptions.create(file=ms.wav(1), hotwords=[f"w{i}" for i in range(101)])
    with pytest.raises(InputError, match="not a transcription model"):
        client.audio.transcriptions.create(file=ms.wav(1), model="glm-4.7")
    with pytest.raises(InputError, match="file is required"):
        client.audio.transcriptions.create()  # type: ignore[call-arg]
    with pytest.raises(InputError, match=r"prompt must be a string \(got a list\)"):
        client.audio.transcriptions.create(file=ms.wav(1), prompt=["earlier", "text"])  # type: ignore[typeddict-item]
    with pytest.raises(InputError, match="1 is not a transcription model"):
        client.audio.transcriptions.create(file=ms.wav(1), model=1)  # type: ignore[typeddict-item]
    assert _sent(emulator_app) == []


def test_the_emulator_itself_refuses_what_the_api_refuses(emulator_app) -> None:  # type: ignore[no-untyped-def]
    """Clients that skip local checks (curl, other SDKs) get the API's 400/1214 from the emulator."""
    http = httpx.Client(transport=EmulatorTransport(emulator_app), base_url="http://emulator.invalid/api/paas/v4")
    headers = {"Authorization": f"Bearer {TEST_KEY}"}
    cases = [
        (("a.wav", ms.wav(31), "audio/wav"), "30 second"),
        (("a.ogg", ms.wav(1), "audio/ogg"), "only wav and mp3"),
        (("a.wav", b"RIFF" + b"\x00" * (25 * MB + 1), "audio/wav"), "25MB"),
    ]
    for upload, words in cases:
        r = http.post("/audio/transcriptions", headers=headers, data={"model": "glm-asr-2512"}, files={"file": upload})
        assert r.status_code == 400
        assert r.json()["error"]["code"] == "1214" and words in r.json()["error"]["message"]
    http.close()


def test_transcribe_long_splits_reports_progress_and_joins(client, emulator_app) -> None:  # type: ignore[no-untyped-def]
    data = ms.wav(0, pattern=[(25, True), (0.5, False), (25, True), (0.5, False), (10, True)])
    seen = []
    result = client.audio.transcribe_long(data, on_progress=seen.append)
    assert [(p.done, p.total) for p in seen] == [(1, 3), (2, 3), (3, 3)]
    assert seen[-1].fraction == 1.0 and seen[-1].seconds_done == pytest.approx(61)
    assert len(result.segments) == 3 and result.seconds == pytest.approx(61)
    assert result.text == " ".join(s.text for s in result.segments)
    assert all(s.end - s.start <= 30 for s in result.segments)
    assert len(_sent(emulator_app)) == 3


class _FormRecorder(httpx.BaseTransport):
    """Passes requests to the emulator and keeps each multipart ``prompt`` field it carried."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.inner = EmulatorTransport(app)
        self.prompts: list[str | None] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        marker = b'name="prompt"\r\n\r\n'
        if marker in body:
            self.prompts.append(body.split(marker, 1)[1].split(b"\r\n--", 1)[0].decode("utf-8"))
        else:
            self.prompts.append(None)
        return self.inner.handle_request(request)


def test_transcribe_long_sends_the_users_prompt_with_every_piece(emulator_app) -> None:  # type: ignore[no-untyped-def]
    from glmkit import Client
    from glmkit.testing import OFFLINE_BASE

    recorder = _FormRecorder(emulator_app)
    client = Client(api_key=TEST_KEY, base_url=OFFLINE_BASE, transport=recorder, environ={})
    result = client.audio.transcribe_long(ms.wav(70), prompt="Glossary: Zhipu, GLM-ASR.")
    assert len(recorder.prompts) == 3
    assert all(p is not None and p.startswith("Glossary: Zhipu, GLM-ASR.") for p in recorder.prompts)
    # after the first piece, the text so far follows the user's prompt, ending with the last piece's text
    assert recorder.prompts[0] == "Glossary: Zhipu, GLM-ASR."
    assert recorder.prompts[2].endswith(result.segments[1].text)  # type: ignore[union-attr]
    assert result.segments[0].text in recorder.prompts[1]  # type: ignore[operator]


def test_transcribe_long_prompt_and_context_stay_within_the_prompt_limit(emulator_app) -> None:  # type: ignore[no-untyped-def]
    from glmkit import Client
    from glmkit.media import limits
    from glmkit.testing import OFFLINE_BASE

    cap = limits("audio")["prompt_max_chars"]
    recorder = _FormRecorder(emulator_app)
    client = Client(api_key=TEST_KEY, base_url=OFFLINE_BASE, transport=recorder, environ={})
    long_prompt = "x" * (cap - 10)
    client.audio.transcribe_long(ms.wav(45), prompt=long_prompt)
    assert len(recorder.prompts) == 2
    assert all(p is not None and p.startswith(long_prompt) and len(p) <= cap for p in recorder.prompts)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"promt": "x"}, r"transcribe_long\(\) got unknown argument\(s\): promt.*prompt"),
        ({"on_progress": "print"}, "on_progress must be a callable"),
        ({"prompt": "x" * 8001}, "prompt is 8001 characters"),
        ({"hotwords": "glmkit"}, "hotwords must be a list of strings"),
        ({"segment_seconds": -5}, r"segment_seconds must be a number of seconds from 1 to 30 \(got -5\)"),
        ({"segment_seconds": 0.01}, "segment_seconds must be a number of seconds from 1 to 30"),
        ({"segment_seconds": "10"}, "segment_seconds must be a number of seconds from 1 to 30"),
    ],
)
@pytest.mark.timeout(10)
def test_transcribe_long_bad_options_are_refused_before_sending(client, emulator_app, kwargs, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=message):
        client.audio.transcribe_long(ms.wav(45), **kwargs)
    assert _sent(emulator_app) == []


def test_transcribe_long_can_be_cancelled_and_keeps_the_partial_text(client, emulator_app) -> None:  # type: ignore[no-untyped-def]
    stop = threading.Event()
    with pytest.raises(OperationCancelledError) as err:
        client.audio.transcribe_long(ms.wav(70), on_progress=lambda p: stop.set(), cancel=stop)
    assert len(err.value.partial.segments) == 1
    assert err.value.partial.text.startswith("Emulated transcript of 28.0 seconds")
    assert len(_sent(emulator_app)) == 1


pytestmark = pytest.mark.timeout(60)


@pytest.mark.anyio
async def test_async_transcription_and_stream(aclient) -> None:  # type: ignore[no-untyped-def]
    result = await aclient.audio.transcriptions.create(file=ms.mp3(4))
    assert "4.0 seconds" in result.text
    stream = await aclient.audio.transcriptions.create(file=ms.wav(2), stream=True)
    async with stream:
        pieces = [p async for p in stream.text_stream]
    assert "".join(pieces).startswith("Emulated transcript of 2.0 seconds")


@pytest.mark.anyio
async def test_async_limits_and_long_transcription(aclient, emulator_app) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match="31.0 s long"):
        await aclient.audio.transcriptions.create(file=ms.wav(31))
    assert _sent(emulator_app) == []
    seen = []
    result = await aclient.audio.transcribe_long(ms.wav(45), on_progress=seen.append)
    assert len(result.segments) == 2 and [p.done for p in seen] == [1, 2]


@pytest.mark.anyio
async def test_async_transcribe_long_cancel_event(aclient, emulator_app) -> None:  # type: ignore[no-untyped-def]
    stop = anyio.Event()
    with pytest.raises(OperationCancelledError):
        await aclient.audio.transcribe_long(ms.wav(70), on_progress=lambda p: stop.set(), cancel=stop)
    assert len(_sent(emulator_app)) == 1
