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

from glmkit.emulator.admission import admit, admit_json, error_response
from glmkit.emulator.audio import read_upload
from glmkit.emulator.chat import answer_text
from glmkit.emulator.state import EmulatorState
from glmkit.media import limits


def _jsonl_ok(data: bytes) -> bool:
    lines = [ln for ln in data.decode("utf-8", "replace").splitlines() if ln.strip()]
    try:
        return bool(lines) and all(isinstance(json.loads(ln), dict) for ln in lines)
    except ValueError:
        return False


def _page(items: list[dict[str, Any]], request: Request) -> dict[str, Any] | Response:
    """The cursor page the query asks for (``after`` an id, at most ``limit`` items), or a 400/1214."""
    query = request.query_params
    try:
        limit = int(query.get("limit") or 20)
    except ValueError:
        return error_response("1214", f"limit: {query.get('limit')} is not a number")
    after = query.get("after")
    if after:
        ids = [item["id"] for item in items]
        items = items[ids.index(after) + 1 :] if after in ids else []
    data = items[:limit]
    first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
    return {"object": "list", "data": data, "has_more": len(items) > limit, "first_id": first, "last_id": last}


def _answer(page: dict[str, Any] | Response) -> Response:
    return page if isinstance(page, Response) else JSONResponse(page)


def routes(state: EmulatorState) -> list[Route]:
    """File and batch routes."""
    files = _Files(state)
    batches = _Batches(state, files)
    return [
        Route("/files", files.create, methods=["POST"]),
        Route("/files", files.list, methods=["GET"]),
        Route("/files/{file_id}", files.delete, methods=["DELETE"]),
        Route("/files/{file_id}/content", files.content, methods=["GET"]),
        Route("/batches", batches.create, methods=["POST"]),
        Route("/batches", batches.list, methods=["GET"]),
        Route("/batches/{batch_id}", batches.get, methods=["GET"]),
        Route("/batches/{batch_id}/cancel", batches.cancel, methods=["POST"]),
    ]


class _Files:
    """Uploaded files, in memory."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.lim = limits("files")
        self.items: dict[str, dict[str, Any]] = state.extra.setdefault("files", {})

    def store(self, data: bytes, filename: str, purpose: str) -> dict[str, Any]:
        fid = self.state.new_id("file-")
        meta = {
            "id": fid,
            "object": "file",
            "bytes": len(data),
            "filename": filename,
            "purpose": purpose,
            "created_at": self.state.now(),
            "status": "processed",
        }
        self.items[fid] = {"meta": meta, "data": data}
        return meta

    async def create(self, request: Request) -> Response:
        early, _ = await admit(self.state, request)
        if early is not None:
            return early
        fields, data, filename = await read_upload(request)
        purpose, lim = fields.get("purpose"), self.lim
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
        return JSONResponse(self.store(data, filename or "upload", str(purpose)))

    async def list(self, request: Request) -> Response:
        early, _ = await admit(self.state, request)
        if early is not None:
            return early
        purpose = request.query_params.get("purpose")
        items = [f["meta"] for f in self.items.values() if not purpose or f["meta"]["purpose"] == purpose]
        if request.query_params.get("order", "desc") == "desc":
            items.reverse()
        return _answer(_page(items, request))

    async def _admitted(self, request: Request) -> tuple[str, Response | None]:
        early, _ = await admit(self.state, request)
        fid = request.path_params["file_id"]
        if early is None and fid not in self.items:
            early = error_response("1222", f"File {fid} does not exist", status=404)
        return fid, early

    async def delete(self, request: Request) -> Response:
        fid, bad = await self._admitted(request)
        if bad is not None:
            return bad
        del self.items[fid]
        return JSONResponse({"id": fid, "deleted": True, "object": "file"})

    async def content(self, request: Request) -> Response:
        fid, bad = await self._admitted(request)
        return bad or Response(self.items[fid]["data"], media_type="application/octet-stream")


class _Batches:
    """Batch jobs over uploaded JSONL files, moving on the emulator's clock."""

    def __init__(self, state: EmulatorState, files: _Files) -> None:
        self.state = state
        self.files = files
        self.items: dict[str, dict[str, Any]] = state.extra.setdefault("batches", {})

    def view(self, batch: dict[str, Any]) -> dict[str, Any]:
        out = dict(batch["meta"])
        if out["status"] in ("cancelled", "failed"):
            return out
        elapsed = self.state.clock() - batch["created"]
        seconds = self.state.config.job_seconds
        if elapsed < seconds:
            out["status"] = "in_progress" if elapsed >= seconds / 2 else "validating"
            return out
        if batch["meta"]["status"] != "completed":
            self.finish(batch)
        return dict(batch["meta"])

    def finish(self, batch: dict[str, Any]) -> None:
        state, meta = self.state, batch["meta"]
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
        out = self.files.store(("\n".join(lines) + "\n").encode("utf-8"), f"{meta['id']}_output.jsonl", "batch")
        n = len(batch["lines"])
        now = state.now()
        meta.update(status="completed", output_file_id=out["id"], in_progress_at=now, completed_at=now)
        meta["request_counts"] = {"completed": n, "failed": 0, "total": n}

    async def create(self, request: Request) -> Response:
        state = self.state
        body, bad = await admit_json(state, request)
        if bad is not None:
            return bad
        source = self.files.items.get(str(body.get("input_file_id")))
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
        self.items[bid] = {"meta": meta, "created": state.clock(), "lines": lines}
        return JSONResponse(meta)

    async def _admitted(self, request: Request) -> tuple[dict[str, Any], Response | None]:
        early, _ = await admit(self.state, request)
        if early is not None:
            return {}, early
        batch = self.items.get(request.path_params["batch_id"])
        if batch is None:
            return {}, error_response("1222", "Batch does not exist", status=404)
        return batch, None

    async def get(self, request: Request) -> Response:
        batch, bad = await self._admitted(request)
        return bad or JSONResponse(self.view(batch))

    async def list(self, request: Request) -> Response:
        early, _ = await admit(self.state, request)
        if early is not None:
            return early
        return _answer(_page([self.view(b) for b in self.items.values()], request))

    async def cancel(self, request: Request) -> Response:
        batch, bad = await self._admitted(request)
        if bad is not None:
            return bad
        if self.view(batch)["status"] != "completed":
            batch["meta"].update(status="cancelled", cancelled_at=self.state.now())
        return JSONResponse(self.view(batch))
