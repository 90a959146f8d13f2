"""``POST /tokenizer`` (reference §9): counts with the shared local estimate.

``model`` is one of the documented enum (``glm-4.6``, ``glm-4.6v``, ``glm-4.5``); ``messages`` takes the vision
chat schema; ``tools`` at most 128; ``request_id`` 6-64 and ``user_id`` 6-128 characters.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from glmkit._tokens import estimate_messages, estimate_tools
from glmkit.emulator.admission import json_route, unknown_model
from glmkit.emulator.chat_answers import media_count
from glmkit.emulator.chat_checks import check_ids, check_messages, check_tools
from glmkit.emulator.faults import Fault
from glmkit.emulator.state import EmulatorState
from glmkit.types.tokenizer import TOKENIZER_MODELS

PART_TOKENS = 1000
"""What ``_tokens.estimate_messages`` (and so the chat usage) counts for each media part.
reference silent: what a part really costs; one figure keeps /tokenizer and the chat usage in agreement."""


def count(body: dict[str, Any]) -> dict[str, int]:
    """The usage object: the chat usage's prompt estimate plus the tool definitions, images and videos apart."""
    media = media_count(body["messages"])
    tools = estimate_tools(body.get("tools"))
    total = estimate_messages(body["messages"]) + tools
    images, videos = PART_TOKENS * media["image_url"], PART_TOKENS * media["video_url"]
    return {
        "prompt_tokens": total - images - videos,
        "image_tokens": images,
        "video_tokens": videos,
        "total_tokens": total,
    }


def routes(state: EmulatorState) -> list[Route]:
    """The tokenizer route."""

    def tokenizer(request: Request, body: dict[str, Any], fault: Fault | None) -> Response:
        # reference silent: whether newer model ids are accepted (§9, errata 22); only the documented enum is.
        if body["model"] not in TOKENIZER_MODELS:
            return unknown_model(body["model"])
        invalid = (
            check_messages(body.get("messages"), None)
            or check_tools(body.get("tools"))
            or check_ids(body, request_id_length=True)
        )
        if invalid is not None:
            return invalid
        rid = state.new_id()
        return JSONResponse(
            {"id": rid, "created": state.now(), "request_id": body.get("request_id") or rid, "usage": count(body)}
        )

    # reference silent: whether /tokenizer answers on the coding base (§1.1 treats it as chat-only); it does here.
    # reference silent: §9 marks model both required and defaulting to glm-4.6; it is treated as required.
    return [json_route(state, "/tokenizer", tokenizer, required=("model",))]
