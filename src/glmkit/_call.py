"""What a call is and how it becomes a request and a result, apart from how it is sent (``_transport``).

``Call`` says what to send and how to read the answer (and carries the answer's type); ``lean_request`` turns it
into the bytes the lean transports send (``_wire``), ``build_request`` into an ``httpx.Request`` for everything
else; ``parse_body`` reads a success into its result; ``error_from_response`` and ``connection_error`` turn
failures into glmkit's exceptions. httpx is imported only where a call goes through it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Generic, cast

from typing_extensions import TypeVar

from glmkit._auth import Auth
from glmkit._config import Settings
from glmkit._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    GLMError,
    make_status_error,
)
from glmkit._json import dumpb
from glmkit._version import __version__
from glmkit._wire import Target, query_string, target_of
from glmkit.types._base import NOT_GIVEN, Endpoint, RawResponse

if TYPE_CHECKING:
    import httpx
    from pydantic import BaseModel

__all__ = [
    "Call",
    "RawResponse",
    "build_request",
    "lean_request",
    "lean_timeouts",
    "parse_body",
    "split_options",
    "transport_errors",
    "with_options",
]

T = TypeVar("T", default=bytes)  # a call without ``parse`` or ``stream`` answers the body's bytes
USER_AGENT = f"glmkit/{__version__}"
OPTION_KEYS = ("extra_headers", "extra_body", "extra_query", "timeout", "max_retries")


@dataclass
class Call(Generic[T]):
    """One API call: route, payload, per-call options, and how to read the answer, whose type it carries.

    ``parse`` turns the body bytes into a ``T``; ``stream`` (when set) wraps the open response into a
    stream object instead. Without either the result is the body's bytes (``Call[bytes]``).
    """

    endpoint: Endpoint
    json: Any = None
    params: Mapping[str, Any] | None = None
    files: Any = None
    data: Mapping[str, Any] | None = None
    headers: Mapping[str, str] | None = None
    parse: Callable[[bytes], T] | None = None
    stream: Callable[[Any], T] | None = None  # given the open response (an ``httpx.Response`` or a lean reply)
    extra_headers: Mapping[str, str] | None = None
    extra_body: Mapping[str, Any] | None = None
    extra_query: Mapping[str, Any] | None = None
    timeout: float | httpx.Timeout | None = None
    max_retries: int | None = None
    url: str | None = None  # an absolute URL overrides the endpoint (downloads)
    auth: bool = True
    meta: dict[str, Any] = field(default_factory=dict)


def split_options(params: dict[str, Any]) -> dict[str, Any]:
    """Pop the per-call options out of a params dict (in place) and return them; drop NOT_GIVEN values."""
    opts = {k: params.pop(k) for k in OPTION_KEYS if k in params}
    for key in [k for k, v in params.items() if v is NOT_GIVEN]:
        del params[key]
    return {k: v for k, v in opts.items() if v is not NOT_GIVEN and v is not None}


def _url(settings: Settings, call: Call) -> str:
    if call.url is not None:
        return call.url
    return settings.url_for(call.endpoint.base).rstrip("/") + call.endpoint.path


def build_request(
    client: httpx.Client | httpx.AsyncClient, settings: Settings, auth: Auth | None, call: Call
) -> httpx.Request:
    """Turn a ``Call`` into an ``httpx.Request`` (a fresh one per attempt: the JWT may have changed)."""
    import httpx

    headers: dict[str, str] = {"User-Agent": USER_AGENT, "Accept-Language": "en-US,en"}
    if call.stream is not None:
        headers["Accept"] = "text/event-stream"
    else:
        headers["Accept"] = "application/json"
    if call.auth and auth is not None:
        headers["Authorization"] = auth.header()
    if call.headers:
        headers.update(call.headers)
    if call.extra_headers:
        headers.update(call.extra_headers)
    body = call.json
    if call.extra_body:
        body = {**(body or {}), **call.extra_body}
    params = dict(call.params or {})
    if call.extra_query:
        params.update(call.extra_query)
    kwargs: dict[str, Any] = {"headers": headers, "params": params or None}
    if call.files is not None or call.data is not None:
        data = dict(call.data or {})
        if call.extra_body:
            data.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in call.extra_body.items()})
        kwargs["data"] = data
        kwargs["files"] = call.files
    elif body is not None:
        kwargs["content"] = dumpb(body)
        headers["Content-Type"] = "application/json"
    timeout = call.timeout
    if timeout is not None and not isinstance(timeout, httpx.Timeout):
        timeout = httpx.Timeout(timeout, connect=min(float(timeout), settings.connect_timeout))
    url = _url(settings, call)
    if _plain(client):
        target = _absolute_url(url)
        if target is not None:
            # What httpx's build_request does for a client without base_url, params or cookies, minus
            # parsing the same URL again on every call (a third of the client-side cost of a request).
            # Headers.update's merge, in one pass: the client's headers we do not set, then ours, in order.
            ours = {name.lower() for name in headers}
            kwargs["headers"] = [
                *((k, v) for k, v in client.headers.raw if k.decode("latin-1").lower() not in ours),
                *headers.items(),
            ]
            kwargs["extensions"] = {"timeout": (timeout or client.timeout).as_dict()}
            return httpx.Request(call.endpoint.method, target, **kwargs)
    request = client.build_request(call.endpoint.method, url, **kwargs)
    if timeout is not None:
        request.extensions["timeout"] = timeout.as_dict()
    return request


_URLS: dict[str, httpx.URL] = {}
_URLS_MAX = 256


def _plain(client: httpx.Client | httpx.AsyncClient) -> bool:
    """Whether ``client.build_request`` would only merge headers and the timeout into the request."""
    import httpx

    stock = (httpx.Client.build_request, httpx.AsyncClient.build_request)
    return type(client).build_request in stock and not client.params and not client.cookies


def _absolute_url(url: str) -> httpx.URL | None:
    """The parsed URL (cached: a client sends to a handful of URLs), or ``None`` when it is relative."""
    parsed = _URLS.get(url)
    if parsed is None:
        import httpx

        parsed = httpx.URL(url)
        if not parsed.is_absolute_url:
            return None
        if len(_URLS) >= _URLS_MAX:  # URLs with ids in them (job results) must not grow this for ever
            _URLS.clear()
        _URLS[url] = parsed
    return parsed


def lean_request(settings: Settings, auth: Auth | None, call: Call) -> tuple[Target, bytes, bytes] | None:
    """A call as a lean transport sends it: where, the request head, the body; ``None`` when httpx must send it.

    The headers are ``build_request``'s (``Accept-Encoding: identity``: bodies come uncompressed), written once per
    attempt straight into the head (a fresh one per attempt: the JWT may have changed). Multipart uploads and
    anything not plain ``http``/``https`` go through httpx.
    """
    if call.files is not None or call.data is not None:
        return None
    target = target_of(_url(settings, call))
    if target is None:
        return None
    accept = "text/event-stream" if call.stream is not None else "application/json"
    headers: dict[str, tuple[str, str]] | None = None
    if call.headers or call.extra_headers:
        headers = {}
        for extra in (call.headers, call.extra_headers):
            for name, value in (extra or {}).items():
                if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
                    return None  # httpx refuses these with its own error
                headers[name.lower()] = (name, value)
    lines = [call.endpoint.method, " ", target.path]
    query = call.params or call.extra_query
    if query:
        if call.params and call.extra_query:
            query = {**call.params, **call.extra_query}
        lines += ["&" if "?" in target.path else "?", query_string(query)]
    lines.append(" HTTP/1.1\r\nHost: ")
    fixed: tuple[tuple[str, str | None], ...] = (
        ("User-Agent", USER_AGENT),
        ("Accept-Language", "en-US,en"),
        ("Accept-Encoding", "identity"),  # the lean transports do not decompress (no header would allow any coding)
        ("Accept", accept),
        ("Authorization", auth.header() if call.auth and auth is not None else None),
    )
    for label, given in fixed:
        if given is not None and (headers is None or label.lower() not in headers):
            lines += ["\r\n", label, ": ", given]
    body = call.json
    if call.extra_body:
        body = {**(body or {}), **call.extra_body}
    content = b""
    if body is not None:
        content = dumpb(body)
        if headers is None or "content-type" not in headers:
            lines.append("\r\nContent-Type: application/json")
    if headers:
        for name, value in headers.values():
            if name.lower() not in ("host", "content-length", "transfer-encoding", "connection"):
                lines += ["\r\n", name, ": ", value]
    lines.append(f"\r\nContent-Length: {len(content)}\r\n\r\n")
    text = "".join(lines)
    cut = text.index("Host: ") + 6
    head = text[:cut].encode("utf-8") + target.host_header + text[cut:].encode("utf-8")
    return target, head, content


def lean_timeouts(settings: Settings, call: Call) -> tuple[float | None, float | None]:
    """(connect, read) timeouts in seconds, as ``build_request`` sets them for httpx."""
    timeout = call.timeout
    if timeout is None:
        return settings.connect_timeout, settings.timeout
    if isinstance(timeout, int | float):
        return min(float(timeout), settings.connect_timeout), float(timeout)
    return timeout.connect, timeout.read  # an httpx.Timeout


def transport_errors() -> tuple[type[Exception], ...]:
    """What a transport raises when the network fails: ``OSError`` (the lean ones), httpx's once it is loaded."""
    httpx = sys.modules.get("httpx")
    return (OSError, httpx.HTTPError) if httpx is not None else (OSError,)


def request_id_of(response: Any, body: Any = None) -> str | None:
    """The request id, from the headers or the body."""
    rid: str | None = response.headers.get("x-request-id") or response.headers.get("request-id")
    if rid:
        return rid
    if isinstance(body, dict):
        value = body.get("request_id") or body.get("id")
        return str(value) if value else None
    return None


def error_from_response(response: Any) -> APIStatusError:
    """The exception for an error response whose body has been read."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:2000]
    return make_status_error(
        response.status_code, body, request_id=request_id_of(response, body), headers=dict(response.headers)
    )


def connection_error(exc: Exception, partial: Any = None) -> APIConnectionError:
    """Map a transport failure (an httpx error, or an ``OSError`` from a lean transport) to ours."""
    httpx = sys.modules.get("httpx")
    if isinstance(exc, TimeoutError) or (httpx is not None and isinstance(exc, httpx.TimeoutException)):
        return APITimeoutError(f"Request timed out ({type(exc).__name__}).", partial=partial)
    return APIConnectionError(f"Connection error: {exc or type(exc).__name__}.", partial=partial)


def parse_body(call: Call[T], response: Any, content: bytes) -> T:
    """Read a success body with the call's parser, attaching the raw response to models."""
    if call.parse is None:
        return cast(T, content)
    try:
        result = call.parse(content)
    except GLMError:
        raise
    except Exception as exc:
        raise APIResponseValidationError(
            f"Could not read the {call.endpoint.path} response: {exc}",
            hint="The API answered an unexpected shape; report it with --debug output.",
        ) from exc
    if hasattr(result, "__pydantic_private__"):
        from glmkit.types._model import attach_raw_response

        try:
            elapsed: float | None = response.elapsed.total_seconds()
        except RuntimeError:  # httpx times a response when it closes one; a transport may hand it over closed
            elapsed = None
        attach_raw_response(
            cast("BaseModel", result),
            RawResponse(response.status_code, response.headers, request_id_of(response), elapsed),
        )
    return result


def with_options(call: Call[T], options: Mapping[str, Any]) -> Call[T]:
    """Apply per-call options (from ``split_options``) to a call."""
    return replace(call, **options) if options else call
