"""``client.videos``: submit a video job (CogVideoX-3, Vidu), poll it, ``wait`` for it, save the result.

Each model group takes its own fields (``[videos.groups]`` in ``data/limits.toml``); they are checked
before sending, and local images are checked and sent as data URLs.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, TypeVar

from typing_extensions import Unpack

from glmkit._errors import InputError
from glmkit._fileio import atomic_write
from glmkit._flows import Flow
from glmkit._resource import AsyncResource, SyncResource
from glmkit._transport import Call, split_options, with_options
from glmkit.media import MIME, check_image, data_url, image_size, limits, load_input, sniff_format
from glmkit.resources._tasks import check_prompt, download_call, require_id, waiting
from glmkit.types import JSONObject
from glmkit.types.videos import (
    VIDEO_GENERATIONS,
    VIDEO_RESULT,
    VideoGenerationParams,
    VideoTask,
    VideoTaskResult,
    WaitParams,
)

__all__ = ["AsyncVideos", "Videos", "prepare_video_params"]

_ALWAYS = {"model", "request_id", "user_id", "off_peak", "watermark_enabled", "sensitive_word_check"}


def _allowed(group: dict[str, Any], key: str, model: str) -> list[Any] | None:
    value = group.get(key)
    return value.get(model) if isinstance(value, dict) else value


def _one_of(model: str, name: str, value: Any, allowed: list[Any] | None) -> None:
    if value is not None and allowed is not None and value not in allowed:
        shown = ", ".join(str(a) for a in allowed)
        raise InputError(f"{model} takes {name} {shown} (got {value!r}).", hint=f"Pass one of: {shown}.")


def _image(source: Any, group: dict[str, Any], model: str, index: int) -> tuple[str, tuple[int, int] | None]:
    """One image as the API wants it (URL or data URL) and its size when known locally."""
    item = load_input(source, name=None)
    formats = group.get("image_formats", ["png", "jpeg"])
    if item.url is not None:
        return item.url, None
    info = check_image(
        item,
        formats=formats,
        max_bytes=group.get("image_max_bytes"),
        max_width=100_000,
        max_height=100_000,
        what=f"{model} image_url[{index}]",
    )
    size = (info.width, info.height)
    lo, hi = group.get("image_aspect", [0.0, float("inf")])
    if not lo <= info.width / info.height <= hi:
        raise InputError(
            f"{item.label} is {info.width}x{info.height}; {model} needs an aspect ratio between 1:4 and 4:1.",
            hint="Crop the image.",
        )
    min_side = group.get("image_min_side")
    if min_side and min(size) < min_side:
        raise InputError(
            f"{item.label} is {info.width}x{info.height}; {model} needs at least {min_side}x{min_side}.",
            hint="Use a larger reference image.",
        )
    return data_url(info.data, MIME[info.format]), size


def _data_url_size(url: str) -> tuple[int, int] | None:
    if not url.startswith("data:"):
        return None
    data = load_input(url).data or b""
    try:
        return image_size(data) if sniff_format(data) else None
    except ValueError:
        return None


def prepare_video_params(params: dict[str, Any]) -> JSONObject:
    """Check a video request against its model group and encode local images (reference §6)."""
    body = {k: v for k, v in params.items() if v is not None}
    cfg = limits("videos")
    model = str(body.get("model") or "")
    if model not in cfg["models"]:
        raise InputError(
            f"{model or 'model'} is not a video model." if model else "model is required for video generation.",
            hint=f"Use one of {', '.join(cfg['models'])}.",
        )
    group, common = cfg["groups"][cfg["models"][model]], cfg["common"]
    unknown = set(body) - set(group["fields"]) - _ALWAYS
    if unknown:
        raise InputError(
            f"{model} does not take {', '.join(sorted(unknown))}.", hint=f"It takes: {', '.join(group['fields'])}."
        )
    check_prompt(body.get("prompt"), common["prompt_max_chars"], "video prompts take", shorten="Shorten the prompt.")
    _prepare_images(body, group, model)
    _check_choices(body, group, common, model)
    uid = body.get("user_id")
    if uid is not None and not 6 <= len(str(uid)) <= 128:
        raise InputError("user_id must be 6 to 128 characters.", hint="Pass a stable id of your end user, or none.")
    return body


def _prepare_images(body: dict[str, Any], group: dict[str, Any], model: str) -> None:
    """Check the prompt/image needs and the image count, encode local images, compare start/end frames."""
    images = body.get("image_url")
    if images is not None and not isinstance(images, list | tuple):
        images = [images]
    images = list(images or [])
    lo, hi = group["images"]
    needs, prompt = group["needs"], body.get("prompt")
    if needs == "prompt" and not prompt:
        raise InputError(f"{model} needs a prompt.", hint="Describe the video in prompt=... (at most 512 characters).")
    if needs == "prompt_or_image" and not prompt and not images:
        raise InputError(f"{model} needs a prompt, an image_url, or both.", hint="Add prompt=... or image_url=....")
    if not lo <= len(images) <= hi:
        count = f"{lo}" if lo == hi else f"{lo} to {hi}"
        raise InputError(
            f"{model} takes {count} image(s) in image_url (got {len(images)}).",
            hint="Pick a model of another group for more or fewer images (see `glm models`).",
        )
    encoded = [_image(src, group, model, i) for i, src in enumerate(images)]
    if images:
        urls = [u for u, _ in encoded]
        body["image_url"] = urls[0] if hi == 1 else urls  # one image is a bare string (reference §6)
    if len(images) == 2 and model == "cogvideox-3" and body.get("quality") == "quality":
        raise InputError(
            "cogvideox-3 takes a first and last frame in quality='speed' mode only.",
            hint="Drop quality='quality', or send one image.",
        )
    ratio = group.get("start_end_ratio")
    if ratio and len(encoded) == 2:
        sizes = [s or _data_url_size(u) for u, s in encoded]
        if sizes[0] and sizes[1]:
            r = (sizes[0][0] * sizes[0][1]) / (sizes[1][0] * sizes[1][1])
            if not ratio[0] <= r <= ratio[1]:
                raise InputError(
                    f"{model}: the first and last frames differ too much in resolution ({r:.2f}; allowed 0.8-1.25).",
                    hint="Resize them to about the same size.",
                )


def _check_choices(body: dict[str, Any], group: dict[str, Any], common: dict[str, Any], model: str) -> None:
    """Each enumerated field against the model's list (limits.toml)."""
    for name, key in (("quality", "qualities"), ("size", "sizes"), ("fps", "fps"), ("duration", "durations")):
        _one_of(model, name, body.get(name), _allowed(group, key, model))
    _one_of(model, "style", body.get("style"), _allowed(group, "styles", model))
    _one_of(model, "aspect_ratio", body.get("aspect_ratio"), common["aspect_ratios"])
    _one_of(model, "movement_amplitude", body.get("movement_amplitude"), common["movement_amplitude"])
    if "with_audio" in body and not isinstance(body["with_audio"], bool):
        raise InputError("with_audio must be True or False.")


def generate_call(params: dict[str, Any]) -> Call[VideoTask]:
    """The ``Call`` submitting a video job."""
    params = dict(params)
    options = split_options(params)
    body = prepare_video_params(params)
    return with_options(Call(VIDEO_GENERATIONS, json=body, parse=VideoTask.model_validate_json), options)


R = TypeVar("R", bound=VideoTaskResult)


def retrieve_call(task_id: str, result: type[R]) -> Call[R]:
    """The ``Call`` polling a video job."""
    return Call(VIDEO_RESULT.format(id=require_id(task_id, "task_id")), parse=result.model_validate_json)


def _status(result: VideoTaskResult) -> str:
    return {"SUCCESS": "done", "FAIL": "failed"}.get(result.task_status, "pending")


def wait_flow(task_id: str, options: WaitParams, result: type[R]) -> Flow[R]:
    """Poll a video job (every 5 s at first, for at most 900 s unless ``options`` say otherwise)."""
    retrieve = functools.partial(retrieve_call, result=result)
    return waiting(task_id, retrieve, status_of=_status, what="video task", defaults=(5.0, 900.0), **options)


class Videos(SyncResource):
    """``client.videos``."""

    def generate(self, **params: Unpack[VideoGenerationParams]) -> VideoTask:
        """Submit a video job; ``wait(task.id)`` for the result.

        Raises:
            InputError: a field the model does not take, a value outside its list, or a bad image (nothing is sent).
        """
        return self._client._request(generate_call(dict(params)))

    generations = generate  # the official SDK's name

    def retrieve(self, task_id: str) -> VideoTaskResult:
        """The job's state (``PROCESSING``, ``SUCCESS``, ``FAIL``) and, once done, its video URLs."""
        return self._client._request(retrieve_call(task_id, VideoTaskResult))

    def wait(self, task_id: str, **options: Unpack[WaitParams]) -> VideoTaskResult:
        """Poll with backoff (from ``poll``, 5 s, up to 30 s) until SUCCESS; ``save(result, path)`` downloads it.

        Gives up after ``timeout`` (900 s by default).

        Raises:
            JobFailedError: the job ended FAIL (``.task_id``, ``.error``).
            JobTimeoutError: still running after ``timeout`` seconds (``.task_id``).
            OperationCancelledError: ``cancel`` was set (an event, or a callable returning True).
        """
        return self._client._run(wait_flow(task_id, options, VideoTaskResult))

    def download(self, url: str) -> bytes:
        """The bytes behind a video or cover URL."""
        return self._client._request(download_call(url))

    def save(self, result: VideoTaskResult, path: str | os.PathLike[str], *, index: int = 0) -> Path:
        """Download video ``index`` of a finished job to ``path`` atomically."""
        return atomic_write(path, self.download(result.video_url(index)))


class AsyncVideos(AsyncResource):
    """``client.videos`` on ``AsyncClient``."""

    async def generate(self, **params: Unpack[VideoGenerationParams]) -> VideoTask:
        """Submit a video job (see ``Videos.generate``)."""
        return await self._client._request(generate_call(dict(params)))

    generations = generate

    async def retrieve(self, task_id: str) -> VideoTaskResult:
        """The job's state and, once done, its video URLs."""
        return await self._client._request(retrieve_call(task_id, VideoTaskResult))

    async def wait(self, task_id: str, **options: Unpack[WaitParams]) -> VideoTaskResult:
        """Poll until SUCCESS (see ``Videos.wait``); cancelling the task also stops it."""
        return await self._client._run(wait_flow(task_id, options, VideoTaskResult))

    async def download(self, url: str) -> bytes:
        """The bytes behind a video or cover URL."""
        return await self._client._request(download_call(url))

    async def save(self, result: VideoTaskResult, path: str | os.PathLike[str], *, index: int = 0) -> Path:
        """Download video ``index`` of a finished job to ``path`` atomically."""
        return atomic_write(path, await self.download(result.video_url(index)))
