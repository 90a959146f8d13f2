"""Image generation: ``POST {base}/images/generations`` and the async variant (reference §5)."""

from __future__ import annotations

import base64
from typing import Any, Required

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


class ImagesResponse(Model):
    """Generated images; ``client.images.save(result, path)`` writes one to disk."""

    created: int | None = None
    data: list[ImageData] = []
    content_filter: list[ContentFilter] | None = None

    @property
    def url(self) -> str | None:
        """The first image's URL."""
        return self.data[0].url if self.data else None

    def image(self, index: int = 0) -> tuple[bytes | None, str]:
        """Image ``index`` as (its bytes, "") when inline base64, else (None, the URL to download it from).

        Raises:
            IndexError: the response has no image ``index``.
            ValueError: the image has neither base64 nor a URL.
        """
        if not 0 <= index < len(self.data):
            raise IndexError(f"There is no image {index}; the response has {len(self.data)}.")
        item = self.data[index]
        if item.b64_json:
            return base64.b64decode(item.b64_json), ""
        if not item.url:
            raise ValueError("This response has no image URL to download.")
        return None, item.url


AsyncImagesResponse = ImagesResponse  # the name AsyncClient's results had while they could save themselves


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
