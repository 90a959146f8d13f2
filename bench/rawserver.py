"""A minimal HTTP/1.1 server on bare asyncio that answers chat completions from prebuilt bytes.

It exists so that the client-overhead figures measure the clients, not the server: every answer is
canned, keep-alive is always on, nothing is parsed beyond the request head and Content-Length.

- A body containing ``"stream":true`` (or ``"stream": true``) gets a chunked SSE stream of
  ``CHUNKS`` GLM-shaped deltas (a final chunk with ``finish_reason`` and ``usage``, then ``[DONE]``),
  one SSE event per HTTP chunk, as a server that flushes each event sends them; a body that also
  contains ``warmup`` gets a short stream of ``WARMUP_CHUNKS``, one with ``"max_tokens":N`` a stream
  of N deltas (one token per chunk).
- Any other request gets a canned ~1.9 KB chat completion.
- A request whose path has ``/anthropic/`` gets the same in Anthropic's shape (Z.AI's Anthropic endpoint):
  a message, or an event stream of ``content_block_delta`` events.
- A request whose path ends in ``/responses`` gets the same in the OpenAI Responses shape (Z.AI's Responses
  endpoint): a response object, or an event stream of ``response.output_text.delta`` events (``max_output_tokens``
  sizes it as ``max_tokens`` does a chat stream).

The whole answer goes out in one write: the receiver gets the events together, as many as its reads take.

Run: ``python -m bench.rawserver --port 0 [--core N] [--certfile F --keyfile F]`` (with a certificate it
speaks TLS); it prints ``READY <port>`` once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from typing import Any

CHUNKS = 5000
WARMUP_CHUNKS = 20
EVENTS_PER_HTTP_CHUNK = 1  # a server that flushes each event (as Z.AI does) sends one HTTP chunk per event
MODEL = "glm-4.7"
REQUEST_ID = "20261125150000aa00bb11cc22dd33ee44ff"


def completion_body() -> bytes:
    """A non-streamed chat completion of about 1.9 KB, shaped like GLM's."""
    text = " ".join(f"word{i}" for i in range(200))
    body = {
        "id": REQUEST_ID,
        "request_id": REQUEST_ID,
        "created": 1764082800,
        "model": MODEL,
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": text, "reasoning_content": "Short reasoning."},
            }
        ],
        "usage": {
            "prompt_tokens": 12,
            "completion_tokens": 210,
            "total_tokens": 222,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 3},
        },
    }
    return json.dumps(body, separators=(",", ":")).encode()


def _event(name: str, data: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"


def sse_events(n: int) -> list[bytes]:
    """The ``data:`` events of an ``n``-chunk stream, then the finish chunk and ``[DONE]``."""
    head = f'{{"id":"{REQUEST_ID}","created":1764082800,"model":"{MODEL}","choices":[{{"index":0,"delta":'.encode()
    events = [head + b'{"role":"assistant","content":"w%d "}}]}' % i for i in range(n)]
    usage = b'{"prompt_tokens":12,"completion_tokens":%d,"total_tokens":%d}' % (n, n + 12)
    events.append(head + b'{"role":"assistant","content":""},"finish_reason":"stop"}],"usage":' + usage + b"}")
    out = [b"data: " + e + b"\n\n" for e in events]
    out.append(b"data: [DONE]\n\n")
    return out


def anthropic_events(n: int) -> list[bytes]:
    """An Anthropic event stream of ``n`` text deltas, as Z.AI's Anthropic endpoint sends one."""
    message: dict[str, Any] = {
        "id": "msg_" + REQUEST_ID,
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 0},
    }

    out = [
        _event("message_start", {"type": "message_start", "message": message}),
        _event(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
    ]
    delta = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"w%d "}}\n\n'
    out += [delta % i for i in range(n)]
    out += [
        _event("content_block_stop", {"type": "content_block_stop", "index": 0}),
        _event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": n},
            },
        ),
        _event("message_stop", {"type": "message_stop"}),
    ]
    return out


def _response_object(status: str, text: str | None, output_tokens: int) -> dict[str, Any]:
    message: dict[str, Any] = {
        "id": "msg_" + REQUEST_ID,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": [],
    }
    if text is not None:
        message["content"] = [{"type": "output_text", "text": text, "annotations": []}]
    return {
        "id": "resp_" + REQUEST_ID,
        "object": "response",
        "created_at": 1764082800,
        "status": status,
        "model": MODEL,
        "output": [] if text is None else [message],
        "usage": None
        if text is None
        else {
            "input_tokens": 12,
            "output_tokens": output_tokens,
            "total_tokens": output_tokens + 12,
            "output_tokens_details": {"reasoning_tokens": 0},
        },
    }


def responses_events(n: int) -> list[bytes]:
    """An OpenAI Responses event stream of ``n`` text deltas, as Z.AI's Responses endpoint sends one."""
    item = {"id": "msg_" + REQUEST_ID, "type": "message", "status": "in_progress", "role": "assistant", "content": []}
    part = {"type": "output_text", "text": "", "annotations": []}
    where = {"item_id": item["id"], "output_index": 0, "content_index": 0}
    created = _response_object("in_progress", None, 0)
    out = [
        _event("response.created", {"type": "response.created", "sequence_number": 0, "response": created}),
        _event("response.in_progress", {"type": "response.in_progress", "sequence_number": 1, "response": created}),
        _event(
            "response.output_item.added",
            {"type": "response.output_item.added", "sequence_number": 2, "output_index": 0, "item": item},
        ),
        _event(
            "response.content_part.added",
            {"type": "response.content_part.added", "sequence_number": 3, **where, "part": part},
        ),
    ]
    delta = (
        b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":%d,'
        b'"item_id":"msg_' + REQUEST_ID.encode() + b'","output_index":0,"content_index":0,"delta":"w%d "}\n\n'
    )
    out += [delta % (4 + i, i) for i in range(n)]
    text = "".join(f"w{i} " for i in range(n))
    seq = 4 + n
    done_part = {**part, "text": text}
    done_item = {**item, "status": "completed", "content": [done_part]}
    out += [
        _event(
            "response.output_text.done",
            {"type": "response.output_text.done", "sequence_number": seq, **where, "text": text},
        ),
        _event(
            "response.content_part.done",
            {"type": "response.content_part.done", "sequence_number": seq + 1, **where, "part": done_part},
        ),
        _event(
            "response.output_item.done",
            {"type": "response.output_item.done", "sequence_number": seq + 2, "output_index": 0, "item": done_item},
        ),
        _event(
            "response.completed",
            {
                "type": "response.completed",
                "sequence_number": seq + 3,
                "response": _response_object("completed", text, n),
            },
        ),
    ]
    return out


def responses_body() -> bytes:
    """A non-streamed Responses object of about the same size as ``completion_body``."""
    text = " ".join(f"word{i}" for i in range(200))
    return json.dumps(_response_object("completed", text, 210), separators=(",", ":")).encode()


def anthropic_message_body() -> bytes:
    """A non-streamed Anthropic message of about the same size as ``completion_body``."""
    text = " ".join(f"word{i}" for i in range(200))
    body = {
        "id": "msg_" + REQUEST_ID,
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 210},
    }
    return json.dumps(body, separators=(",", ":")).encode()


def chunked_stream(n: int, shape: str = "chat") -> bytes:
    """A whole HTTP response (``shape``: chat, anthropic or responses): headers, then the events in HTTP chunks of
    ``EVENTS_PER_HTTP_CHUNK``."""
    events = {"chat": sse_events, "anthropic": anthropic_events, "responses": responses_events}[shape](n)
    parts = [
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
        b"x-request-id: " + REQUEST_ID.encode() + b"\r\ntransfer-encoding: chunked\r\n\r\n"
    ]
    for i in range(0, len(events), EVENTS_PER_HTTP_CHUNK):
        piece = b"".join(events[i : i + EVENTS_PER_HTTP_CHUNK])
        parts.append(b"%x\r\n" % len(piece) + piece + b"\r\n")
    parts.append(b"0\r\n\r\n")
    return b"".join(parts)


def plain_response(body: bytes) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-request-id: "
        + REQUEST_ID.encode()
        + b"\r\ncontent-length: %d\r\n\r\n" % len(body)
        + body
    )


COMPLETION = plain_response(completion_body())
ANTHROPIC_MESSAGE = plain_response(anthropic_message_body())
RESPONSE = plain_response(responses_body())
PLAIN = {"chat": COMPLETION, "anthropic": ANTHROPIC_MESSAGE, "responses": RESPONSE}
_STREAMS: dict[tuple[int, str], bytes] = {}


def stream_for(body: bytes, shape: str) -> bytes:
    """The canned stream a streaming request gets: ``WARMUP_CHUNKS``, ``max_tokens`` (``max_output_tokens``) or
    ``CHUNKS`` deltas."""
    if b"warmup" in body:
        n = WARMUP_CHUNKS
    else:
        name = b'"max_output_tokens":' if shape == "responses" else b'"max_tokens":'
        at = body.find(name)
        n = CHUNKS
        if at >= 0:
            digits = body[at + len(name) : at + len(name) + 11].lstrip()
            end = 0
            while end < len(digits) and digits[end : end + 1].isdigit():
                end += 1
            n = int(digits[:end] or CHUNKS)
    key = (n, shape)
    stream = _STREAMS.get(key)
    if stream is None:
        stream = _STREAMS[key] = chunked_stream(n, shape)
    return stream


def _shape(request_line: bytes) -> str:
    """chat, anthropic or responses: what a request line's path asks for."""
    if b"/anthropic/" in request_line:
        return "anthropic"
    return "responses" if b"/responses " in request_line or b"/responses?" in request_line else "chat"


class HTTPProtocol(asyncio.Protocol):
    """Reads request heads and bodies from a keep-alive connection and writes canned answers."""

    __slots__ = ("buf", "transport")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buf[:end].lower()
            length = 0
            pos = head.find(b"content-length:")
            if pos >= 0:
                stop = head.find(b"\r\n", pos)
                length = int(head[pos + 15 : stop if stop >= 0 else len(head)])
            if len(buf) < end + 4 + length:
                break
            body = buf[end + 4 : end + 4 + length]
            shape = _shape(head[: head.find(b"\r\n")])
            buf = buf[end + 4 + length :]
            if b'"stream":true' in body or b'"stream": true' in body:
                self.transport.write(stream_for(body, shape))  # type: ignore[attr-defined]
            else:
                self.transport.write(PLAIN[shape])  # type: ignore[attr-defined]
        self.buf = buf


async def serve(host: str, port: int, certfile: str | None = None, keyfile: str | None = None) -> None:
    loop = asyncio.get_running_loop()
    context = None
    if certfile:
        import ssl

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certfile, keyfile)
    server = await loop.create_server(HTTPProtocol, host, port, backlog=1024, ssl=context)
    actual = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"READY {actual}\n")
    sys.stdout.flush()
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--core", type=int, default=None, help="Pin to this CPU core.")
    parser.add_argument("--certfile", default=None, help="Serve TLS with this certificate chain (PEM).")
    parser.add_argument("--keyfile", default=None, help="The certificate's private key (PEM).")
    args = parser.parse_args()
    if args.core is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.core})
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, args.certfile, args.keyfile))


if __name__ == "__main__":
    main()
