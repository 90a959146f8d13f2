"""Video generation: ``POST {base}/videos/generations``, polled at ``GET {base}/async-result/{id}`` (reference §6)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Required

from typing_extensions import TypedDict

from glmkit.types._base import Endpoint
from glmkit.types._model import Model
from glmkit.types._params import RequestOptions
from glmkit.types.chat import ASYNC_RESULT

VIDEO_GENERATIONS = Endpoint("POST", "/videos/generations", "general")
VIDEO_RESULT = ASYNC_RESULT  # the one poller shared by async chat, async images and videos


class VideoGenerationParams(RequestOptions, total=False):
    """A video request; which fields a model takes is in ``data/limits.toml`` under ``[videos.groups]``."""

    model: Required[str]
    """``cogvideox-3``, ``viduq1-text``, ``viduq1-image``, ``vidu2-image``, ``viduq1-start-end``,
    ``vidu2-start-end`` or ``vidu2-reference``."""
    prompt: str
    """At most 512 characters."""
    image_url: Any
    """A URL, data URL, path or bytes (or a list of them, per model): first frame, first+last, or references."""
    quality: str
    """cogvideox-3: ``speed`` (default) or ``quality``."""
    with_audio: bool
    size: str
    fps: int
    duration: int
    style: str
    aspect_ratio: str
    movement_amplitude: str
    request_id: str
    user_id: str
    off_peak: bool
    watermark_enabled: bool


class VideoTask(Model):
    """A submitted video job: wait with ``client.videos.wait(task.id)``."""

    id: str
    model: str | None = None
    request_id: str | None = None
    task_status: str | None = None


class VideoItem(Model):
    """One generated video and its cover image."""

    url: str | None = None
    cover_image_url: str | None = None


class VideoTaskResult(Model):
    """A video job's state (``PROCESSING``, ``SUCCESS`` or ``FAIL``) and, once done, its videos."""

    id: str | None = None
    model: str | None = None
    task_status: str
    video_result: list[VideoItem] = []
    request_id: str | None = None
    error: Any = None

    @property
    def url(self) -> str | None:
        """The first video's URL."""
        return self.video_result[0].url if self.video_result else None

    def video_url(self, index: int = 0) -> str:
        """The URL of video ``index``.

        Raises:
            ValueError: there is no video ``index`` (yet).
        """
        if not 0 <= index < len(self.video_result) or not self.video_result[index].url:
            raise ValueError(f"There is no video {index} (task status {self.task_status}).")
        return str(self.video_result[index].url)


AsyncVideoTaskResult = VideoTaskResult  # the name AsyncClient's results had while they could save themselves


@dataclass(frozen=True)
class TaskProgress:
    """Reported after each poll of an async job (video, image, agent)."""

    task_id: str
    status: str
    elapsed: float
    """Seconds since waiting began."""
    polls: int
    result: Any = None


class WaitParams(TypedDict, total=False):
    """How ``wait`` polls an async job (video, image, agent, batch); each resource has its own defaults."""

    poll: float
    """Seconds before the first polls; the gap then grows 1.5x per poll up to 30 s."""
    timeout: float
    """Seconds to wait at most before ``JobTimeoutError`` (the job goes on on the server)."""
    on_progress: Callable[[TaskProgress], Any] | None
    """Called with a ``TaskProgress`` after each poll."""
    cancel: Any
    """An event (``is_set()``) or a callable returning True: checked before each poll."""
