"""``GET /models`` and ``GET /models/{id}``: the plan's models on the coding surface, every chat model on the general one.

The coding surface still answers chat for models the plan does not list: live evidence §1 (charmbracelet/fantasy
cassettes, 2026-03-13) shows ``glm-4.7-flash``, not a plan model in ``data/models.toml``, answered 200 on
``/api/coding/paas/v4/chat/completions``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from glmkit.catalog import all_models
from glmkit.emulator.admission import admit, error_response
from glmkit.emulator.state import EmulatorState


def routes(state: EmulatorState) -> list[Route]:
    """The models route."""

    async def list_models(request: Request) -> Response:
        early, _ = await admit(state, request)
        if early is not None:
            return early
        # §3.4: an OpenAI-style list; reference silent on fields beyond data[].id, on whether the general list
        # includes non-chat models (it does not here) and on whether the plan lists ids it only routes (§3.3).
        return JSONResponse({"object": "list", "data": _listed(request)})

    async def retrieve_model(request: Request) -> Response:
        early, _ = await admit(state, request)
        if early is not None:
            return early
        # reference silent (§3.4): whether Z.AI serves GET /models/{id} and how it refuses an id it does not list;
        # here the listed entry, or 404 with 1211 (OpenAI clients expect 404 for an unknown model).
        wanted = request.path_params["model"].lower()
        found = next((m for m in _listed(request) if m["id"] == wanted), None)
        if found is None:
            return error_response("1211", f"Unknown Model, please check the model code: {wanted}", status=404)
        return JSONResponse(found)

    return [
        Route("/models", list_models, methods=["GET"]),
        Route("/models/{model:path}", retrieve_model, methods=["GET"]),
    ]


def _listed(request: Request) -> list[dict[str, object]]:
    from glmkit.emulator.chat_checks import EXTRA_MODELS

    coding = "/coding/" in request.url.path
    known = [m for m in all_models() if not m.inferred]  # the installed catalog, as the live API's own list
    extra = list(EXTRA_MODELS.values())  # `--extra-model`: released after the installed catalog
    return [
        {"id": m.id, "object": "model", "created": 0, "owned_by": "z-ai"}
        for m in known + extra
        if m.kind == "chat" and (m.plan or not coding)
    ]
