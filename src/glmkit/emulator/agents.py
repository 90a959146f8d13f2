"""``/api/v1/agents`` (+ ``/async-result``, ``/conversation``) (reference §10), also below ``/api/paas/v4``.

- ``general_translation``: "[<target>] <text>", under ``choices[].messages`` as the docs show; SSE
  with ``choices[].delta`` when ``stream`` is true.
- ``slides_glm_agent``: thinking, one ``insert_page`` tool call per page (HTML output), an answer;
  streams by default (the schema's default). ``conversation`` exports a zip of the pages' HTML
  (a stand-in for the real .pptx, which the emulator does not draw) and, on request, a PDF.
- ``vidu_template_agent``: ``pending`` for ``job_seconds``, then ``success`` with a video URL;
  ``[fail]`` in the text makes it ``failed``.
Errors use the agents' envelope ``{"status": "failed", "agent_id", "error": {"code", "message"}}``.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from glmkit._errors import code_row
from glmkit._sse import encode_data
from glmkit.emulator.admission import admit_json
from glmkit.emulator.images import add_media, media_url
from glmkit.emulator.state import EmulatorState
from glmkit.media import limits


def agent_error(agent_id: Any, code: str, message: str) -> JSONResponse:
    """The agents' error envelope with the code's HTTP status."""
    body = {"status": "failed", "agent_id": agent_id, "error": {"code": code, "message": message}}
    return JSONResponse(body, status_code=code_row(code).status)


def _text(messages: Any) -> tuple[str | None, list[str]]:
    """(joined text, image URLs), or (None, []) when the content is not a list of parts."""
    texts: list[str] = []
    images: list[str] = []
    if not isinstance(messages, list) or not messages:
        return None, []
    for m in messages:
        content = m.get("content") if isinstance(m, dict) else None
        if not isinstance(content, list):
            return None, []
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text":
                texts.append(str(part.get("text", "")))
            elif isinstance(part, dict) and part.get("type") == "image_url":
                images.append(str(part.get("image_url")))
    return " ".join(texts), images


def _sse(chunks: list[dict[str, Any]]) -> StreamingResponse:
    async def gen() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield encode_data(json.dumps(chunk, ensure_ascii=False))
        yield encode_data("[DONE]")

    return StreamingResponse(gen(), media_type="text/event-stream")


def _page_html(topic: str, n: int, total: int) -> str:
    return (
        f"<html><body style='width:960px;height:540px'><h1>{topic}</h1>"
        f"<p>Page {n} of {total}: emulated slide about {topic}.</p></body></html>"
    )


def _pdf(pages: int) -> bytes:
    kids = " ".join(f"{3 + i} 0 R" for i in range(pages))
    objs = ["<< /Type /Catalog /Pages 2 0 R >>", f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>"]
    objs += ["<< /Type /Page /Parent 2 0 R /MediaBox [0 0 960 540] >>"] * pages
    out = b"%PDF-1.4\n" + b"".join(f"{i} 0 obj\n{o}\nendobj\n".encode() for i, o in enumerate(objs, 1))
    return out + b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"


def routes(state: EmulatorState) -> list[Route]:
    """The same routes below ``/paas/v4`` (and the coding surface), where the official SDK sends them.

    The reference (§1.1, errata 21) places agents at ``/api/v1/agents`` and glmkit's client posts
    there; the official zai-sdk appends ``/v1/agents`` to its one base URL, so with the default base it
    posts to ``/api/paas/v4/v1/agents``. Whether the real service answers there is UNVERIFIED; the
    emulator answers on both paths, from the same state, so the SDK works against it.
    """
    return root_routes(state)


def root_routes(state: EmulatorState) -> list[Route]:
    """The three agent routes."""
    return _Agents(state).routes()


class _Agents:
    """The agents' handlers over the emulator's state (one store, whichever path a request came by)."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.lim = limits("agents")
        self.store: dict[str, Any] = state.extra.setdefault("agents", {"conversations": {}, "jobs": {}})

    def translation(self, body: dict[str, Any], text: str) -> Response:
        variables = body.get("custom_variables") or {}
        target = variables.get("target_lang", "zh-CN")
        if target not in self.lim["languages"] or target == "auto":
            return agent_error(body["agent_id"], "1214", f"custom_variables.target_lang: {target} is not supported")
        answer = f"[{target}] {text}"
        rid = self.state.new_id("agt")
        head = {"id": rid, "agent_id": body["agent_id"]}
        if body.get("stream"):
            words = answer.split(" ")
            chunks = [
                {
                    **head,
                    "choices": [
                        {
                            "index": 0,
                            "delta": {
                                "role": "assistant",
                                "content": {"type": "text", "text": w + " " * (i < len(words) - 1)},
                            },
                        }
                    ],
                }
                for i, w in enumerate(words)
            ]
            chunks.append(
                {**head, "status": "success", "choices": [{"index": 0, "finish_reason": "stop", "delta": {}}]}
            )
            return _sse(chunks)
        n_in, n_out = len(text.split()) + 8, len(answer.split())
        return JSONResponse(
            {
                **head,
                "status": "success",
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "messages": {"role": "assistant", "content": {"type": "text", "text": answer}},
                    }
                ],
                "usage": {
                    "prompt_tokens": n_in,
                    "completion_tokens": n_out,
                    "total_tokens": n_in + n_out,
                    "total_calls": 1,
                },
            }
        )

    def slides(self, body: dict[str, Any], text: str) -> Response:
        conversations = self.store["conversations"]
        cid = body.get("conversation_id") or self.state.new_id("conv")
        if body.get("conversation_id") and cid not in conversations:
            return agent_error(body["agent_id"], "1214", f"conversation_id {cid} does not exist")
        pages = conversations.setdefault(cid, {"topic": text, "pages": []})["pages"]
        start = len(pages)
        new = [_page_html(text, start + i + 1, start + 3) for i in range(3)]
        pages.extend(new)
        head = {"id": self.state.new_id("agt"), "conversation_id": cid, "agent_id": body["agent_id"]}
        tag = {"tag_cn": "", "tag_en": ""}
        messages: list[dict[str, Any]] = [
            {
                "role": "assistant",
                "phase": "thinking",
                "content": [{"type": "text", **tag, "text": f"Planning {text}."}],
            }
        ]
        for i, html in enumerate(new):
            obj = {
                "tool_name": "insert_page",
                "input": {"page": start + i + 1},
                "output": html,
                "position": [start + i + 1],
            }
            messages.append(
                {"role": "assistant", "phase": "tool", "content": [{"type": "object", **tag, "object": obj}]}
            )
        answer = f"Made {len(new)} slides about {text}."
        messages.append({"role": "assistant", "phase": "answer", "content": [{"type": "text", **tag, "text": answer}]})
        if body.get("stream", True):
            chunks = [{**head, "choices": [{"index": 0, "message": [m]}]} for m in messages]
            chunks[-1]["choices"][0]["finish_reason"] = "stop"
            return _sse(chunks)
        return JSONResponse({**head, "choices": [{"index": 0, "finish_reason": "stop", "message": messages}]})

    def vidu(self, body: dict[str, Any], text: str, images: list[str]) -> Response:
        template = (body.get("custom_variables") or {}).get("template")
        if template not in self.lim["vidu_templates"]:
            return agent_error(body["agent_id"], "1214", f"custom_variables.template: {template} is not supported")
        if not images:
            return agent_error(body["agent_id"], "1213", "an image_url content part is required")
        async_id = self.state.new_id("vidu")
        add_media(self.state, f"{async_id}.mp4", {"kind": "mp4", "seconds": 4, "seed": async_id})
        self.store["jobs"][async_id] = {"created": self.state.clock(), "fail": "[fail]" in text, "template": template}
        return JSONResponse({"status": "pending", "agent_id": body["agent_id"], "async_id": async_id})

    async def agents(self, request: Request) -> Response:
        body, bad = await admit_json(self.state, request)
        if bad is not None:
            return bad
        agent_id = body.get("agent_id")
        if agent_id not in self.lim["ids"]:
            return agent_error(agent_id, "1214", f"agent_id: {agent_id} does not exist")
        text, images = _text(body.get("messages"))
        if text is None:
            return agent_error(agent_id, "1214", "messages.content must be an array of content parts")
        if agent_id == "general_translation":
            return self.translation(body, text)
        if agent_id == "slides_glm_agent":
            return self.slides(body, text)
        return self.vidu(body, text, images)

    async def async_result(self, request: Request) -> Response:
        body, bad = await admit_json(self.state, request)
        if bad is not None:
            return bad
        agent_id, async_id = body.get("agent_id"), str(body.get("async_id") or "")
        job = self.store["jobs"].get(async_id)
        if job is None:
            return agent_error(agent_id, "1222", f"async_id {async_id} does not exist")
        head = {"agent_id": agent_id, "async_id": async_id}
        if self.state.clock() - job["created"] < self.state.config.job_seconds:
            return JSONResponse({**head, "status": "pending"})
        if job["fail"]:
            return JSONResponse({**head, "status": "failed", "error": {"code": "1301", "message": "Unsafe content"}})
        content = [{"type": "video_url", "video_url": media_url(self.state, request, f"{async_id}.mp4")}]
        choice = {"index": 0, "finish_reason": "stop", "message": [{"role": "assistant", "content": content}]}
        return JSONResponse({**head, "status": "success", "choices": [choice]})

    async def conversation(self, request: Request) -> Response:
        body, bad = await admit_json(self.state, request)
        if bad is not None:
            return bad
        cid = str(body.get("conversation_id") or "")
        deck = self.store["conversations"].get(cid)
        if deck is None:
            return agent_error(body.get("agent_id"), "1222", f"conversation_id {cid} does not exist")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for i, html in enumerate(deck["pages"], 1):
                z.writestr(f"slides/page{i:02d}.html", html)
        deck_name = f"{cid}-{len(deck['pages'])}.pptx"
        mime = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
        add_media(self.state, deck_name, {"kind": "bytes", "data": buf.getvalue(), "mime": mime})
        content = [
            {
                "type": "file_url",
                "tag_cn": "PPT",
                "tag_en": "PPTX",
                "file_url": media_url(self.state, request, deck_name),
            }
        ]
        if (body.get("custom_variables") or {}).get("include_pdf"):
            pdf_name = f"{cid}-{len(deck['pages'])}.pdf"
            add_media(
                self.state, pdf_name, {"kind": "bytes", "data": _pdf(len(deck["pages"])), "mime": "application/pdf"}
            )
            content.append(
                {
                    "type": "file_url",
                    "tag_cn": "PDF",
                    "tag_en": "PDF",
                    "file_url": media_url(self.state, request, pdf_name),
                }
            )
        choice = {"message": [{"role": "assistant", "content": content}]}
        return JSONResponse({"conversation_id": cid, "agent_id": body.get("agent_id"), "choices": [choice]})

    def routes(self) -> list[Route]:
        """The three agent routes."""
        return [
            Route("/v1/agents", self.agents, methods=["POST"]),
            Route("/v1/agents/async-result", self.async_result, methods=["POST"]),
            Route("/v1/agents/conversation", self.conversation, methods=["POST"]),
        ]
