"""For tests and users' CI: the emulator in-process (httpx transports, no socket) or on a loopback port.

```python
from glmkit.testing import offline_client, EmulatorServer
client = offline_client()                      # a Client wired to an in-process emulator
with EmulatorServer() as server:               # a real server on 127.0.0.1:<free port>
    client = Client(api_key=server.api_key, base_url=server.base_url)
```
Unlike ``httpx.ASGITransport`` (which buffers a whole body), these transports stream, so chunk
timing and cut streams behave as over a socket.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from glmkit._client import AsyncClient, Client

if TYPE_CHECKING:
    from glmkit.emulator.state import EmulatorState

__all__ = [
    "TEST_KEY",
    "AsyncEmulatorTransport",
    "EmulatorServer",
    "EmulatorTransport",
    "async_offline_client",
    "emulate_process",
    "offline_client",
    "stop_process",
]

log = logging.getLogger(__name__)

TEST_KEY = "0123456789abcdef0123456789abcdef.glmkitEmulator01"
OFFLINE_BASE = "http://emulator.invalid/api/paas/v4"


class _AsyncBody(httpx.AsyncByteStream):
    def __init__(self, queue: asyncio.Queue[bytes | None], task: asyncio.Task[None], disconnect: asyncio.Event):
        self._queue = queue
        self._task = task
        self._disconnect = disconnect
        self._ended = False

    # An iterator object, not an async generator: a generator left unfinished would be closed by the
    # garbage collector on whatever loop is current then, and Python 3.13 warns when none runs it.
    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        chunk = None if self._ended else await self._queue.get()
        if chunk is not None:
            return chunk
        self._ended = True
        if self._task.done() and not self._task.cancelled() and self._task.exception() is not None:
            raise httpx.ReadError("the emulator app failed") from self._task.exception()
        raise StopAsyncIteration

    async def aclose(self) -> None:
        self._disconnect.set()
        if not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            except Exception:  # the app failed while its unread body was dropped: logged, not raised from aclose
                log.warning("the emulator app failed after its response was closed", exc_info=True)


def _scope(request: httpx.Request) -> dict[str, Any]:
    """The ASGI scope of an HTTP request, as a server on 127.0.0.1 would give it."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": request.url.scheme,
        "path": request.url.path,
        "raw_path": request.url.raw_path.split(b"?")[0],
        "query_string": request.url.query,
        "root_path": "",
        "headers": [(k.lower(), v) for k, v in request.headers.raw],
        "client": ("127.0.0.1", 1),
        "server": (request.url.host, request.url.port or 80),
    }


class AsyncEmulatorTransport(httpx.AsyncBaseTransport):
    """An httpx async transport that runs an ASGI app in-process and streams its body."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        scope = _scope(request)
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        started = asyncio.get_running_loop().create_future()
        disconnect = asyncio.Event()
        sent_body = False

        async def receive() -> dict[str, Any]:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            await disconnect.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                if not started.done():  # the caller may have been cancelled while waiting for the answer
                    started.set_result(message)
            elif message["type"] == "http.response.body":
                if message.get("body"):
                    queue.put_nowait(message["body"])
                if not message.get("more_body", False):
                    queue.put_nowait(None)

        async def run() -> None:
            try:
                await self.app(scope, receive, send)
            except BaseException as exc:
                if not started.done():
                    started.set_exception(exc if isinstance(exc, Exception) else RuntimeError(str(exc)))
                queue.put_nowait(None)
                raise
            else:
                queue.put_nowait(None)

        task = asyncio.create_task(run())
        try:
            start = await started
        except Exception as exc:
            raise httpx.ConnectError(f"the emulator app failed: {exc}", request=request) from exc
        return httpx.Response(
            start["status"],
            headers=start.get("headers", []),
            stream=_AsyncBody(queue, task, disconnect),
            request=request,
        )


class _LoopThread:
    """A private event loop on a daemon thread (it never keeps the interpreter alive)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="glmkit-emulator", daemon=True)
        self.thread.start()

    def call(self, fn: Any, *args: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(fn(*args), self.loop).result()

    def close(self) -> None:
        """Cancels what still runs on the loop, stops it and closes it (no unclosed loop left behind)."""
        if self.loop.is_closed():
            return
        if self.thread.is_alive():
            # a loop that does not answer in time, or stops (cancelling the future) while it does
            with contextlib.suppress(TimeoutError, concurrent.futures.CancelledError, RuntimeError):
                asyncio.run_coroutine_threadsafe(_cancel_the_rest(), self.loop).result(timeout=5)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=5)
        if not self.thread.is_alive():
            self.loop.close()


async def _cancel_the_rest() -> None:
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.get_running_loop().shutdown_asyncgens()


class _SyncBody(httpx.SyncByteStream):
    def __init__(self, loop: _LoopThread, response: httpx.Response) -> None:
        self._loop = loop
        self._response = response

    def __iter__(self) -> Iterator[bytes]:
        self._iterator = iterator = self._response.aiter_raw()
        while True:
            try:
                chunk = self._loop.call(iterator.__anext__)
            except StopAsyncIteration:
                break
            yield chunk

    def close(self) -> None:
        iterator = getattr(self, "_iterator", None)
        if iterator is not None:  # close the async generator on its own loop, not in the garbage collector
            self._loop.call(iterator.aclose)
        self._loop.call(self._response.aclose)


class EmulatorTransport(httpx.BaseTransport):
    """A sync httpx transport over an in-process ASGI app, run on a private event loop thread."""

    def __init__(self, app: Any) -> None:
        self._inner = AsyncEmulatorTransport(app)
        self._loop = _LoopThread()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        content = request.read()
        areq = httpx.Request(request.method, request.url, headers=request.headers, content=content)
        aresp = self._loop.call(self._inner.handle_async_request, areq)
        return httpx.Response(
            aresp.status_code, headers=aresp.headers, stream=_SyncBody(self._loop, aresp), request=request
        )

    def close(self) -> None:
        self._loop.close()


def _app(app: Any = None, **config: Any) -> Any:
    if app is not None:
        return app
    from glmkit.emulator import EmulatorConfig, create_app

    return create_app(EmulatorConfig(**config))


def _isolate(kwargs: dict[str, Any]) -> None:
    """An emulator client ignores this machine's environment and config file (tests stay repeatable)."""
    kwargs.setdefault("environ", {})
    if "settings" not in kwargs:
        kwargs.setdefault("config_file", Path(os.devnull))


def offline_client(app: Any = None, *, api_key: str = TEST_KEY, **kwargs: Any) -> Client:
    """A ``Client`` talking to an in-process emulator (``app``, or a new one)."""
    _isolate(kwargs)
    return Client(
        api_key=api_key, base_url=kwargs.pop("base_url", OFFLINE_BASE), transport=EmulatorTransport(_app(app)), **kwargs
    )


def async_offline_client(app: Any = None, *, api_key: str = TEST_KEY, **kwargs: Any) -> AsyncClient:
    """An ``AsyncClient`` talking to an in-process emulator."""
    _isolate(kwargs)
    return AsyncClient(
        api_key=api_key,
        base_url=kwargs.pop("base_url", OFFLINE_BASE),
        transport=AsyncEmulatorTransport(_app(app)),
        **kwargs,
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class EmulatorServer:
    """The emulator under uvicorn on ``127.0.0.1:<free port>`` in a thread; stops on exit."""

    def __init__(self, app: Any = None, *, host: str = "127.0.0.1", port: int = 0, **config: Any) -> None:
        self.app = _app(app, **config)
        self.host = host
        self.port = port or free_port(host)
        self.api_key = TEST_KEY
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The general API base on this server."""
        return f"{self.url}/api/paas/v4"

    @property
    def coding_base_url(self) -> str:
        """The coding API base on this server."""
        return f"{self.url}/api/coding/paas/v4"

    @property
    def state(self) -> EmulatorState:
        """The emulator's state (faults, request log, jobs)."""
        state: EmulatorState = self.app.state.emulator
        return state

    def start(self) -> EmulatorServer:
        """Start serving; returns once the port accepts connections."""
        import uvicorn

        config = uvicorn.Config(self.app, host=self.host, port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the emulator did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def emulate_process(*args: str, env: Mapping[str, str] | None = None, timeout: float = 20.0) -> Iterator[str]:
    """Run ``glm emulate`` as a subprocess on a free loopback port; yield its URL once it answers.

    ``args`` are extra ``glm emulate`` options (``"--keys", TEST_KEY``, ``"--chunk-delay", "0.2"``). The process
    is terminated on exit; if it dies or does not answer within ``timeout`` seconds, ``RuntimeError`` carries the
    end of its stderr.
    """
    import subprocess  # here, not at the top: `glm --offline` imports this module on every run
    import sys
    import tempfile

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "glmkit.cli.app", "emulate", "--port", str(port), *args]
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, env=env)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    httpx.get(f"{url}/_emulator/health", timeout=1)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        stderr.seek(0)
                        tail = stderr.read()[-2000:].decode(errors="replace")
                        raise RuntimeError(f"glm emulate did not start on {url}: {tail}") from None
                    time.sleep(0.05)
            yield url
        finally:
            stop_process(proc)


def stop_process(proc: Any, timeout: float = 10.0) -> None:
    """Terminate a ``subprocess.Popen`` and wait for it; kill it if it is still there after ``timeout`` seconds."""
    import subprocess

    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
