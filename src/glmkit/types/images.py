"""Image generation: ``POST {base}/images/generations`` and the async variant (reference §5)."""

from __future__ import annotations

import base64
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Required

import pydantic

from glmkit._fileio import atomic_write
from glmkit.types._base import Endpoint
from glmkit.types._model import Model
from glmkit.types._params import RequestOptions

IMAGE_GENERATIONS = Endpoint("POST", "/images/generations", "general")
ASYNC_IMAGE_GENERATIONS = Endpoint("POST", "/async/images/generations", "general")
IMAGE_MODELS = ("glm-image", "cogview-4-250304")


class ImageGenerationParams(RequestOptions, total=False):
    """An image request."""

    model: str
    """``glm-image`` (default) or ``cogview-4-250304``."""
    prompt: Required[str]
    size: str
    """``WIDTHxHEIGHT``: a preset of the model, or a custom size within its range (see limits.toml)."""
    quality: str
    """``hd`` (default for glm-image, ≈20 s) or ``standard`` (≈5-10 s)."""
    user_id: str
    request_id: str
    watermark_enabled: bool
    n: int
    response_format: str
    style: str


class ImageData(Model):
    """One generated image (URLs expire after 30 days)."""

    url: str | None = None
    b64_json: str | None = None
    revised_prompt: str | None = None


class ContentFilter(Model):
    """A content-safety verdict: ``level`` 0 (most severe) to 3."""

    role: str | None = None
    level: int | None = None


def write_file(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write bytes to ``path`` through a temporary file and a rename (never a partial file)."""
    return atomic_write(path, data)


class ImagesResponse(Model):
    """Generated images; ``save(path)`` writes the first one to disk."""

    created: int | None = None
    data: list[ImageData] = []
    content_filter: list[ContentFilter] | None = None

    _download: Callable[[str], Any] | None = pydantic.PrivateAttr(default=None)

    @property
    def url(self) -> str | None:
        """The first image's URL."""
        return self.data[0].url if self.data else None

    def _inline_or_url(self, index: int) -> tuple[bytes | None, str]:
        """Image ``index`` as (its bytes, "") when inline base64, else (None, the URL to download)."""
        if not 0 <= index < len(self.data):
            raise IndexError(f"There is no image {index}; the response has {len(self.data)}.")
        item = self.data[index]
        if item.b64_json:
            return base64.b64decode(item.b64_json), ""
        if not item.url or self._download is None:
            raise ValueError("This response has no image URL to download (or was not made by a glmkit client).")
        return None, item.url

    def save(self, path: str | os.PathLike[str], *, index: int = 0) -> Path:
        """Download image ``index`` (or decode its base64) and write it to ``path`` atomically."""
        data, url = self._inline_or_url(index)
        return write_file(path, data if data is not None else self._download(url))  # type: ignore[misc]


class AsyncImagesResponse(ImagesResponse):
    """``ImagesResponse`` from ``AsyncClient``: ``await result.save(path)``."""

    async def save(self, path: str | os.PathLike[str], *, index: int = 0) -> Path:  # type: ignore[override]
        """Download image ``index`` and write it to ``path`` atomically."""
        data, url = self._inline_or_url(index)
        download: Callable[[str], Awaitable[bytes]] = self._download  # type: ignore[assignment]
        return write_file(path, data if data is not None else await download(url))


class ImageTask(Model):
    """An async image job (``glm-image`` only): poll with ``client.images.retrieve(task.id)``."""

    id: str
    model: str | None = None
    request_id: str | None = None
    task_status: str | None = None


class ImageTaskResult(Model):
    """An async image job's state; ``image_result`` once ``SUCCESS``."""

    id: str | None = None
    model: str | None = None
    task_status: str
    image_result: list[ImageData] = []
    request_id: str | None = None
    error: Any = None
