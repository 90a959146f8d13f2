"""Gateway fixtures: `glm emulate` and `glm serve` as real processes on loopback ports, or servers in threads.

`glm emulate` runs twice per module, over plain http and over https (a certificate made for the run with
`trustme`, trusted by `glm serve` through SSL_CERT_FILE), so the end-to-end suite covers the TLS path that
api.z.ai users run.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from glmkit.testing import TEST_KEY, EmulatorServer, free_port


class EmulatorURL(str):
    """The base URL of a `glm emulate` process; ``cafile`` is the CA that signed its certificate (https only)."""

    cafile: str | None = None


def _verify(cafile: str | None) -> Any:
    return ssl.create_default_context(cafile=cafile) if cafile else True


def _wait(
    url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 20, cafile: str | None = None
) -> None:
    deadline = time.monotonic() + timeout
    verify = _verify(cafile)
    while True:
        try:
            if httpx.get(url, timeout=1, verify=verify).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or (proc is not None and proc.poll() is not None):
            err = proc.stderr.read().decode() if proc is not None and proc.stderr and proc.poll() is not None else ""
            raise RuntimeError(f"{url} did not come up: {err}")
        time.sleep(0.05)


@contextlib.contextmanager
def run_glm(
    args: list[str], env: dict[str, str], health: str, cafile: str | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `glm <args>` as a subprocess until the block ends (killed in finally)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "glmkit.cli.app", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    )
    try:
        _wait(health, proc, cafile=cafile)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        if proc.stderr is not None:
            proc.stderr.close()


def base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZAI_", "GLM_", "ANTHROPIC_", "OPENAI_"))}
    env["GLMKIT_HOME"] = str(home)
    return env


def emulator_tls(home: Path) -> tuple[str, list[str]]:
    """A certificate for 127.0.0.1 made now with ``trustme``: (the CA file, `glm emulate`'s TLS arguments)."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cafile, chain, key = str(home / "ca.pem"), str(home / "chain.pem"), str(home / "key.pem")
    ca.cert_pem.write_to_path(cafile)
    cert.private_key_and_cert_chain_pem.write_to_path(chain)
    cert.private_key_pem.write_to_path(key)
    return cafile, ["--ssl-certfile", chain, "--ssl-keyfile", key]


@contextlib.contextmanager
def emulator_process(home: Path, scheme: str, *extra: str) -> Iterator[EmulatorURL]:
    """`glm emulate <extra>` as a real process over ``scheme`` (``http`` or ``https``); for https, the test process
    trusts its CA (SSL_CERT_FILE) until the block ends, and so do the `glm` processes it starts."""
    port = free_port()
    env = base_env(home)
    args = ["emulate", "--port", str(port), *extra]
    cafile = None
    if scheme == "https":
        cafile, tls = emulator_tls(home)
        args += tls
    url = EmulatorURL(f"{scheme}://127.0.0.1:{port}")
    url.cafile = cafile
    with contextlib.ExitStack() as stack:
        if cafile:
            # tests that call the emulator directly (httpx, the openai and anthropic SDKs) trust it too: every one
            # of them reads SSL_CERT_FILE; certifi's roots stay in the bundle
            import certifi

            bundle = home / "bundle.pem"
            bundle.write_text(Path(certifi.where()).read_text() + Path(cafile).read_text())
            stack.enter_context(pytest.MonkeyPatch.context()).setenv("SSL_CERT_FILE", str(bundle))
        stack.enter_context(run_glm(args, env, f"{url}/_emulator/health", cafile=cafile))
        yield url


SCHEMES = ["http", "https"]
"""The upstream schemes every end-to-end module runs over: api.z.ai is https."""


@pytest.fixture(scope="module", params=SCHEMES)
def emulate_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorURL]:
    """`glm emulate` as a real process, over plain http and over https."""
    with emulator_process(tmp_path_factory.mktemp("emu-home"), request.param) as url:
        yield url


class Serve:
    """A running `glm serve` and the emulator behind it."""

    def __init__(self, url: str, emulator: str, home: Path, mode: str) -> None:
        self.url = url
        self.emulator = emulator
        self.home = home
        self.mode = mode
        self.verify = _verify(getattr(emulator, "cafile", None))

    def arm(self, **fault: Any) -> None:
        """Arm a fault on the upstream emulator (its admin route)."""
        httpx.post(f"{self.emulator}/_emulator/faults", json=fault, timeout=5, verify=self.verify).raise_for_status()

    def disarm(self) -> None:
        httpx.delete(f"{self.emulator}/_emulator/faults", timeout=5, verify=self.verify).raise_for_status()


def upstream_env(home: Path, emulator: str) -> dict[str, str]:
    """The environment of a `glm` process whose upstream is ``emulator``: its base URL and key and, over https, its
    CA (SSL_CERT_FILE), trusted as a corporate one would be."""
    env = base_env(home)
    env.update({"ZAI_BASE_URL": f"{emulator}/api/coding/paas/v4", "ZAI_API_KEY": TEST_KEY})
    cafile = getattr(emulator, "cafile", None)
    if cafile:
        env["SSL_CERT_FILE"] = cafile
    return env


@contextlib.contextmanager
def serve_process(emulator: str, home: Path, mode: str, *extra: str) -> Iterator[Serve]:
    port = free_port()
    env = upstream_env(home, emulator)
    env["GLM_MAX_RETRIES"] = "2"
    args = ["serve", "--port", str(port), "--mode", mode, *extra]
    with run_glm(args, env, f"http://127.0.0.1:{port}/health"):
        yield Serve(f"http://127.0.0.1:{port}", emulator, home, mode)


@pytest.fixture(scope="module", params=["translate", "passthrough"])
def serve(
    request: pytest.FixtureRequest, emulate_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Serve]:
    """`glm serve` (each mode) as a real process, backed by `glm emulate`."""
    with serve_process(emulate_url, tmp_path_factory.mktemp("serve-home"), request.param) as s:
        yield s
        s.disarm()


class ThreadServer:
    """Any ASGI app under uvicorn on 127.0.0.1 in a thread (lifespan on), stopped on exit."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ThreadServer:
        import uvicorn

        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        _wait(f"{self.url}/health")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def emulator_one() -> Iterator[EmulatorServer]:
    """An emulator that allows one request in flight per model (1302 beyond it)."""
    with EmulatorServer(max_concurrency=1, chunk_delay=0.002) as server:
        yield server
