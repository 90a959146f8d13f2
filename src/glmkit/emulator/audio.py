"""``POST /audio/transcriptions`` (reference §4): deterministic text from the audio's length and bytes, SSE on request.

Uploads are checked as the API documents them (WAV/MP3, ≤ 25 MB, ≤ 30 s). The exact code and message
the real service returns for each of these is UNVERIFIED: the emulator answers 400 with business
code 1214 ("field invalid") and a message naming the limit.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from glmkit._sse import encode_data
from glmkit.emulator.admission import admit, error_response, unknown_model
from glmkit.emulator.state import EmulatorState
from glmkit.media import audio_duration, limits, sniff_format

_WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]


async def read_upload(request: Request, field: str = "file") -> tuple[dict[str, Any], bytes | None, str | None]:
    """A multipart or JSON body: (other fields, file bytes, file name). Base64 goes in ``<field>_base64``."""
    ctype = request.headers.get("content-type", "")
    fields: dict[str, Any] = {}
    data: bytes | None = None
    filename: str | None = None
    if ctype.startswith("multipart/form-data"):
        form = await request.form(max_part_size=64 * 1024 * 1024)
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if key == field:
                    data = await value.read()
                    filename = value.filename
                continue
            name = key[:-2] if key.endswith("[]") else key
            if name in fields:
                prev = fields[name]
                fields[name] = [*prev, value] if isinstance(prev, list) else [prev, value]
            else:
                fields[name] = [value] if key.endswith("[]") else value
        await form.close()
    else:
        raw = await request.body()
        if raw:
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                fields = parsed
    b64 = fields.pop(f"{field}_base64", None)
    if data is None and isinstance(b64, str) and b64:
        try:
            data = base64.b64decode(b64.split(",", 1)[-1], validate=True)
        except (binascii.Error, ValueError):
            data = b""
    return fields, data, filename


def _bool(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1", "yes"))


def transcript(seconds: float, data: bytes, hotwords: list[str]) -> str:
    """The emulator's deterministic transcript."""
    digest = hashlib.sha256(data).digest()
    words = " ".join(_WORDS[b % len(_WORDS)] for b in digest[:4])
    text = f"Emulated transcript of {seconds:.1f} seconds: {words}."
    if hotwords:
        text += " Hotwords: " + ", ".join(hotwords) + "."
    return text


def routes(state: EmulatorState) -> list[Route]:
    """The transcription route."""
    lim = limits("audio")

    async def transcriptions(request: Request) -> Response:
        early, _ = await admit(state, request)
        if early is not None:
            return early
        fields, data, filename = await read_upload(request)
        model = fields.get("model") or ""
        if model != "glm-asr-2512":
            return unknown_model(model)
        if not data:
            return error_response("1213", "file: the audio file was not received properly")
        if len(data) > lim["max_bytes"]:
            return error_response("1214", "file: audio file size exceeds the 25MB limit")
        ext = (filename or "").rsplit(".", 1)[-1].lower() if filename and "." in filename else None
        fmt = sniff_format(data)
        if (ext is not None and ext not in lim["formats"]) or fmt not in lim["formats"]:
            return error_response("1214", "file: unsupported audio format, only wav and mp3 are supported")
        assert fmt is not None
        try:
            seconds = audio_duration(data, fmt)
        except (ValueError, EOFError):
            return error_response("1214", "file: the audio file could not be decoded")
        if seconds > lim["max_seconds"] + 1e-6:
            return error_response("1214", "file: audio duration exceeds the 30 second limit")
        hotwords = fields.get("hotwords") or []
        if isinstance(hotwords, str):
            hotwords = json.loads(hotwords) if hotwords.startswith("[") else [hotwords]
        text = transcript(seconds, data, [str(h) for h in hotwords])
        rid = str(fields.get("request_id") or state.new_id())
        head = {"id": rid, "created": state.now(), "model": model}
        if _bool(fields.get("stream")):
            return StreamingResponse(_events(head, text), media_type="text/event-stream", headers={"X-Request-Id": rid})
        return JSONResponse({**head, "request_id": rid, "text": text}, headers={"X-Request-Id": rid})

    return [Route("/audio/transcriptions", transcriptions, methods=["POST"])]


async def _events(head: dict[str, Any], text: str) -> AsyncIterator[bytes]:
    words = text.split(" ")
    for i, word in enumerate(words):
        delta = word if i == len(words) - 1 else word + " "
        yield encode_data(json.dumps({**head, "type": "transcript.text.delta", "delta": delta}))
    yield encode_data(json.dumps({**head, "type": "transcript.text.done", "delta": ""}))
    yield encode_data("[DONE]")
