"""``POST /images/generations`` and ``/async/images/generations`` (reference §5), and the media the emulator serves.

Generated images are real PNGs drawn from the prompt (a colour and stripes from its hash), served at
``/_media/{name}`` on the surface that made them; video results and covers are served there too.
A prompt containing ``[unsafe]`` is refused with 1301, as the content filter does.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from glmkit.emulator.admission import admit, admit_json, error_response, unknown_model
from glmkit.emulator.state import EmulatorState
from glmkit.media import limits

MODELS = ("glm-image", "cogview-4-250304")


def png_bytes(width: int, height: int, seed: str) -> bytes:
    """A real RGB PNG: horizontal bands in two colours derived from ``seed``."""
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    a, b = digest[0:3], digest[3:6]
    band = max(1, height // 8)
    row_a, row_b = b"\x00" + a * width, b"\x00" + b * width
    raw = b"".join(row_a if (y // band) % 2 == 0 else row_b for y in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def mp4_bytes(seconds: int, seed: str) -> bytes:
    """A small ISO-BMFF file (ftyp, moov/mvhd with the duration, mdat): enough to be recognized as MP4."""

    def box(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", 8 + len(body)) + kind + body

    ftyp = box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41")
    mvhd_body = struct.pack(">BBBBIIII", 0, 0, 0, 0, 0, 0, 1000, seconds * 1000)
    mvhd_body += struct.pack(">IH", 0x00010000, 0x0100) + b"\x00" * 10
    mvhd_body += struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000) + b"\x00" * 24
    mvhd_body += struct.pack(">I", 2)
    payload = hashlib.sha256(seed.encode("utf-8")).digest() * 64
    return ftyp + box(b"moov", box(b"mvhd", mvhd_body)) + box(b"mdat", payload)


def media_url(state: EmulatorState, request: Request, name: str) -> str:
    """The absolute URL of a file the emulator serves."""
    return state.base_url(request) + str(request.app.url_path_for("emulator_media", name=name))


def add_media(state: EmulatorState, name: str, spec: dict[str, Any]) -> None:
    """Remember how to draw ``name`` (rendered on first download)."""
    state.extra.setdefault("media", {})[name] = spec


def _size(model: str, size: Any) -> tuple[int, int] | None:
    rule = limits("images")[model]
    size = str(size or rule["default_size"])
    try:
        w, h = (int(x) for x in size.lower().split("x"))
    except ValueError:
        return None
    if size in rule["presets"]:
        return w, h
    lo, hi, mult = rule["min_side"], rule["max_side"], rule["multiple"]
    if lo <= w <= hi and lo <= h <= hi and not w % mult and not h % mult and w * h <= rule["max_pixels"]:
        return w, h
    return None


def _check(body: dict[str, Any]) -> tuple[tuple[int, int] | None, Response | None]:
    model = body.get("model")
    if model not in MODELS:
        return None, unknown_model(model)
    if not str(body.get("prompt") or "").strip():
        return None, error_response("1214", "prompt: Input cannot be empty")
    size = _size(str(model), body.get("size"))
    if size is None:
        return None, error_response("1214", f"size: {body.get('size')} is not a supported size for {model}")
    if body.get("quality") not in (None, "hd", "standard"):
        return None, error_response("1214", f"quality: {body.get('quality')} is invalid")
    if "[unsafe]" in str(body.get("prompt")):  # the emulator's marker for a prompt the content filter blocks
        return None, error_response("1301", "System detected potentially unsafe or sensitive content in input")
    return size, None


def routes(state: EmulatorState) -> list[Route]:
    """Image generation routes and the media route."""

    def new_image(request: Request, body: dict[str, Any], size: tuple[int, int]) -> str:
        name = f"img-{state.new_id()}.png"
        add_media(state, name, {"kind": "png", "width": size[0], "height": size[1], "seed": str(body.get("prompt"))})
        return media_url(state, request, name)

    async def generations(request: Request) -> Response:
        body, bad = await admit_json(state, request)
        if bad is not None:
            return bad
        size, bad = _check(body)
        if bad is not None:
            return bad
        assert size is not None
        url = new_image(request, body, size)
        rid = str(body.get("request_id") or state.new_id())
        return JSONResponse(
            {"created": state.now(), "data": [{"url": url}], "content_filter": [{"role": "assistant", "level": 3}]},
            headers={"X-Request-Id": rid},
        )

    async def async_generations(request: Request) -> Response:
        body, bad = await admit_json(state, request)
        if bad is not None:
            return bad
        if body.get("model") != "glm-image":
            return error_response("1212", f"Model {body.get('model')} does not support async generation")
        if body.get("quality") not in (None, "hd"):  # reference §5: async glm-image takes hd only
            return error_response("1214", f"quality: {body.get('quality')} is invalid for async generation")
        size, bad = _check(body)
        if bad is not None:
            return bad
        assert size is not None
        task_id = state.new_id("img")
        rid = str(body.get("request_id") or task_id)
        state.jobs[task_id] = {
            "kind": "image",
            "created": state.clock(),
            "model": "glm-image",
            "request_id": rid,
            "result": {"image_result": [{"url": new_image(request, body, size)}]},
        }
        return JSONResponse({"model": "glm-image", "id": task_id, "request_id": rid, "task_status": "PROCESSING"})

    return [
        Route("/images/generations", generations, methods=["POST"]),
        Route("/async/images/generations", async_generations, methods=["POST"]),
        _media_route(state),
    ]


def _media_route(state: EmulatorState) -> Route:
    """``GET /_media/{name}``: the images, videos and files the emulator handed out, drawn on request."""

    async def media(request: Request) -> Response:
        early, _ = await admit(state, request, auth=False)
        if early is not None:
            return early
        spec = state.extra.get("media", {}).get(request.path_params["name"])
        if spec is None:
            return Response(b"Not Found", 404, media_type="text/plain")
        if spec["kind"] == "png":
            return Response(png_bytes(spec["width"], spec["height"], spec["seed"]), media_type="image/png")
        if spec["kind"] == "mp4":
            return Response(mp4_bytes(spec["seconds"], spec["seed"]), media_type="video/mp4")
        return Response(spec["data"], media_type=spec.get("mime", "application/octet-stream"))

    return Route("/_media/{name}", media, methods=["GET"], name="emulator_media")
