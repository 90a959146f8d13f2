"""``/files`` and ``/batches`` (reference §10.4, §12; UNVERIFIED on api.z.ai, shapes from the SDK).

Files live in memory. Over 100 MB → HTTP 435 (§13.2; the business code is UNVERIFIED, 1214 here);
a ``batch`` file whose lines are not JSON objects → 400/1214 (§13.2 "bad JSONL file content").
A batch is ``validating`` → ``in_progress`` → ``completed`` over ``job_seconds``; on completion its
output file holds one emulated chat completion per input line.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from glmkit.emulator.app import EmulatorState, admit, admit_json, error_response
from glmkit.emulator.audio import read_upload
from glmkit.emulator.chat import answer_text
from glmkit.media import limits


def _jsonl_ok(data: bytes) -> bool:
    lines = [ln for ln in data.decode("utf-8", "replace").splitlines() if ln.strip()]
    try:
        return bool(lines) and all(isinstance(json.loads(ln), dict) for ln in lines)
    except ValueError:
        return False


def routes(state: EmulatorState) -> list[Route]:
    """File and batch routes."""
    lim = limits("files")
    files: dict[str, dict[str, Any]] = state.extra.setdefault("files", {})
    batches: dict[str, dict[str, Any]] = state.extra.setdefault("batches", {})

    def store(data: bytes, filename: str, purpose: str) -> dict[str, Any]:
        fid = state.new_id("file-")
        meta = {
            "id": fid,
            "object": "file",
            "bytes": len(data),
            "filename": filename,
            "purpose": purpose,
            "created_at": state.now(),
            "status": "processed",
        }
        files[fid] = {"meta": meta, "data": data}
        return meta

    async def create(request: Request) -> Response:
        early, _ = await admit(state, request)
        if early is not None:
            return early
        fields, data, filename = await read_upload(request)
        purpose = fields.get("purpose")
        if purpose not in lim["purposes"]:
            return error_response("1214", f"purpose: {purpose} is invalid")
        if data is None:
            return error_response("1213", "file: the file was not received properly")
        if len(data) > lim["max_bytes"]:
            return error_response("1214", "File size exceeds the 100MB limit", status=435)
        ext = (filename or "").rsplit(".", 1)[-1].lower()
        if purpose == "agent" and ext not in lim["agent_extensions"]:
            return error_response("1214", f"file: .{ext} files are not supported for purpose agent")
        if purpose == "batch" and not _jsonl_ok(data):
            return error_response("1214", "file: the JSONL content is invalid")
        return JSONResponse(store(data, filename or "upload", str(purpose)))

    async def list_files(request: Request) -> Response:
        early, _ = await admit(state, request)
        if early is not None:
            return early
        q = request.query_params
        items = [f["meta"] for f in files.values() if not q.get("purpose") or f["meta"]["purpose"] == q["purpose"]]
        if q.get("order", "desc") == "desc":
            items.reverse()
        if q.get("after"):
            ids = [m["id"] for m in items]
            items = items[ids.index(q["after"]) + 1 :] if q["after"] in ids else []
        limit = int(q.get("limit") or 20)
        return JSONResponse({"object": "list", "data": items[:limit], "has_more": len(items) > limit})

    async def admitted_file(request: Request) -> tuple[str, Response | None]:
        early, _ = await admit(state, request)
        fid = request.path_params["file_id"]
        if early is None and fid not in files:
            early = error_response("1222", f"File {fid} does not exist", status=404)
        return fid, early

    async def delete(request: Request) -> Response:
        fid, bad = await admitted_file(request)
        if bad is not None:
            return bad
        del files[fid]
        return JSONResponse({"id": fid, "deleted": True, "object": "file"})

    async def content(request: Request) -> Response:
        fid, bad = await admitted_file(request)
        return bad or Response(files[fid]["data"], media_type="application/octet-stream")

    def view(batch: dict[str, Any]) -> dict[str, Any]:
        out = dict(batch["meta"])
        if out["status"] in ("cancelled", "failed"):
            return out
        elapsed = state.clock() - batch["created"]
        seconds = state.config.job_seconds
        if elapsed < seconds:
            out["status"] = "in_progress" if elapsed >= seconds / 2 else "validating"
            return out
        if batch["meta"]["status"] != "completed":
            finish(batch)
        return dict(batch["meta"])

    def finish(batch: dict[str, Any]) -> None:
        meta = batch["meta"]
        lines = []
        for line in batch["lines"]:
            body = line.get("body") or {}
            model = str(body.get("model") or "glm-4.7")
            text = answer_text(model, body.get("messages") or [])
            completion = {
                "id": state.new_id(),
                "object": "chat.completion",
                "created": state.now(),
                "model": model,
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
            }
            response = {"status_code": 200, "request_id": completion["id"], "body": completion}
            lines.append(json.dumps({"custom_id": line.get("custom_id"), "response": response}, ensure_ascii=False))
        out = store(("\n".join(lines) + "\n").encode("utf-8"), f"{meta['id']}_output.jsonl", "batch")
        n = len(batch["lines"])
        now = state.now()
        meta.update(status="completed", output_file_id=out["id"], in_progress_at=now, completed_at=now)
        meta["request_counts"] = {"completed": n, "failed": 0, "total": n}

    async def create_batch(request: Request) -> Response:
        body, bad = await admit_json(state, request)
        if bad is not None:
            return bad
        source = files.get(str(body.get("input_file_id")))
        if source is None or source["meta"]["purpose"] != "batch":
            return error_response("1214", f"input_file_id: {body.get('input_file_id')} is not a batch file")
        if body.get("endpoint") not in ("/v1/chat/completions", "/v1/embeddings"):
            return error_response("1214", f"endpoint: {body.get('endpoint')} is invalid")
        bid = state.new_id("batch_")
        lines = [json.loads(ln) for ln in source["data"].decode("utf-8").splitlines() if ln.strip()]
        meta = {
            "id": bid,
            "object": "batch",
            "endpoint": body["endpoint"],
            "input_file_id": body["input_file_id"],
            "completion_window": body.get("completion_window", "24h"),
            "status": "validating",
            "created_at": state.now(),
            "request_counts": {"completed": 0, "failed": 0, "total": len(lines)},
            "metadata": body.get("metadata"),
        }
        batches[bid] = {"meta": meta, "created": state.clock(), "lines": lines}
        return JSONResponse(meta)

    async def admitted_batch(request: Request) -> tuple[dict[str, Any], Response | None]:
        early, _ = await admit(state, request)
        if early is not None:
            return {}, early
        batch = batches.get(request.path_params["batch_id"])
        if batch is None:
            return {}, error_response("1222", "Batch does not exist", status=404)
        return batch, None

    async def get_batch(request: Request) -> Response:
        batch, bad = await admitted_batch(request)
        return bad or JSONResponse(view(batch))

    async def list_batches(request: Request) -> Response:
        early, _ = await admit(state, request)
        if early is not None:
            return early
        items = [view(b) for b in batches.values()]
        limit = int(request.query_params.get("limit") or 20)
        first = items[0]["id"] if items else None
        last = items[min(limit, len(items)) - 1]["id"] if items else None
        return JSONResponse(
            {
                "object": "list",
                "data": items[:limit],
                "has_more": len(items) > limit,
                "first_id": first,
                "last_id": last,
            }
        )

    async def cancel_batch(request: Request) -> Response:
        batch, bad = await admitted_batch(request)
        if bad is not None:
            return bad
        if view(batch)["status"] != "completed":
            batch["meta"].update(status="cancelled", cancelled_at=state.now())
        return JSONResponse(view(batch))

    return [
        Route("/files", create, methods=["POST"]),
        Route("/files", list_files, methods=["GET"]),
        Route("/files/{file_id}", delete, methods=["DELETE"]),
        Route("/files/{file_id}/content", content, methods=["GET"]),
        Route("/batches", create_batch, methods=["POST"]),
        Route("/batches", list_batches, methods=["GET"]),
        Route("/batches/{batch_id}", get_batch, methods=["GET"]),
        Route("/batches/{batch_id}/cancel", cancel_batch, methods=["POST"]),
    ]
