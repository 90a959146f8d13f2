"""``POST /tokenizer`` (reference §9): counts with the shared local estimate."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from glmkit._tokens import estimate_messages
from glmkit.emulator.app import EmulatorState, admit, error_response, read_json
from glmkit.emulator.chat import media_count
from glmkit.types.tokenizer import TOKENIZER_MODELS


def routes(state: EmulatorState) -> list[Route]:
    """The tokenizer route."""

    async def tokenizer(request: Request) -> Response:
        early, _ = await admit(state, request)
        if early is not None:
            return early
        body, bad = await read_json(request)
        if bad is not None:
            return bad
        assert body is not None
        if body.get("model") not in TOKENIZER_MODELS:
            return error_response("1211", f"Unknown Model, please check the model code: {body.get('model')}")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return error_response("1214", "messages: Input cannot be empty")
        media = media_count(messages)
        images, videos = media["image_url"] * 1000, media["video_url"] * 4000
        total = estimate_messages(messages)
        rid = state.new_id()
        usage = {
            "prompt_tokens": total - images - videos,
            "image_tokens": images,
            "video_tokens": videos,
            "total_tokens": total,
        }
        return JSONResponse(
            {"id": rid, "created": state.now(), "request_id": body.get("request_id", rid), "usage": usage}
        )

    return [Route("/tokenizer", tokenizer, methods=["POST"])]
