"""Files attached to a chat message (``-f`` in ``glm ask``, ``/attach`` in ``glm chat``) and how they are logged.

Text is inlined in a fenced block; images, videos and documents become vision content parts, and the
log keeps a short note in place of their base64 data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

_TEXT_DOCS = {"txt", "jsonl"}  # inlined as text: every model reads them that way
_MAX_INLINE = 2 * 1024 * 1024  # text attachments larger than this are almost certainly a mistake


def load_attachment(path: str) -> dict[str, Any]:
    """A file as a content part: text inlined in a fenced block; images, videos and documents as vision parts.

    Raises:
        InputError: the file is missing, too large, or neither text nor a format chat reads.
    """
    from glmkit import media
    from glmkit._errors import InputError
    from glmkit._fileio import not_a_regular_file

    p = Path(path).expanduser()
    if p.is_dir():
        raise InputError(f"{path} is a folder.", hint="Attach the files in it one by one (-f a.py -f b.py).")
    kind = not_a_regular_file(p)
    if kind is not None:
        raise InputError(
            f"{path} is not a regular file: it is {kind}.",
            hint="Attach a file; to send a stream's output, pipe it in (`cmd | glm ask ...`).",
        )
    if not p.is_file():
        raise InputError(f"No file at {path}.", hint="Check the path given to -f/--file or /attach.")
    ext = media.load_input(p).extension or ""
    for kind, builder, formats in (
        ("image", media.image_part, media.limits("image")["formats"]),
        ("video", media.video_part, media.limits("video")["formats"]),
        ("file", media.file_part, [e for e in media.limits("file")["extensions"] if e not in _TEXT_DOCS]),
    ):
        if ext in formats:
            return {"kind": kind, "name": p.name, "part": builder(p)}
    size = p.stat().st_size
    if size > _MAX_INLINE:
        raise InputError(
            f"{path} is {size / 1e6:.1f} MB: too large to inline as text (limit {_MAX_INLINE // 1024 // 1024} MB).",
            hint="Attach a smaller excerpt, e.g. `head -c 500000 FILE | glm ask ...`.",
        )
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if "\x00" in text or (raw and not text):
        raise InputError(
            f"{path} is neither text nor a format chat reads (images png/jpg, videos mp4/mkv/mov, pdf/docx/xlsx/pptx).",
            hint="Convert it to text first (e.g. `glm ocr` for scans).",
        )
    fence = "````" if "```" in text else "```"
    return {"kind": "text", "name": p.name, "text": f"{fence}{p.name}\n{text.rstrip()}\n{fence}"}


def user_content(text: str, attachments: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """The user message content: a string, or parts when an image is attached."""
    texts = [a["text"] for a in attachments if a["kind"] == "text"]
    body = "\n\n".join([*texts, text] if texts else [text]).strip()
    parts = [a["part"] for a in attachments if a["kind"] != "text"]
    if not parts:
        return body
    return [*parts, {"type": "text", "text": body or "Describe this."}]


def loggable(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages for the log: inline images (base64) become a short text note so the database stays small."""
    out = []
    for m in messages:
        content = m.get("content")
        if isinstance(content, list):
            parts = []
            for p in content:
                kind = p.get("type", "") if isinstance(p, dict) else ""
                inner = p.get(kind) if kind != "text" and isinstance(p, dict) else None
                url = str(inner.get("url") or inner.get("file_data") or "") if isinstance(inner, dict) else ""
                if url and not url.startswith(("http://", "https://")):
                    parts.append({"type": "text", "text": f"[a {kind} part was attached here]"})
                else:
                    parts.append(p)
            m = {**m, "content": parts}
        out.append(m)
    return out


def as_text(content: Any) -> str:
    """The text of a message content: a string as is, the text parts of a list joined by newlines."""
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content or "")
