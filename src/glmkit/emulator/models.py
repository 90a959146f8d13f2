"""``GET /models``: the plan's models on the coding surface, every chat model on the general one."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from glmkit.catalog import all_models
from glmkit.emulator.app import EmulatorState, admit


def routes(state: EmulatorState) -> list[Route]:
    """The models route."""

    async def list_models(request: Request) -> Response:
        early, _ = await admit(state, request)
        if early is not None:
            return early
        # §3.4: an OpenAI-style list; reference silent on fields beyond data[].id, on whether the general list
        # includes non-chat models (it does not here) and on whether the plan lists ids it only routes (§3.3).
        coding = "/coding/" in request.url.path
        data = [
            {"id": m.id, "object": "model", "created": 0, "owned_by": "z-ai"}
            for m in all_models()
            if m.kind == "chat" and (m.plan or not coding)
        ]
        return JSONResponse({"object": "list", "data": data})

    return [Route("/models", list_models, methods=["GET"])]
