"""``Client`` and ``AsyncClient``: settings + transport + resources as cached properties.

Resources are imported on first use, so building a client costs no pydantic model building.
"""

from __future__ import annotations

import functools
import importlib
import threading
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

from glmkit._auth import Auth, make_auth
from glmkit._config import Settings, resolve_settings
from glmkit._errors import redact

if TYPE_CHECKING:
    import httpx

    from glmkit._async_transport import AsyncTransport
    from glmkit._flows import Flow
    from glmkit._transport import Call, SyncTransport
    from glmkit.resources.agents import Agents, AsyncAgents
    from glmkit.resources.audio import AsyncAudio, Audio
    from glmkit.resources.chat import AsyncChat, Chat
    from glmkit.resources.files import AsyncBatches, AsyncFiles, Batches, Files
    from glmkit.resources.images import AsyncImages, Images
    from glmkit.resources.models import AsyncModels, Models
    from glmkit.resources.ocr import AsyncLayoutParsing, LayoutParsing
    from glmkit.resources.quota import AsyncQuota, Quota
    from glmkit.resources.reader import AsyncReader, Reader
    from glmkit.resources.responses import AsyncResponses, Responses
    from glmkit.resources.tokenizer import AsyncTokenizer, Tokenizer
    from glmkit.resources.videos import AsyncVideos, Videos
    from glmkit.resources.web_search import AsyncWebSearch, WebSearch

__all__ = ["AsyncClient", "Client"]

_notice_lock = threading.Lock()
_notice_shown = False

CODING_NOTICE = (
    "glmkit: chat is going to the GLM Coding Plan endpoint. Z.AI's usage policy intends it for coding tools; "
    "use endpoint='general' for other work."
)


def _coding_notice(settings: Settings) -> None:
    """Say once per process that chat goes to the coding endpoint (a notice, not a nag)."""
    global _notice_shown
    if not settings.routes_chat_to_coding or settings.options.get("quiet_coding_notice"):
        return
    with _notice_lock:
        if _notice_shown:
            return
        _notice_shown = True
    warnings.warn(CODING_NOTICE, UserWarning, stacklevel=4)


def _resource(module: str, name: str) -> Any:
    """A cached property that imports ``glmkit.resources.<module>`` on first use."""

    def get(self: Any) -> Any:
        cls = getattr(importlib.import_module(f"glmkit.resources.{module}"), name)
        return cls(self)

    get.__name__ = name.lower()
    return functools.cached_property(get)


T = TypeVar("T")
HttpT = TypeVar("HttpT")
TransportT = TypeVar("TransportT")


class _ClientBase(Generic[HttpT, TransportT]):
    """What ``Client`` and ``AsyncClient`` share: settings, auth and how their transport is built.

    Args:
        api_key: the key; default from ``ZAI_API_KEY`` (``GLM_API_KEY``, ``ZHIPUAI_API_KEY``) or the config profile.
        endpoint: ``auto`` (default), ``general``, ``coding``, ``mainland-general``, ``mainland-coding``, or a URL.
        base_url: a URL for every resource (as ``ZAI_BASE_URL``), e.g. an emulator.
        profile: a profile name from the config file.
        plan: ``coding`` sends chat to the Coding Plan endpoint; ``payg`` to the general one.
        auth: ``key`` (Bearer) or ``jwt`` (signed from ``id.secret``).
        timeout: seconds per request (connect timeout is 8 s).
        max_retries: retries of retryable failures (default 3).
        http_client: an ``httpx.Client`` (``httpx.AsyncClient``) to use.
        transport: an httpx transport (tests, the in-process emulator).
        sleep: how to wait between retries and polls (tests pass a no-op).
    """

    settings: Settings
    auth: Auth | None

    def __init__(
        self,
        *,
        api_key: str | None = None,
        endpoint: str | None = None,
        base_url: str | None = None,
        profile: str | None = None,
        plan: str | None = None,
        auth: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        http_client: HttpT | None = None,
        transport: TransportT | None = None,
        sleep: Callable[[float], Any] | None = None,
        environ: Mapping[str, str] | None = None,
        config_file: Path | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.settings = settings or resolve_settings(
            api_key=api_key,
            endpoint=endpoint,
            base_url=base_url,
            profile=profile,
            plan=plan,
            auth=auth,
            timeout=timeout,
            max_retries=max_retries,
            environ=environ,
            config_file=config_file,
        )
        # No key yet is fine for building a client; the first request that needs one raises InputError.
        self.auth = make_auth(self.settings.api_key, self.settings.auth) if self.settings.api_key else None
        _coding_notice(self.settings)
        self._http_client = http_client
        self._transport_arg = transport
        self._sleep = sleep

    def _transport_options(self, given: dict[str, Any]) -> dict[str, Any]:
        """The transport's keyword arguments: ``given`` ones first, then this client's."""
        options = {"http_client": self._http_client, "transport": self._transport_arg, **given}
        if self._sleep is not None:
            options.setdefault("sleep", self._sleep)
        return options

    def _new_transport(self, **given: Any) -> object:
        raise NotImplementedError

    def _clone(self, transport: SyncTransport | AsyncTransport, **changes: Any) -> Self:
        """A client of the same kind sharing ``transport``'s connection pool, with some settings changed."""
        clone = type(self)(
            settings=self.settings.with_changes(**changes), transport=self._transport_arg, sleep=self._sleep
        )
        clone.__dict__["_transport"] = clone._new_transport(**transport.shared())
        clone.auth = self.auth
        return clone

    def _require_auth(self) -> None:
        if self.auth is None:
            make_auth(None)  # raises the InputError that names ZAI_API_KEY, `glm setup` and --offline

    def __repr__(self) -> str:
        s = self.settings
        return f"{type(self).__name__}(api_key={redact(s.api_key)!r}, base_url={s.base_url!r}, chat_base_url={s.chat_base_url!r})"


class Client(_ClientBase["httpx.Client", "httpx.BaseTransport"]):
    """The synchronous Z.AI client (arguments: see ``_ClientBase``)."""

    def _new_transport(self, **given: Any) -> SyncTransport:
        from glmkit._transport import SyncTransport

        return SyncTransport(self.settings, self.auth, **self._transport_options(given))

    @functools.cached_property
    def _transport(self) -> SyncTransport:
        return self._new_transport()

    def _request(self, call: Call[T]) -> T:
        if call.auth:
            self._require_auth()
        return self._transport.request(call)

    def _run(self, flow: Flow[T]) -> T:
        self._require_auth()
        return self._transport.run(flow)

    def with_options(self, **changes: Any) -> Client:
        """A client sharing this one's connection pool with some settings changed (``timeout``, ``max_retries``)."""
        return self._clone(self._transport, **changes)

    @property
    def http_client(self) -> httpx.Client:
        """The ``httpx.Client`` this client sends through (its pool and transport), for raw requests beside the SDK's."""
        return self._transport.http

    def close(self) -> None:
        """Close the connection pool."""
        if "_transport" in self.__dict__:
            self._transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    chat: Chat = _resource("chat", "Chat")
    models: Models = _resource("models", "Models")
    tokenizer: Tokenizer = _resource("tokenizer", "Tokenizer")
    audio: Audio = _resource("audio", "Audio")
    images: Images = _resource("images", "Images")
    videos: Videos = _resource("videos", "Videos")
    web_search: WebSearch = _resource("web_search", "WebSearch")
    reader: Reader = _resource("reader", "Reader")
    agents: Agents = _resource("agents", "Agents")
    layout_parsing: LayoutParsing = _resource("ocr", "LayoutParsing")
    files: Files = _resource("files", "Files")
    batches: Batches = _resource("files", "Batches")
    quota: Quota = _resource("quota", "Quota")
    responses: Responses = _resource("responses", "Responses")


class AsyncClient(_ClientBase["httpx.AsyncClient", "httpx.AsyncBaseTransport"]):
    """The asynchronous Z.AI client; the same arguments as ``Client``."""

    def _new_transport(self, **given: Any) -> AsyncTransport:
        from glmkit._async_transport import AsyncTransport

        return AsyncTransport(self.settings, self.auth, **self._transport_options(given))

    @functools.cached_property
    def _transport(self) -> AsyncTransport:
        return self._new_transport()

    async def _request(self, call: Call[T]) -> T:
        if call.auth:
            self._require_auth()
        return await self._transport.request(call)

    async def _run(self, flow: Flow[T]) -> T:
        self._require_auth()
        return await self._transport.run(flow)

    def with_options(self, **changes: Any) -> AsyncClient:
        """A client sharing this one's connection pool with some settings changed (``timeout``, ``max_retries``)."""
        return self._clone(self._transport, **changes)

    @property
    def http_client(self) -> httpx.AsyncClient:
        """The ``httpx.AsyncClient`` this client sends through (its pool and transport), for raw requests beside the SDK's."""
        return self._transport.http

    async def close(self) -> None:
        """Close the connection pool."""
        if "_transport" in self.__dict__:
            await self._transport.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    chat: AsyncChat = _resource("chat", "AsyncChat")
    models: AsyncModels = _resource("models", "AsyncModels")
    tokenizer: AsyncTokenizer = _resource("tokenizer", "AsyncTokenizer")
    audio: AsyncAudio = _resource("audio", "AsyncAudio")
    images: AsyncImages = _resource("images", "AsyncImages")
    videos: AsyncVideos = _resource("videos", "AsyncVideos")
    web_search: AsyncWebSearch = _resource("web_search", "AsyncWebSearch")
    reader: AsyncReader = _resource("reader", "AsyncReader")
    agents: AsyncAgents = _resource("agents", "AsyncAgents")
    layout_parsing: AsyncLayoutParsing = _resource("ocr", "AsyncLayoutParsing")
    files: AsyncFiles = _resource("files", "AsyncFiles")
    batches: AsyncBatches = _resource("files", "AsyncBatches")
    quota: AsyncQuota = _resource("quota", "AsyncQuota")
    responses: AsyncResponses = _resource("responses", "AsyncResponses")
