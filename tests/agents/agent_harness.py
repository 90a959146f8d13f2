"""The `agents` suite's harness (its fixtures are registered by ``conftest.py``; test modules import the classes
from here, never from ``conftest``, whose name other test folders share): real coding agents (installed by ``scripts/agents``) against real ``glm serve`` and
``glm emulate`` processes on 127.0.0.1. See tests/agents/README.md for how to add an agent.

Fixtures and helpers, for every agent:
- ``agent_bin(command)`` -> ``Agent`` (its executable, the PATH to run it with: Node 22+ first, its version);
  skips with one line when the pin is not installed (no registry, failed install, ``scripts/agents`` not run).
- ``emulator(*options)`` -> the URL of a fresh ``glm emulate`` process (``"--max-concurrency", "1"``, ...).
- ``gateway(emulator_url, mode, *options, env=...)`` -> ``Gateway``, a ``glm serve`` process in front of it
  (``translate`` or ``passthrough``) with its own GLMKIT_HOME (ledger, config).
- ``recorder(target_url)`` -> ``Recorder``, a loopback reverse proxy that keeps every request an agent sends
  (method, path, headers, JSON body) on its way to ``target_url``.
- ``sandbox`` -> ``Sandbox``: a private HOME and a scratch working folder, and ``env(...)`` for the agent.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from agent_install import Pin, agent_path, cache_dir, load_pins, status_of
from agent_install import agent_bin as installed_bin

from glmkit.testing import TEST_KEY, emulate_process, free_port, stop_process

# read once, before the autouse fixture clears GLMKIT_* from the environment
CACHE = cache_dir()
NODE, AGENTS = load_pins()
PATH = os.environ.get("PATH", "")
KEEP_ENV = ("PATH", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "TZ")


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Which agent releases this run uses (pytest prints it at the top)."""
    lines = []
    for pin in AGENTS.values():
        status = status_of(pin, CACHE)
        state = "installed" if status and status.get("ok") else "not installed" if status is None else "install failed"
        lines.append(f"agents: {pin.command} = {pin.spec} ({state})")
    return [*lines, f"agents cache: {CACHE} (node runtime {NODE.spec} when the machine's node is older than 22)"]


@dataclass(frozen=True)
class Agent:
    pin: Pin
    bin: Path
    path: str

    @property
    def version(self) -> str:
        return self.pin.version


def find_agent(command: str) -> Agent:
    """The installed agent, or a pytest skip saying in one line why it is not there."""
    pin = AGENTS.get(command)
    if pin is None:
        raise KeyError(f"{command!r} is not pinned in tests/agents/pins.toml")
    found = installed_bin(pin, CACHE)
    if found is None:
        status = status_of(pin, CACHE)
        why = "not installed (run scripts/agents)" if status is None else str(status.get("reason"))
        pytest.skip(f"{pin.spec}: {why}")
    return Agent(pin, found, agent_path(NODE, CACHE))


@pytest.fixture(scope="session")
def agent_bin() -> Callable[[str], Agent]:
    return find_agent


def clean_env(**extra: str) -> dict[str, str]:
    """A minimal environment: PATH and locale only (no keys, no endpoints, no proxy of the machine)."""
    env = {k: os.environ[k] for k in KEEP_ENV if k in os.environ}
    env["PATH"] = PATH
    env.update(extra)
    return env


@pytest.fixture
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., str]]:
    """Start ``glm emulate`` processes (stopped at the end of the test): ``emulator("--max-concurrency", "1")``."""
    with contextlib.ExitStack() as stack:

        def start(*options: str) -> str:
            env = clean_env(GLMKIT_HOME=str(tmp_path_factory.mktemp("emulate-home")))
            return stack.enter_context(emulate_process(*options, env=env))

        yield start


@dataclass
class Gateway:
    """A running ``glm serve``: its URL, the emulator behind it, its GLMKIT_HOME."""

    url: str
    emulator: str
    home: Path
    mode: str

    def arm(self, **fault: Any) -> None:
        """Arm a fault in the upstream emulator's fault book (``path``, ``code``, ``times``, ``skip``...)."""
        httpx.post(f"{self.emulator}/_emulator/faults", json=fault, timeout=5).raise_for_status()

    def ledger(self, route: str | None = None, at_least: int = 1) -> list[dict[str, Any]]:
        """The gateway's usage-ledger rows (of ``route``, or all), oldest first; waits up to 5 s for ``at_least``
        rows (rows reach the disk in batches, a few ms after the answer)."""
        import sqlite3

        deadline = time.monotonic() + 5
        while True:
            with contextlib.closing(sqlite3.connect(self.home / "glmkit.db")) as db:
                db.row_factory = sqlite3.Row
                rows = [dict(r) for r in db.execute("SELECT * FROM requests ORDER BY id")]
            rows = [r for r in rows if route is None or r["route"] == route]
            if len(rows) >= at_least or time.monotonic() > deadline:
                return rows
            time.sleep(0.05)


@contextlib.contextmanager
def serve_process(
    emulator: str, mode: str, home: Path, *options: str, env: dict[str, str] | None = None
) -> Iterator[Gateway]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    environ = clean_env(
        GLMKIT_HOME=str(home), ZAI_BASE_URL=f"{emulator}/api/coding/paas/v4", ZAI_API_KEY=TEST_KEY, **(env or {})
    )
    command = [sys.executable, "-m", "glmkit.cli.app", "serve", "--port", str(port), "--mode", mode, *options]
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, env=environ)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(f"{url}/health", timeout=1).raise_for_status()
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        stderr.seek(0)
                        raise RuntimeError(f"glm serve did not start: {stderr.read()[-2000:].decode()}") from None
                    time.sleep(0.05)
            yield Gateway(url, emulator, home, mode)
        finally:
            stop_process(proc)


@pytest.fixture
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Gateway]]:
    """Start ``glm serve`` processes: ``gateway(emulator_url, "passthrough", "--max-inflight", "1", env={...})``."""
    with contextlib.ExitStack() as stack:

        def start(emulator: str, mode: str, *options: str, env: dict[str, str] | None = None) -> Gateway:
            home = tmp_path_factory.mktemp("serve-home")
            return stack.enter_context(serve_process(emulator, mode, home, *options, env=env))

        yield start


@dataclass
class Sandbox:
    """A private HOME and a scratch working folder for one agent run."""

    home: Path
    cwd: Path

    def env(self, agent: Agent, **extra: str) -> dict[str, str]:
        """The agent's environment: private HOME, Node 22+ first on PATH, CI=true, plus ``extra``."""
        return clean_env(HOME=str(self.home), PATH=agent.path, CI="true", TERM="dumb", NO_COLOR="1", **extra)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """The run's folders; at the end, any process an agent left behind in them (Cline's hub daemon outlives
    ``cline`` itself) is killed, so nothing of a test outlives it."""
    home, cwd = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    cwd.mkdir()
    yield Sandbox(home, cwd)
    _kill_left_in(tmp_path)


@pytest.fixture
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A ``Sandbox`` whose paths hold no ``[...]`` (a parametrized test's tmp_path does; prompt markers cannot
    hold it); what an agent leaves running in it is killed at the end, as with ``sandbox``."""
    root = tmp_path_factory.mktemp("agent")
    home, cwd = root / "home", root / "work"
    home.mkdir()
    cwd.mkdir()
    yield Sandbox(home, cwd)
    _kill_left_in(root)


def _kill_left_in(folder: Path) -> None:
    """Kill the processes whose command line or working folder is inside ``folder`` (read from /proc)."""
    import os
    import signal

    mark = str(folder)
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if int(proc.name) == os.getpid():
                continue
            line = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            where = os.readlink(proc / "cwd")
        except OSError:
            continue
        if mark in line or where.startswith(mark):
            with contextlib.suppress(OSError):
                os.kill(int(proc.name), signal.SIGKILL)


# ---- recording proxy -----------------------------------------------------------------------------


@dataclass
class Recorder:
    """A reverse proxy on 127.0.0.1 that keeps each request (the agent's view of the wire) before relaying it."""

    target: str
    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)

    def bodies(self, path: str = "/v1/messages") -> list[dict[str, Any]]:
        """The JSON bodies of the requests to ``path`` (query string ignored), in order."""
        return [r["body"] for r in self.requests if r["path"] == path and isinstance(r.get("body"), dict)]

    def paths(self) -> list[str]:
        return [f"{r['method']} {r['path']}" for r in self.requests]

    def statuses(self, path: str = "/v1/messages") -> list[int]:
        """The HTTP status of each request to ``path``, in order."""
        return [int(r.get("status", 0)) for r in self.requests if r["path"] == path]


def _proxy_app(rec: Recorder) -> Any:
    from starlette.requests import Request
    from starlette.responses import Response, StreamingResponse

    hop = {"host", "content-length", "connection", "transfer-encoding", "keep-alive", "accept-encoding"}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in hop}
        seen: dict[str, Any] = {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "headers": headers,
            "body": body,
        }
        rec.requests.append(seen)
        client = httpx.AsyncClient(timeout=httpx.Timeout(300, connect=10))
        upstream = client.build_request(
            request.method, rec.target + request.url.path, params=request.url.query, headers=headers, content=raw
        )
        response = await client.send(upstream, stream=True)
        seen["status"] = response.status_code
        seen["response_headers"] = dict(response.headers)
        keep = {k: v for k, v in response.headers.items() if k.lower() not in hop | {"content-encoding"}}

        async def relay() -> Any:
            try:
                async for chunk in response.aiter_raw():
                    yield chunk
            finally:
                await response.aclose()
                await client.aclose()

        if request.method == "HEAD":
            await response.aclose()
            await client.aclose()
            out: Response = Response(status_code=response.status_code, headers=keep)
        else:
            out = StreamingResponse(relay(), status_code=response.status_code, headers=keep)
        await out(scope, receive, send)

    return app


@pytest.fixture
def recorder() -> Iterator[Callable[[str], Recorder]]:
    """Start recording proxies in front of a URL: ``rec = recorder(gw.url)``; point the agent at ``rec.url``."""
    import uvicorn

    servers: list[tuple[Any, threading.Thread]] = []

    def start(target: str) -> Recorder:
        rec = Recorder(target)
        port = free_port()
        rec.url = f"http://127.0.0.1:{port}"
        server = uvicorn.Server(uvicorn.Config(_proxy_app(rec), host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the recording proxy did not start")
            time.sleep(0.02)
        servers.append((server, thread))
        return rec

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)
