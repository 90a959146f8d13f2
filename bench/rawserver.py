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
    message = {
        "id": "msg_" + REQUEST_ID,
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 0},
    }

    def event(name: str, data: dict) -> bytes:  # type: ignore[type-arg]
        return b"event: " + name.encode() + b"\ndata: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"

    out = [
        event("message_start", {"type": "message_start", "message": message}),
        event(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
    ]
    delta = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"w%d "}}\n\n'
    out += [delta % i for i in range(n)]
    out += [
        event("content_block_stop", {"type": "content_block_stop", "index": 0}),
        event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": n},
            },
        ),
        event("message_stop", {"type": "message_stop"}),
    ]
    return out


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


def chunked_stream(n: int, anthropic: bool = False) -> bytes:
    """A whole HTTP response: headers, then the events in HTTP chunks of ``EVENTS_PER_HTTP_CHUNK``."""
    events = anthropic_events(n) if anthropic else sse_events(n)
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
_STREAMS: dict[tuple[int, bool], bytes] = {}


def stream_for(body: bytes, anthropic: bool) -> bytes:
    """The canned stream a streaming request gets: ``WARMUP_CHUNKS``, ``max_tokens`` or ``CHUNKS`` deltas."""
    if b"warmup" in body:
        n = WARMUP_CHUNKS
    else:
        at = body.find(b'"max_tokens":')
        n = CHUNKS
        if at >= 0:
            digits = body[at + 13 : at + 24].lstrip()
            end = 0
            while end < len(digits) and digits[end : end + 1].isdigit():
                end += 1
            n = int(digits[:end] or CHUNKS)
    key = (n, anthropic)
    stream = _STREAMS.get(key)
    if stream is None:
        stream = _STREAMS[key] = chunked_stream(n, anthropic)
    return stream


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
            anthropic = b"/anthropic/" in head[: head.find(b"\r\n")]
            buf = buf[end + 4 + length :]
            if b'"stream":true' in body or b'"stream": true' in body:
                self.transport.write(stream_for(body, anthropic))  # type: ignore[attr-defined]
            else:
                self.transport.write(ANTHROPIC_MESSAGE if anthropic else COMPLETION)  # type: ignore[attr-defined]
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
