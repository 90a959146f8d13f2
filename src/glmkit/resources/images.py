"""``client.images``: generate images with GLM-Image or CogView-4; ``client.images.save(result, path)`` writes them.

Sizes are checked against each model's presets and custom-size rules (``data/limits.toml``) before sending.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

from typing_extensions import Unpack

from glmkit._errors import InputError
from glmkit._fileio import atomic_write
from glmkit._flows import Flow
from glmkit._resource import AsyncResource, SyncResource
from glmkit._transport import Call, split_options, with_options
from glmkit.media import limits
from glmkit.resources._tasks import download_call, require_id, waiting
from glmkit.types import JSONObject
from glmkit.types.chat import ASYNC_RESULT
from glmkit.types.images import (
    ASYNC_IMAGE_GENERATIONS,
    IMAGE_GENERATIONS,
    IMAGE_MODELS,
    ImageGenerationParams,
    ImagesResponse,
    ImageTask,
    ImageTaskResult,
)
from glmkit.types.videos import WaitParams

__all__ = ["AsyncImages", "Images", "check_size", "prepare_image_params"]

DEFAULT_MODEL = "glm-image"


def check_size(model: str, size: str) -> str:
    """A preset of the model, or a custom ``WxH`` within its range, multiple and pixel cap."""
    rule = limits("images")[model]
    if size in rule["presets"]:
        return size
    try:
        w, h = (int(x) for x in size.lower().split("x"))
    except ValueError:
        raise InputError(f"size must look like 1280x1280 (got {size!r}).") from None
    lo, hi, mult, cap = rule["min_side"], rule["max_side"], rule["multiple"], rule["max_pixels"]
    problem = None
    if not (lo <= w <= hi and lo <= h <= hi):
        problem = f"both sides must be {lo}-{hi} px"
    elif w % mult or h % mult:
        problem = f"both sides must be multiples of {mult}"
    elif w * h > cap:
        problem = f"the area must be at most {cap} px ({w * h} given)"
    if problem:
        raise InputError(f"{model} cannot make {size}: {problem}.", hint=f"Use a preset: {', '.join(rule['presets'])}.")
    return f"{w}x{h}"


def prepare_image_params(params: dict[str, Any], *, asynchronous: bool = False) -> JSONObject:
    """Check an image request (reference §5) and fill the model default."""
    body = {k: v for k, v in params.items() if v is not None}
    model = body["model"] = str(body.get("model") or DEFAULT_MODEL)
    if model not in IMAGE_MODELS:
        raise InputError(f"{model} is not an image model.", hint=f"Use one of {', '.join(IMAGE_MODELS)}.")
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        got = "" if prompt is None or isinstance(prompt, str) else f" (got a {type(prompt).__name__})"
        raise InputError(f"prompt is required as text{got}.", hint='Describe the image, e.g. prompt="a red fox".')
    if "size" in body:
        body["size"] = check_size(model, str(body["size"]))
    common = limits("images")["common"]
    quality = body.get("quality")
    if quality is not None and quality not in common["qualities"]:
        raise InputError(f"quality must be one of {', '.join(common['qualities'])} (got {quality!r}).")
    if asynchronous:
        if model != "glm-image":
            raise InputError("Async image generation is for glm-image only.", hint="Use images.generate(...) instead.")
        if quality not in (None, "hd"):
            raise InputError("Async glm-image jobs take quality='hd' only.")
    uid = body.get("user_id")
    lo, hi = limits("ids")["user_id_chars"]
    if uid is not None and not lo <= len(str(uid)) <= hi:
        raise InputError(f"user_id must be {lo} to {hi} characters.")
    return body


R = TypeVar("R", bound=ImagesResponse)


def generate_call(params: dict[str, Any], response: type[R]) -> Call[R]:
    """The ``Call`` for one image."""
    params = dict(params)
    options = split_options(params)
    body = prepare_image_params(params)
    return with_options(Call(IMAGE_GENERATIONS, json=body, parse=response.model_validate_json), options)


def submit_call(params: dict[str, Any]) -> Call[ImageTask]:
    """The ``Call`` submitting an async glm-image job."""
    params = dict(params)
    options = split_options(params)
    body = prepare_image_params(params, asynchronous=True)
    return with_options(Call(ASYNC_IMAGE_GENERATIONS, json=body, parse=ImageTask.model_validate_json), options)


def result_call(task_id: str) -> Call[ImageTaskResult]:
    """The ``Call`` polling an async image job."""
    return Call(ASYNC_RESULT.format(id=require_id(task_id, "task_id")), parse=ImageTaskResult.model_validate_json)


def _status(result: ImageTaskResult) -> str:
    return {"SUCCESS": "done", "FAIL": "failed"}.get(result.task_status, "pending")


def wait_flow(task_id: str, options: WaitParams) -> Flow[ImageTaskResult]:
    """Poll an async image job (every 2 s at first, for at most 300 s unless ``options`` say otherwise)."""
    return waiting(task_id, result_call, status_of=_status, what="image task", defaults=(2.0, 300.0), **options)


class Images(SyncResource):
    """``client.images``."""

    def generate(self, **params: Unpack[ImageGenerationParams]) -> ImagesResponse:
        """Generate one image; ``client.images.save(result, "out.png")`` writes it to disk.

        Raises:
            InputError: unknown model, empty prompt, or a size the model cannot make (nothing is sent).
        """
        return self._client._request(generate_call(dict(params), ImagesResponse))

    generations = generate  # the official SDK's name

    def download(self, url: str) -> bytes:
        """The bytes behind an image URL."""
        return self._client._request(download_call(url))

    def save(self, result: ImagesResponse, path: str | os.PathLike[str], *, index: int = 0) -> Path:
        """Write image ``index`` of ``result`` to ``path`` atomically (decoded from base64, or downloaded)."""
        data, url = result.image(index)
        return atomic_write(path, data if data is not None else self.download(url))

    def submit(self, **params: Unpack[ImageGenerationParams]) -> ImageTask:
        """Start an async glm-image job; ``wait(task.id)`` for the result."""
        return self._client._request(submit_call(dict(params)))

    def retrieve(self, task_id: str) -> ImageTaskResult:
        """An async image job's state."""
        return self._client._request(result_call(task_id))

    def wait(self, task_id: str, **options: Unpack[WaitParams]) -> ImageTaskResult:
        """Poll an async image job until SUCCESS (``poll`` 2 s, ``timeout`` 300 s by default).

        Raises:
            JobFailedError: the job ended FAIL.
            JobTimeoutError: still running after ``timeout`` seconds.
        """
        return self._client._run(wait_flow(task_id, options))


class AsyncImages(AsyncResource):
    """``client.images`` on ``AsyncClient``."""

    async def generate(self, **params: Unpack[ImageGenerationParams]) -> ImagesResponse:
        """Generate one image; ``await client.images.save(result, "out.png")`` writes it to disk."""
        return await self._client._request(generate_call(dict(params), ImagesResponse))

    generations = generate

    async def download(self, url: str) -> bytes:
        """The bytes behind an image URL."""
        return await self._client._request(download_call(url))

    async def save(self, result: ImagesResponse, path: str | os.PathLike[str], *, index: int = 0) -> Path:
        """Write image ``index`` of ``result`` to ``path`` atomically (see ``Images.save``)."""
        data, url = result.image(index)
        return atomic_write(path, data if data is not None else await self.download(url))

    async def submit(self, **params: Unpack[ImageGenerationParams]) -> ImageTask:
        """Start an async glm-image job."""
        return await self._client._request(submit_call(dict(params)))

    async def retrieve(self, task_id: str) -> ImageTaskResult:
        """An async image job's state."""
        return await self._client._request(result_call(task_id))

    async def wait(self, task_id: str, **options: Unpack[WaitParams]) -> ImageTaskResult:
        """Poll an async image job until SUCCESS (see ``Images.wait``)."""
        return await self._client._run(wait_flow(task_id, options))
