"""client.videos against the emulator on a fake clock: PROCESSING -> SUCCESS, FAIL, timeout, cancel, validation."""

from __future__ import annotations

import threading
from pathlib import Path

import media_samples as ms
import pytest

from glmkit import media
from glmkit._errors import InputError, JobFailedError, JobTimeoutError, OperationCancelledError
from glmkit.emulator import EmulatorConfig, create_app
from glmkit.testing import async_offline_client, offline_client

pytestmark = pytest.mark.timeout(60)


class Clock:
    """The emulator's clock, advanced by the client's sleeps: a 60 s job takes no real time."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(clock: Clock):  # type: ignore[no-untyped-def]
    return create_app(EmulatorConfig(job_seconds=60), clock=clock)


@pytest.fixture
def vclient(app, clock: Clock):  # type: ignore[no-untyped-def]
    c = offline_client(app, sleep=clock.sleep)
    yield c
    c.close()


def _sent(app, part: str) -> int:  # type: ignore[no-untyped-def]
    return sum(1 for r in app.state.emulator.requests if part in r["path"])


def test_processing_then_success_with_progress_and_backoff(vclient, clock: Clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    task = vclient.videos.generate(model="cogvideox-3", prompt="a cat surfing", duration=10, fps=60)
    assert task.task_status == "PROCESSING"
    assert vclient.videos.retrieve(task.id).task_status == "PROCESSING"
    seen = []
    result = vclient.videos.wait(task.id, poll=5, on_progress=seen.append)
    assert result.task_status == "SUCCESS"
    assert [p.status for p in seen][-1] == "SUCCESS" and {p.status for p in seen[:-1]} == {"PROCESSING"}
    assert [p.polls for p in seen] == list(range(1, len(seen) + 1))
    assert clock.slept[:3] == [5, 7.5, 11.25]  # backs off by 1.5x
    assert result.video_result[0].cover_image_url
    path = vclient.videos.save(result, tmp_path / "cat.mp4")
    assert media.check_video(path).format == "mp4"


def test_fail_raises_with_the_task_id(vclient) -> None:  # type: ignore[no-untyped-def]
    task = vclient.videos.generate(model="viduq1-text", prompt="[fail] a forbidden scene", style="anime")
    with pytest.raises(JobFailedError) as err:
        vclient.videos.wait(task.id, poll=10)
    assert err.value.task_id == task.id and task.id in str(err.value)
    assert err.value.error["code"] == "1301"


def test_timeout_raises_with_the_task_id(vclient, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    task = vclient.videos.generate(model="cogvideox-3", prompt="a slow one")
    with pytest.raises(JobTimeoutError) as err:
        vclient.videos.wait(task.id, poll=5, timeout=30)
    assert err.value.task_id == task.id and err.value.waited == pytest.approx(30)
    assert "still PROCESSING after 30 s" in str(err.value) and task.id in (err.value.hint or "")
    assert vclient.videos.wait(task.id, poll=5).task_status == "SUCCESS"  # the job went on; waiting again works


def test_wait_can_be_cancelled(vclient, app) -> None:  # type: ignore[no-untyped-def]
    task = vclient.videos.generate(model="cogvideox-3", prompt="x")
    stop = threading.Event()
    with pytest.raises(OperationCancelledError, match=task.id):
        vclient.videos.wait(task.id, poll=5, on_progress=lambda p: stop.set() if p.polls == 2 else None, cancel=stop)
    assert _sent(app, "/async-result/") == 2


def test_image_models_take_local_images_as_data_urls(vclient, app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first, last = tmp_path / "a.png", tmp_path / "b.png"
    first.write_bytes(ms.png(400, 300))
    last.write_bytes(ms.png(410, 300))
    task = vclient.videos.generate(model="vidu2-start-end", image_url=[first, last], duration=4, size="1280x720")
    assert vclient.videos.wait(task.id, poll=30).task_status == "SUCCESS"
    task = vclient.videos.generate(model="vidu2-image", image_url=first, prompt="zoom in", with_audio=True)
    assert task.model == "vidu2-image"
    task = vclient.videos.generate(
        model="vidu2-reference", image_url=[first, "https://x.test/r.png"], aspect_ratio="1:1"
    )
    assert task.id


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"model": "viduq1-text", "prompt": "x", "image_url": "https://x.test/a.png"}, "does not take image_url"),
        ({"model": "viduq1-text"}, "needs a prompt"),
        ({"model": "cogvideox-3"}, "needs a prompt, an image_url, or both"),
        ({"model": "cogvideox-3", "prompt": "x" * 513}, "at most 512"),
        ({"model": "cogvideox-3", "prompt": "x", "duration": 7}, "takes duration 5, 10"),
        ({"model": "cogvideox-3", "prompt": "x", "size": "640x480"}, "takes size"),
        ({"model": "vidu2-image", "prompt": "x", "image_url": "https://x.test/a.png", "duration": 5}, "duration 4"),
        ({"model": "vidu2-start-end", "image_url": ["https://x.test/a.png"]}, "takes 2 image"),
        ({"model": "vidu2-image", "image_url": ms.png(1000, 100)}, "aspect ratio between 1:4 and 4:1"),
        ({"model": "vidu2-reference", "image_url": ms.png(100, 100)}, "at least 128x128"),
        ({"model": "cogvideox-3", "image_url": ms.gif_header(10, 10)}, "is a GIF file"),
        ({"model": "vidu2-start-end", "image_url": [ms.png(400, 400), ms.png(200, 200)]}, "differ too much"),
        (
            {
                "model": "cogvideox-3",
                "prompt": "x",
                "quality": "quality",
                "image_url": ["https://a/1.png", "https://a/2.png"],
            },
            "speed",
        ),
        ({"model": "sora", "prompt": "x"}, "not a video model"),
        ({"model": "cogvideox-3", "prompt": 42}, "prompt must be a string"),
        ({"model": "cogvideox-3", "prompt": "x", "duration": "5"}, "takes duration 5, 10 .got '5'"),
        ({"model": "cogvideox-3", "prompt": "x", "user_id": "abc"}, "user_id must be 6 to 128"),
    ],
)
def test_bad_video_requests_are_refused_before_sending(vclient, app, params, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=message) as err:
        vclient.videos.generate(**params)
    assert err.value.hint  # every refusal says how to fix it
    assert _sent(app, "/videos/generations") == 0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.videos.wait(""), "task_id is required"),
        (lambda c: c.videos.wait(12345), "task_id is required as a non-empty string .got a int"),
        (lambda c: c.videos.retrieve(None), "task_id is required"),
        (lambda c: c.videos.wait("vid1", pol=1), r"wait\(\) got unknown argument\(s\): pol.*poll"),
        (lambda c: c.videos.wait("vid1", poll="fast"), "poll must be a positive number of seconds"),
        (lambda c: c.videos.wait("vid1", timeout=-1), "timeout must be a positive number"),
        (lambda c: c.videos.wait("vid1", on_progress="print"), "on_progress must be a callable"),
        (lambda c: c.videos.download(None), "url must be an http"),
        (lambda c: c.images.wait("img1", poll=True), "poll must be a positive number"),
        (lambda c: c.images.retrieve(""), "task_id is required"),
    ],
)
def test_bad_wait_and_retrieve_arguments_are_refused_before_sending(vclient, app, call, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=message):
        call(vclient)
    assert app.state.emulator.requests == []


@pytest.mark.anyio
async def test_async_wait_save_and_fail(app, clock: Clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    aclient = async_offline_client(app, sleep=clock.asleep)
    try:
        task = await aclient.videos.generate(model="viduq1-text", prompt="a dragon", aspect_ratio="9:16")
        seen = []
        result = await aclient.videos.wait(task.id, poll=20, on_progress=seen.append)
        assert result.task_status == "SUCCESS" and seen[-1].status == "SUCCESS"
        path = await aclient.videos.save(result, tmp_path / "d.mp4")
        assert media.sniff_format(path.read_bytes()) == "mp4"
        bad = await aclient.videos.generate(model="cogvideox-3", prompt="[fail]")
        with pytest.raises(JobFailedError):
            await aclient.videos.wait(bad.id, poll=20)
        with pytest.raises(JobTimeoutError):
            await aclient.videos.wait((await aclient.videos.generate(model="cogvideox-3", prompt="y")).id, timeout=10)
    finally:
        await aclient.close()


@pytest.mark.anyio
async def test_async_wait_stops_when_its_task_is_cancelled(app, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    import anyio

    async def real_short_sleep(seconds: float) -> None:
        await anyio.sleep(0.01)  # the emulator's clock stands still: the job stays PROCESSING

    aclient = async_offline_client(app, sleep=real_short_sleep)
    try:
        task = await aclient.videos.generate(model="cogvideox-3", prompt="x")
        with anyio.move_on_after(0.2) as scope:
            await aclient.videos.wait(task.id, poll=0.001, timeout=10**9)
        assert scope.cancelled_caught
        await anyio.sleep(0.05)  # a poll already in flight may still land
        polls = _sent(app, "/async-result/")
        await anyio.sleep(0.1)
        assert _sent(app, "/async-result/") == polls  # nothing polls after cancellation
    finally:
        await aclient.close()
