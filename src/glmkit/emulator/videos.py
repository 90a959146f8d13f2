"""``POST /videos/generations`` (reference §6): a job that is PROCESSING for ``job_seconds``, then SUCCESS.

Poll it at ``GET /async-result/{id}`` (``jobs.py``). The result URL serves a small MP4 and the cover a
PNG. A prompt containing ``[fail]`` makes the job end in FAIL (the error is what a content-filtered
generation reports, code 1301); ``[slow]`` makes it take ten times ``job_seconds``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from glmkit.emulator.admission import admit_json, error_response, unknown_model
from glmkit.emulator.images import add_media, media_url
from glmkit.emulator.state import EmulatorState
from glmkit.media import limits


def _image_problem(model: str, group: dict[str, Any], images: list[Any]) -> str | None:
    lo, hi = group["images"]
    if not lo <= len(images) <= hi:
        return f"image_url: {model} takes {lo}-{hi} images, got {len(images)}"
    for i, url in enumerate(images):
        if not isinstance(url, str) or not url:
            return f"image_url[{i}] must be a URL or base64 string"
        if url.startswith("data:"):
            header, _, payload = url.partition(",")
            try:
                size = len(base64.b64decode(payload, validate=True))
            except (binascii.Error, ValueError):
                return f"image_url[{i}] is not valid base64"
            if size > group.get("image_max_bytes", 1 << 62):
                return f"image_url[{i}] exceeds the {group['image_max_bytes'] // 1048576}MB limit"
            fmt = header[5:].split(";")[0].split("/")[-1]
            allowed = group.get("image_formats", [])
            if fmt.replace("jpg", "jpeg") not in allowed:
                return f"image_url[{i}] format {fmt} is not supported"
    return None


def routes(state: EmulatorState) -> list[Route]:
    """The video submit route (results come from the shared poller)."""
    cfg = limits("videos")

    async def generations(request: Request) -> Response:
        body, bad = await admit_json(state, request)
        if bad is not None:
            return bad
        model = body.get("model")
        if not isinstance(model, str) or model not in cfg["models"]:  # a list or an object is no model id either
            return unknown_model(model)
        group = cfg["groups"][cfg["models"][model]]
        prompt = str(body.get("prompt") or "")
        if len(prompt) > cfg["common"]["prompt_max_chars"]:
            return error_response("1261", "prompt exceeds the maximum length of 512 characters")
        images = body.get("image_url")
        images = [] if images is None else images if isinstance(images, list) else [images]
        if group["needs"] == "prompt" and not prompt:
            return error_response("1214", "prompt: Input cannot be empty")
        if group["needs"] == "prompt_or_image" and not prompt and not images:
            return error_response("1213", "prompt or image_url must be provided")
        problem = _image_problem(str(model), group, images)
        if problem:
            return error_response("1214", problem)
        task_id, job = _job(state, request, str(model), body, prompt)
        state.jobs[task_id] = job
        rid = job["request_id"]
        return JSONResponse(
            {"model": model, "id": task_id, "request_id": rid, "task_status": "PROCESSING"},
            headers={"X-Request-Id": rid},
        )

    return [Route("/videos/generations", generations, methods=["POST"])]


def _job(state: EmulatorState, request: Request, model: str, body: dict[str, Any], prompt: str) -> tuple[str, Any]:
    """A new video job (and its MP4 and cover PNG); ``[fail]``/``[slow]`` in the prompt steer it."""
    task_id = state.new_id("vid")
    duration = int(body.get("duration") or 5)
    add_media(state, f"{task_id}.mp4", {"kind": "mp4", "seconds": duration, "seed": prompt or task_id})
    add_media(state, f"{task_id}.png", {"kind": "png", "width": 320, "height": 180, "seed": prompt or task_id})
    video = {
        "url": media_url(state, request, f"{task_id}.mp4"),
        "cover_image_url": media_url(state, request, f"{task_id}.png"),
    }
    job: dict[str, Any] = {
        "kind": "video",
        "created": state.clock(),
        "model": model,
        "request_id": str(body.get("request_id") or task_id),
        "result": {"video_result": [video]},
    }
    if "[fail]" in prompt:
        job["fail"] = True
        job["error"] = {"code": "1301", "message": "The generated content may contain unsafe or sensitive material"}
    if "[slow]" in prompt:
        job["seconds"] = state.config.job_seconds * 10
    return task_id, job
