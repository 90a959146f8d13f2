"""``POST /layout_parsing`` (reference §11): reads the PDF or image it is sent.

- PDF: pages from the page tree (``/Kids`` in order), each page's text from its content streams
  (``Tj``/``TJ`` strings, Flate-compressed streams inflated), page size from ``/MediaBox``. Markdown is
  the pages' text lines; each line is one ``text`` region of ``layout_details``.
- PNG/JPEG: size from the header; the "recognised" text is the PNG's ``tEXt``/``iTXt`` chunks (so tests
  can make an image with known text); without text the page is one ``image`` region.
- ``start_page_id``/``end_page_id`` select pages (an end past the last page is clamped; UNVERIFIED).
- Errors (the reference gives no messages for these; codes follow §13): a model other than glm-ocr
  1211; no file 1213; an unreadable or non-PDF/PNG/JPEG file, an image over 10 MB, a PDF over 50 MB,
  more pages than ``[ocr] pdf_max_pages`` in one request, or a start past the last page 1214. A URL
  is not fetched: it gets a one-page fixture derived from the URL. Plan-only keys get 1113.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
import zlib
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from glmkit.emulator.admission import error_response
from glmkit.emulator.balance import billed_route
from glmkit.emulator.state import EmulatorState

_OBJ = re.compile(rb"(\d+)\s+(\d+)\s+obj\b(.*?)\bendobj", re.S)
_REF = re.compile(rb"(\d+)\s+\d+\s+R")
_STRING_OP = re.compile(rb"\((?P<s>(?:\\.|[^\\)])*)\)\s*Tj|\[(?P<a>[^\]]*)\]\s*TJ", re.S)
_ARRAY_STRING = re.compile(rb"\((?:\\.|[^\\)])*\)", re.S)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"(": b"(", b")": b")", b"\\": b"\\"}


def _limits() -> dict[str, Any]:
    from glmkit import data

    return dict(data.load("limits")["ocr"])


class Unreadable(ValueError):
    """The file is not a PDF/PNG/JPEG the emulator can read."""


# --- PDF ------------------------------------------------------------------------------------------


def _objects(pdf: bytes) -> dict[int, bytes]:
    """Every object by number, including those packed in compressed object streams (PDF 1.5+)."""
    objects = {int(m.group(1)): m.group(3) for m in _OBJ.finditer(pdf)}
    for body in list(objects.values()):
        if not re.search(rb"/Type\s*/ObjStm\b", body.partition(b"stream")[0]):
            continue
        n, first = re.search(rb"/N\s+(\d+)", body), re.search(rb"/First\s+(\d+)", body)
        if not n or not first:
            continue
        data = _stream(body)
        head = data[: int(first.group(1))].split()
        pairs = [(int(head[i]), int(head[i + 1])) for i in range(0, min(len(head), 2 * int(n.group(1))) - 1, 2)]
        for k, (num, offset) in enumerate(pairs):
            end = pairs[k + 1][1] if k + 1 < len(pairs) else len(data) - int(first.group(1))
            objects.setdefault(num, data[int(first.group(1)) + offset : int(first.group(1)) + end])
    return objects


def _stream(obj: bytes) -> bytes:
    head, sep, rest = obj.partition(b"stream")
    if not sep:
        return b""
    data = rest.lstrip(b"\r\n") if rest[:1] in (b"\r", b"\n") else rest
    data = data.rsplit(b"endstream", 1)[0].rstrip(b"\r\n")
    if b"/FlateDecode" in head:
        try:
            return zlib.decompress(data)
        except zlib.error as exc:
            raise Unreadable(f"a content stream does not inflate ({exc})") from None
    return data


def _unescape(raw: bytes) -> str:
    out, i = bytearray(), 0
    while i < len(raw):
        c = raw[i : i + 1]
        if c == b"\\" and i + 1 < len(raw):
            nxt = raw[i + 1 : i + 2]
            if nxt.isdigit():
                digits = re.match(rb"[0-7]{1,3}", raw[i + 1 : i + 4])
                assert digits is not None
                out.append(int(digits.group(0), 8) & 0xFF)
                i += 1 + len(digits.group(0))
                continue
            out += _ESCAPES.get(nxt, nxt)
            i += 2
            continue
        out += c
        i += 1
    return out.decode("latin-1")


def _text_lines(content: bytes) -> list[str]:
    lines = []
    for m in _STRING_OP.finditer(content):
        if m.group("s") is not None:
            text = _unescape(m.group("s"))
        else:
            text = "".join(_unescape(s[1:-1]) for s in _ARRAY_STRING.findall(m.group("a")))
        if text.strip():
            lines.append(text.strip())
    return lines


def _media_box(objects: dict[int, bytes], num: int) -> tuple[int, int]:
    seen = set()
    while num not in seen:
        seen.add(num)
        obj = objects.get(num, b"")
        box = re.search(rb"/MediaBox\s*\[\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s*\]", obj)
        if box:
            x0, y0, x1, y1 = (float(v) for v in box.groups())
            return round(x1 - x0), round(y1 - y0)
        parent = re.search(rb"/Parent\s+(\d+)\s+\d+\s+R", obj)
        if not parent:
            break
        num = int(parent.group(1))
    return 612, 792


def read_pdf(pdf: bytes) -> list[dict[str, Any]]:
    """The pages of a PDF in order: ``{"lines", "width", "height"}`` each. Raises ``Unreadable``."""
    if not pdf.startswith(b"%PDF-"):
        raise Unreadable("not a PDF")
    objects = _objects(pdf)
    roots = [n for n, o in objects.items() if re.search(rb"/Type\s*/Pages\b", o) and b"/Parent" not in o]
    if not roots:
        raise Unreadable("no page tree")
    pages: list[int] = []

    def walk(num: int, depth: int = 0) -> None:
        obj = objects.get(num, b"")
        if depth > 32:
            raise Unreadable("the page tree loops")
        if re.search(rb"/Type\s*/Pages\b", obj):
            kids = re.search(rb"/Kids\s*\[(.*?)\]", obj, re.S)
            for ref in _REF.findall(kids.group(1) if kids else b""):
                walk(int(ref), depth + 1)
        elif re.search(rb"/Type\s*/Page\b", obj):
            pages.append(num)

    walk(roots[0])
    if not pages:
        raise Unreadable("the page tree has no pages")
    out = []
    for num in pages:
        obj = objects[num]
        contents = re.search(rb"/Contents\s*(\[[^\]]*\]|\d+\s+\d+\s+R)", obj)
        lines: list[str] = []
        for ref in _REF.findall(contents.group(1) if contents else b""):
            lines += _text_lines(_stream(objects.get(int(ref), b"")))
        width, height = _media_box(objects, num)
        out.append({"lines": lines, "width": width, "height": height})
    return out


# --- images ---------------------------------------------------------------------------------------


def read_png(data: bytes) -> dict[str, Any]:
    """Size and the text chunks of a PNG. Raises ``Unreadable``."""
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise Unreadable("a damaged PNG (no IHDR)")
    width, height = struct.unpack(">II", data[16:24])
    lines, pos = [], 8
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, chunk = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if len(chunk) < length:
            raise Unreadable("a truncated PNG")
        if kind == b"tEXt":
            lines += chunk.partition(b"\0")[2].decode("latin-1").splitlines()
        elif kind == b"iTXt":
            lines += _itxt(chunk).splitlines()
        elif kind == b"IEND":
            break
        pos += 12 + length
    return {"lines": [ln.strip() for ln in lines if ln.strip()], "width": width, "height": height}


def _itxt(chunk: bytes) -> str:
    try:
        rest = chunk.split(b"\0", 1)[1]
        compressed, rest = rest[0], rest[2:]
        text = rest.split(b"\0", 2)[2]
        return (zlib.decompress(text) if compressed else text).decode("utf-8")
    except (IndexError, zlib.error, UnicodeDecodeError):
        raise Unreadable("a damaged PNG iTXt chunk") from None


def read_jpeg(data: bytes) -> dict[str, Any]:
    """Size of a JPEG (from its frame header). Raises ``Unreadable``."""
    pos = 2
    while pos + 9 <= len(data):
        if data[pos] != 0xFF:
            pos += 1
            continue
        marker = data[pos + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            pos += 2 if marker != 0xFF else 1
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return {"lines": [], "width": width, "height": height}
        pos += 2 + length
    raise Unreadable("a damaged JPEG (no frame header)")


# --- answer ---------------------------------------------------------------------------------------


def _decode(file: str) -> bytes:
    text = file.strip()
    if text.startswith("data:"):
        text = text.partition(",")[2]
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise Unreadable("file is neither a URL nor valid base64") from None


def _page_result(page: dict[str, Any], label_image: bool) -> tuple[str, list[dict[str, Any]]]:
    w, h, lines = page["width"], page["height"], page["lines"]
    if not lines:
        if not label_image:
            return "", []
        return "![](page_image)", [
            {"index": 1, "label": "image", "bbox_2d": [0, 0, 1, 1], "content": "", "width": w, "height": h}
        ]
    regions = []
    step = 0.9 / max(len(lines), 1)
    for i, line in enumerate(lines):
        top = round(0.05 + i * step, 4)
        regions.append(
            {
                "index": i + 1,
                "label": "text",
                "bbox_2d": [0.08, top, 0.92, round(top + step * 0.8, 4)],
                "content": line,
                "width": w,
                "height": h,
            }
        )
    return "\n\n".join(lines), regions


def parse_document(body: dict[str, Any]) -> tuple[list[dict[str, Any]], str] | Response:
    """The pages to answer for (after the page range) and the kind (pdf, image, url), or the error."""
    lim = _limits()
    file = body.get("file")
    if not isinstance(file, str) or not file.strip():
        return error_response("1213", "The file field was not received properly")
    if file.strip().lower().startswith(("http://", "https://")):
        digest = hashlib.sha256(file.encode()).hexdigest()[:8]
        name = file.rstrip("/").rsplit("/", 1)[-1].split("?")[0] or "document"
        return [
            {"lines": [f"# {name}", f"Document fetched from {file} ({digest})."], "width": 1240, "height": 1754}
        ], "url"
    try:
        data = _decode(file)
        if data.startswith(b"%PDF-"):
            if len(data) > lim["pdf_max_bytes"]:
                return error_response("1214", f"file: PDF exceeds {lim['pdf_max_bytes'] // 1048576} MB")
            pages, kind = read_pdf(data), "pdf"
        elif data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")):
            if len(data) > lim["image_max_bytes"]:
                return error_response("1214", f"file: image exceeds {lim['image_max_bytes'] // 1048576} MB")
            pages, kind = [read_png(data) if data.startswith(b"\x89PNG") else read_jpeg(data)], "image"
        else:
            return error_response("1214", "file: unsupported file format, only PDF, JPG and PNG are supported")
    except Unreadable as exc:
        return error_response("1214", f"file: the file could not be parsed ({exc})")
    total = len(pages)
    start, end = body.get("start_page_id"), body.get("end_page_id")
    start, end = 1 if start is None else start, total if end is None else end
    if any(isinstance(p, bool) or not isinstance(p, int) or p < 1 for p in (start, end)):
        return error_response("1214", "start_page_id/end_page_id: invalid page range")
    if start > total:
        return error_response("1214", f"start_page_id {start} exceeds the page count {total}")
    if end < start:
        return error_response("1214", "start_page_id/end_page_id: invalid page range")
    chosen = pages[start - 1 : min(end, total)]
    if len(chosen) > lim["pdf_max_pages"]:
        return error_response("1214", f"file: at most {lim['pdf_max_pages']} pages per request")
    return chosen, kind


def answer(state: EmulatorState, request: Request, body: dict[str, Any]) -> Response:
    """The markdown and layout of the document an admitted request sends."""
    if str(body.get("model", "")).lower() != "glm-ocr":
        return error_response("1211", f"Unknown Model, please check the model code: {body.get('model')}")
    parsed = parse_document(body)
    if isinstance(parsed, Response):
        return parsed
    pages, kind = parsed
    rid = state.new_id("ocr-")
    results = [_page_result(page, kind == "image") for page in pages]
    md_results = "\n\n".join(md for md, _ in results if md)
    base = state.base_url(request)
    viz = [f"{base}/_emulator/files/{rid}-layout-{i + 1}.png" for i in range(len(pages))]
    completion_tokens = max(1, len(md_results) // 4)
    return JSONResponse(
        {
            "id": rid,
            "created": state.now(),
            "model": "GLM-OCR",
            "md_results": md_results,
            "layout_details": [regions for _, regions in results],
            "layout_visualization": viz if body.get("need_layout_visualization") else [],
            "data_info": {
                "num_pages": len(pages),
                "pages": [{"width": p["width"], "height": p["height"]} for p in pages],
            },
            "usage": {
                "prompt_tokens": 256 * len(pages),
                "completion_tokens": completion_tokens,
                "total_tokens": 256 * len(pages) + completion_tokens,
            },
            "request_id": body.get("request_id") or rid,
        }
    )


def routes(state: EmulatorState) -> list[Route]:
    """The layout-parsing route."""
    return [billed_route(state, "/layout_parsing", answer)]
