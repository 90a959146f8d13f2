"""``generate_image``: GLM-Image (or CogView-4) draws a picture and saves it where the agent says."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from glmkit.mcp_server.paths import local_path
from glmkit.mcp_server.registry import tool
from glmkit.mcp_server.runtime import current_runtime, note
from glmkit.media import limits
from glmkit.resources.images import DEFAULT_MODEL
from glmkit.types.images import IMAGE_MODELS

__all__ = ["generate_image"]

_RULE = limits("images")[DEFAULT_MODEL]
_QUALITIES = tuple(limits("images")["common"]["qualities"])
_SHOW_MAX_BYTES = 4 * 1024 * 1024  # larger files are saved but not echoed back as image content


@tool("image")
async def generate_image(
    prompt: Annotated[
        str,
        Field(description="What to draw: subject, style, composition, colours, any text to show.", min_length=1),
    ],
    output_path: Annotated[
        str,
        Field(description="Where to save the image, e.g. 'assets/hero.png' (folders are created).", min_length=1),
    ],
    size: Annotated[
        str | None,
        Field(
            description=f"Optional WIDTHxHEIGHT. {DEFAULT_MODEL} presets: {', '.join(_RULE['presets'])} (default "
            f"{_RULE['default_size']}); custom sizes need sides of {_RULE['min_side']}-{_RULE['max_side']} px in "
            f"steps of {_RULE['multiple']}."
        ),
    ] = None,
    quality: Annotated[
        Literal[_QUALITIES] | None,  # type: ignore[valid-type]
        Field(description=f"'hd' (richer, ~20 s) or 'standard' (faster); default {_RULE['default_quality']}."),
    ] = None,
    model: Annotated[
        Literal[IMAGE_MODELS] | None,  # type: ignore[valid-type]
        Field(description=f"{' or '.join(IMAGE_MODELS)} (default {DEFAULT_MODEL})."),
    ] = None,
    overwrite: Annotated[bool, Field(description="Replace output_path if a file is already there.")] = False,
    return_image: Annotated[bool, Field(description="Also return the picture itself so you can look at it.")] = True,
) -> Any:
    """Generate an image from a description (illustrations, icons, mock-ups, placeholders) and save it to a file."""
    from mcp.server.mcpserver import Image

    from glmkit._errors import InputError
    from glmkit.media import sniff_format

    target = local_path(output_path)
    if target.is_dir():  # before the overwrite check: overwrite=true would not help here
        raise InputError(f"{target} is a folder.", hint="Give a file name, e.g. hero.png.")
    if target.exists() and not overwrite:
        raise InputError(
            f"{target} already exists.", hint="Choose another output_path, or pass overwrite=true to replace it."
        )
    options: dict[str, Any] = {k: v for k, v in (("size", size), ("quality", quality), ("model", model)) if v}
    images = current_runtime().client.images
    result = await images.generate(prompt=prompt, **options)
    note(model_requested=model or DEFAULT_MODEL, model_used=model or DEFAULT_MODEL)
    target.parent.mkdir(parents=True, exist_ok=True)
    saved = await images.save(result, target)
    data = saved.read_bytes()
    fmt = sniff_format(data) or "unknown"
    text = f"Saved a {fmt.upper()} image ({len(data)} bytes) to {saved}."
    if result.url:
        text += f" Source URL (expires in 30 days): {result.url}"
    if fmt != "unknown" and saved.suffix.lower().lstrip(".") not in (fmt, "jpg" if fmt == "jpeg" else fmt):
        text += f" Note: the file is {fmt.upper()} but its name ends in {saved.suffix or 'nothing'}."
    if return_image and fmt in ("png", "jpeg", "webp", "gif") and len(data) <= _SHOW_MAX_BYTES:
        return [text, Image(data=data, format=fmt)]
    return text
