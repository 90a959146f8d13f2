"""HTTP/1.1 framing without I/O, shared by the lean transports (``_http11`` async, ``_sync_http`` sync).

What is here reads and writes bytes only: a request's head, a response's head, a chunked body's payload, a
case-insensitive view of response headers, and ``Reply``, the part of a response the SDK reads (status, headers,
timing, the body once read). No httpx: the sync client's default path never imports it.
"""

from __future__ import annotations

import datetime
import os
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from glmkit._json import loads

if TYPE_CHECKING:
    import ssl

__all__ = [
    "Dechunker",
    "Headers",
    "ProtocolError",
    "Reply",
    "Target",
    "parse_head",
    "proxied",
    "ssl_context",
    "target_of",
]

HEAD_LIMIT = 65536


class ProtocolError(ConnectionError):
    """The peer answered something that is not HTTP/1.1 as we speak it."""


class Headers(Mapping[str, str]):
    """Response headers: names matched without regard to case, repeated ones joined with ``", "`` (as httpx)."""

    __slots__ = ("_map", "raw")

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self.raw = raw
        found: dict[str, str] = {}
        for name, value in raw:
            key = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            found[key] = f"{found[key]}, {text}" if key in found else text
        self._map = found

    def __getitem__(self, name: str) -> str:
        return self._map[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._map

    def get(self, name: str, default: Any = None) -> Any:
        return self._map.get(name.lower(), default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)

    def __repr__(self) -> str:
        return f"Headers({self._map!r})"


class Reply:
    """What a lean transport answers: status and headers at once, the body read by the transport's own class."""

    __slots__ = ("_content", "_elapsed", "headers", "status_code")

    def __init__(self, status_code: int, headers: Headers) -> None:
        self.status_code = status_code
        self.headers = headers
        self._content: bytes | None = None
        self._elapsed: float | None = None

    @property
    def content(self) -> bytes:
        """The body, once read."""
        if self._content is None:
            raise RuntimeError("the body has not been read")
        return self._content

    @property
    def text(self) -> str:
        """The body as text (UTF-8, or the charset the headers name)."""
        ctype = self.headers.get("content-type", "")
        charset = ctype.partition("charset=")[2].split(";")[0].strip().strip('"') or "utf-8"
        try:
            return self.content.decode(charset, "replace")
        except LookupError:
            return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body as JSON."""
        return loads(self.content)

    @property
    def elapsed(self) -> datetime.timedelta:
        """From sending to the last byte of the body (``RuntimeError`` until it is read, as httpx)."""
        if self._elapsed is None:
            raise RuntimeError("the response is still open")
        return datetime.timedelta(seconds=self._elapsed)

    @property
    def is_redirect(self) -> bool:
        """A redirect with somewhere to go."""
        return self.status_code in (301, 302, 303, 307, 308) and "location" in self.headers


class Target:
    """Where a URL's requests go: the pool key, the ``Host`` header and the request target."""

    __slots__ = ("host_header", "key", "path")

    def __init__(self, key: tuple[str, str, int], host_header: bytes, path: str) -> None:
        self.key = key
        self.host_header = host_header
        self.path = path


_TARGETS: dict[str, Target | None] = {}
_TARGETS_MAX = 256
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"


def target_of(url: str) -> Target | None:
    """The parsed ``http``/``https`` URL (cached), or ``None`` for anything a lean transport does not send to."""
    found = _TARGETS.get(url, False)
    if found is not False:
        return found  # type: ignore[return-value]
    parts = urllib.parse.urlsplit(url)
    scheme, host = parts.scheme, parts.hostname
    target: Target | None = None
    if scheme in ("http", "https") and host and not parts.username and parts.password is None:
        default = 443 if scheme == "https" else 80
        port = parts.port or default
        netloc = f"[{host}]" if ":" in host else host
        if port != default:
            netloc += f":{port}"
        path = urllib.parse.quote(parts.path or "/", safe=_PATH_SAFE)
        if parts.query:
            path += "?" + urllib.parse.quote(parts.query, safe=_PATH_SAFE + "?")
        target = Target((scheme, host, port), netloc.encode("idna" if not netloc.isascii() else "ascii"), path)
    if len(_TARGETS) >= _TARGETS_MAX:  # URLs with ids in them (job results) must not grow this for ever
        _TARGETS.clear()
    _TARGETS[url] = target
    return target


def query_string(params: Mapping[str, Any]) -> str:
    """Query parameters as httpx encodes them: ``true``/``false``, ``None`` as empty, lists repeated."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        for item in value if isinstance(value, list | tuple) else (value,):
            text = "true" if item is True else "false" if item is False else "" if item is None else str(item)
            pairs.append((key, text))
    return urllib.parse.urlencode(pairs)


def proxied(url: str) -> bool:
    """Whether the environment routes ``url`` through a proxy (as httpx reads it: ``*_PROXY``, ``NO_PROXY``)."""
    if not any(v and k.lower().endswith("_proxy") and k.lower() != "no_proxy" for k, v in os.environ.items()):
        return False  # the usual case, without loading urllib.request (and http.client, email) to say so
    import urllib.request

    proxies = urllib.request.getproxies_environment()
    parts = urllib.parse.urlsplit(url)
    if not (proxies.get(parts.scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass_environment(parts.hostname or "", proxies)  # type: ignore[attr-defined]


def parse_head(raw: bytes) -> tuple[int, list[tuple[bytes, bytes]], int | None, bool, bool]:
    """A response head (up to, not including, the blank line): status, headers, length, chunked, keep-alive."""
    first, _, rest = raw.partition(b"\r\n")
    parts = first.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise ProtocolError(f"not an HTTP/1.1 answer: {first[:80]!r}")
    status = int(parts[1])
    headers: list[tuple[bytes, bytes]] = []
    length: int | None = None
    chunked = False
    keep = parts[0] == b"HTTP/1.1"
    for line in rest.split(b"\r\n") if rest else ():
        name, _, value = line.partition(b":")
        value = value.strip()
        headers.append((name, value))
        low = name.lower()
        if low == b"content-length":
            length = int(value)
        elif low == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif low == b"connection":
            keep = b"close" not in value.lower() and (keep or b"keep-alive" in value.lower())
    if chunked:
        length = None
    return status, headers, length, chunked, keep


class Dechunker:
    """A chunked body's payload from its bytes, fed in any pieces: ``feed`` returns the payload those completed."""

    __slots__ = ("buf", "crlf", "done", "need", "trailer")

    def __init__(self) -> None:
        self.buf = b""
        self.need = 0  # payload bytes of the current chunk still to come
        self.crlf = False  # the CRLF after a chunk's payload is still to come
        self.trailer = False  # after the last chunk: trailers (ignored) until an empty line
        self.done = False

    def feed(self, data: bytes) -> bytes:
        """The payload of ``data`` (joined), possibly empty; ``done`` turns true at the body's end."""
        buf = self.buf + data if self.buf else data
        out: list[bytes] = []
        pos = 0
        size = len(buf)
        while not self.trailer:
            if self.need:
                take = self.need if self.need <= size - pos else size - pos
                out.append(buf[pos : pos + take])
                pos += take
                self.need -= take
                if self.need:
                    break
                self.crlf = True
            if self.crlf:
                if size - pos < 2:
                    break
                if buf[pos : pos + 2] != b"\r\n":
                    raise ProtocolError("malformed chunked body")
                pos += 2
                self.crlf = False
            end = buf.find(b"\r\n", pos)
            if end < 0:
                if size - pos > 1024:
                    raise ProtocolError("malformed chunk size line")
                break
            self.need = int(buf[pos:end].split(b";", 1)[0], 16)
            pos = end + 2
            if self.need == 0:
                self.trailer = True
        if self.trailer:
            rest = buf[pos:]
            if rest.startswith(b"\r\n") or b"\r\n\r\n" in rest:
                self.done = True
                rest = b""
            self.buf = rest
        else:
            self.buf = buf[pos:] if pos < size else b""
        return out[0] if len(out) == 1 else b"".join(out)


def ssl_context() -> ssl.SSLContext:
    """The trust httpx has: ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when set, else certifi's CA bundle; HTTP/1.1."""
    import ssl  # only for https: a plain-http client never loads it

    if os.environ.get("SSL_CERT_FILE"):
        ctx = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    elif os.environ.get("SSL_CERT_DIR"):
        ctx = ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
    else:
        import certifi

        ctx = ssl.create_default_context(cafile=certifi.where())
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx
