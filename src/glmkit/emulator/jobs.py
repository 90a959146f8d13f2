"""``GET /async-result/{id}``: the shared poller for async chat, async images and videos.

A job stays PROCESSING for ``job_seconds`` on the emulator's clock, then reports SUCCESS with its
result (or FAIL when it was created to fail). Modules create jobs in ``state.jobs``:
``{"kind", "created", "model", "request_id", "result": {...}, "fail": bool, "seconds": float?}``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from glmkit.emulator.admission import admit, error_response
from glmkit.emulator.state import EmulatorState


def job_view(state: EmulatorState, task_id: str, job: dict[str, Any]) -> dict[str, Any]:
    """The job as the poller shows it now."""
    elapsed = state.clock() - job["created"]
    seconds = job.get("seconds", state.config.job_seconds)
    view: dict[str, Any] = {"id": task_id, "model": job.get("model"), "request_id": job.get("request_id", task_id)}
    if elapsed < seconds:
        view["task_status"] = "PROCESSING"
        return view
    if job.get("fail"):
        # reference silent: the shape of a FAIL result (§2.7 names the status only); an error object is added
        view["task_status"] = "FAIL"
        view["error"] = job.get("error", {"code": "1230", "message": "Generation failed"})
        return view
    view["task_status"] = "SUCCESS"
    view.update(job.get("result", {}))
    return view


def routes(state: EmulatorState) -> list[Route]:
    """The poller route."""

    async def async_result(request: Request) -> Response:
        early, _ = await admit(state, request)
        if early is not None:
            return early
        task_id = request.path_params["task_id"]
        job = state.jobs.get(task_id)
        if job is None:
            # §13.2: a missing task is HTTP 404; reference silent on its business code (1222, "does not exist")
            return error_response("1222", f"Task {task_id} does not exist", status=404)
        return JSONResponse(job_view(state, task_id, job))

    return [Route("/async-result/{task_id}", async_result, methods=["GET"])]
