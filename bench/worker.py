"""One benchmark process: one client, one or more measurements, one JSON line on stdout.

The harness starts a fresh process per client and repetition (pinned to the client core), so an
import, a warm cache or a leftover connection of one client never helps another. This module
imports only the standard library at the top: each client's package is imported by its task.

Usage: ``python -m bench.worker '{"client": "openai", "tasks": ["seq", "stream"], "raw": URL, ...}'``
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

KEY = "0123456789abcdef0123456789abcdef.glmkitEmulator01"  # well-formed for the emulator (testing.TEST_KEY)
MODEL = "glm-4.7"
MESSAGES: Any = [{"role": "user", "content": "Say something."}]
WARM_MESSAGES: Any = [{"role": "user", "content": "warmup"}]  # the raw server answers a short stream to these
INFLIGHT = 64

CLIENTS = ("glmkit_sync", "glmkit_async", "openai", "zai", "httpx")
ASYNC_CLIENTS = ("glmkit_async", "httpx_async")


# ---- client adapters: the code a user would write, nothing more ----------------------------------------------
#
# Each adapter has ``req()`` (one chat completion, its text touched), ``stream(warm)`` (one streamed answer,
# iterating the SDK's chunk objects and touching ``chunk.choices[0].delta.content``; returns the chunk count)
# and, where the package has an async client, ``areq()`` for the concurrency test. For async columns
# ``req``/``stream`` are coroutines.


def _stream_headers(warm: bool) -> dict[str, str]:
    # The emulator sizes its answer from this header; the raw server ignores it.
    return {"X-Emulator-Chunks": "20" if warm else "5000"}


class GlmkitSync:
    def __init__(self, url: str) -> None:
        import glmkit

        self.client = glmkit.Client(api_key=KEY, base_url=url)
        self.completions = self.client.chat.completions

    def req(self) -> int:
        r = self.completions.create(model=MODEL, messages=MESSAGES)
        assert r.choices[0].message.content
        return 1

    def stream(self, warm: bool = False) -> int:
        n = 0
        for chunk in self.completions.create(
            model=MODEL,
            messages=WARM_MESSAGES if warm else MESSAGES,
            stream=True,
            extra_headers=_stream_headers(warm),
        ):
            if chunk.choices:
                chunk.choices[0].delta.content  # noqa: B018  # touch it, as a user does
            n += 1
        return n

    def async_client(self) -> Any:
        return None


class GlmkitAsync:
    is_async = True

    def __init__(self, url: str) -> None:
        import glmkit

        self.client = glmkit.AsyncClient(api_key=KEY, base_url=url)
        self.completions = self.client.chat.completions

    async def req(self) -> int:
        r = await self.completions.create(model=MODEL, messages=MESSAGES)
        assert r.choices[0].message.content
        return 1

    async def stream(self, warm: bool = False) -> int:
        n = 0
        stream = await self.completions.create(
            model=MODEL,
            messages=WARM_MESSAGES if warm else MESSAGES,
            stream=True,
            extra_headers=_stream_headers(warm),
        )
        async for chunk in stream:
            if chunk.choices:
                chunk.choices[0].delta.content  # noqa: B018
            n += 1
        return n

    def async_client(self) -> Any:
        return self


class OpenAISync:
    def __init__(self, url: str) -> None:
        import openai

        self.url = url
        self.client = openai.OpenAI(api_key=KEY, base_url=url)

    def req(self) -> int:
        r = self.client.chat.completions.create(model=MODEL, messages=MESSAGES)  # type: ignore[arg-type]
        assert r.choices[0].message.content
        return 1

    def stream(self, warm: bool = False) -> int:
        n = 0
        for chunk in self.client.chat.completions.create(
            model=MODEL,
            messages=WARM_MESSAGES if warm else MESSAGES,  # type: ignore[arg-type]
            stream=True,
            extra_headers=_stream_headers(warm),
        ):
            if chunk.choices:
                chunk.choices[0].delta.content  # noqa: B018
            n += 1
        return n

    def async_client(self) -> Any:
        import openai

        client = openai.AsyncOpenAI(api_key=KEY, base_url=self.url)

        class _A:
            async def req(self) -> int:
                r = await client.chat.completions.create(model=MODEL, messages=MESSAGES)  # type: ignore[arg-type]
                assert r.choices[0].message.content
                return 1

        return _A()


class ZaiSync:
    def __init__(self, url: str) -> None:
        from zai import ZaiClient

        self.client = ZaiClient(api_key=KEY, base_url=url)

    def req(self) -> int:
        r: Any = self.client.chat.completions.create(model=MODEL, messages=MESSAGES)
        assert r.choices[0].message.content
        return 1

    def stream(self, warm: bool = False) -> int:
        n = 0
        for chunk in self.client.chat.completions.create(
            model=MODEL,
            messages=WARM_MESSAGES if warm else MESSAGES,
            stream=True,
            extra_headers=_stream_headers(warm),
        ):
            if chunk.choices:
                chunk.choices[0].delta.content  # noqa: B018
            n += 1
        return n

    def async_client(self) -> Any:
        return None  # zai-sdk has no async client


class HttpxRaw:
    """The floor: httpx plus ``json.loads``, no types, no checks beyond the status."""

    def __init__(self, url: str) -> None:
        import httpx

        self.httpx = httpx
        self.url = url.rstrip("/") + "/chat/completions"
        self.headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
        self.body = json.dumps({"model": MODEL, "messages": MESSAGES}).encode()
        self.client = httpx.Client()

    def req(self) -> int:
        r = self.client.post(self.url, content=self.body, headers=self.headers)
        r.raise_for_status()
        assert json.loads(r.content)["choices"][0]["message"]["content"]
        return 1

    def stream(self, warm: bool = False) -> int:
        body = json.dumps({"model": MODEL, "messages": WARM_MESSAGES if warm else MESSAGES, "stream": True}).encode()
        n = 0
        with self.client.stream("POST", self.url, content=body, headers={**self.headers, **_stream_headers(warm)}) as r:
            r.raise_for_status()
            for line in r.iter_lines():
                if line.startswith("data:"):
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    chunk = json.loads(data)
                    if chunk["choices"]:
                        chunk["choices"][0]["delta"].get("content")
                    n += 1
        return n

    def async_client(self) -> Any:
        httpx = self.httpx
        # httpx's default limits (100 connections, 20 kept alive) are its best with 64 in flight: its pool slows
        # down with the number of idle connections (130 req/s with 64 kept alive vs 550 with 20, measured here).
        client = httpx.AsyncClient()
        url, headers, body = self.url, self.headers, self.body

        class _A:
            async def req(self) -> int:
                r = await client.post(url, content=body, headers=headers)
                r.raise_for_status()
                assert json.loads(r.content)["choices"][0]["message"]["content"]
                return 1

        return _A()


class HttpxAsyncRaw:
    """The floor of the glmkit async column: httpx's AsyncClient plus ``json.loads``."""

    is_async = True

    def __init__(self, url: str) -> None:
        import httpx

        self.url = url.rstrip("/") + "/chat/completions"
        self.headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
        self.body = json.dumps({"model": MODEL, "messages": MESSAGES}).encode()
        self.client = httpx.AsyncClient()

    async def req(self) -> int:
        r = await self.client.post(self.url, content=self.body, headers=self.headers)
        r.raise_for_status()
        assert json.loads(r.content)["choices"][0]["message"]["content"]
        return 1

    async def stream(self, warm: bool = False) -> int:
        body = json.dumps({"model": MODEL, "messages": WARM_MESSAGES if warm else MESSAGES, "stream": True}).encode()
        n = 0
        async with self.client.stream(
            "POST", self.url, content=body, headers={**self.headers, **_stream_headers(warm)}
        ) as r:
            r.raise_for_status()
            async for line in r.aiter_lines():
                if line.startswith("data:"):
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    chunk = json.loads(data)
                    if chunk["choices"]:
                        chunk["choices"][0]["delta"].get("content")
                    n += 1
        return n


ADAPTERS: dict[str, Any] = {
    "httpx_async": HttpxAsyncRaw,
    "glmkit_sync": GlmkitSync,
    "glmkit_async": GlmkitAsync,
    "openai": OpenAISync,
    "zai": ZaiSync,
    "httpx": HttpxRaw,
}


# ---- measurements ------------------------------------------------------------------------------------------


def _timed_sync(fn: Any, duration: float, min_iters: int = 1) -> dict[str, float]:
    units = iters = 0
    c0, t0 = time.process_time(), time.perf_counter()
    while True:
        units += fn()
        iters += 1
        if iters >= min_iters and time.perf_counter() - t0 >= duration:
            break
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"rate": units / wall, "units": units, "wall": wall, "cpu_us_per_unit": cpu / units * 1e6}


async def _timed_async(fn: Any, duration: float, min_iters: int = 1) -> dict[str, float]:
    units = iters = 0
    c0, t0 = time.process_time(), time.perf_counter()
    while True:
        units += await fn()
        iters += 1
        if iters >= min_iters and time.perf_counter() - t0 >= duration:
            break
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"rate": units / wall, "units": units, "wall": wall, "cpu_us_per_unit": cpu / units * 1e6}


async def _concurrent(areq: Any, duration: float) -> dict[str, float]:
    import asyncio

    await asyncio.gather(*(areq() for _ in range(INFLIGHT)))  # warm-up: opens the connections
    count = 0
    deadline = time.perf_counter() + duration

    async def one() -> None:
        nonlocal count
        while time.perf_counter() < deadline:
            await areq()
            count += 1

    c0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one() for _ in range(INFLIGHT)))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"rate": count / wall, "units": count, "wall": wall, "cpu_us_per_unit": cpu / count * 1e6}


def run_sync(adapter: Any, task: str, spec: dict[str, Any]) -> dict[str, Any]:
    d = spec["duration"]
    if task in ("seq", "seq_emu"):
        for _ in range(20):
            adapter.req()
        return _timed_sync(adapter.req, d, 5)
    if task in ("stream", "stream_emu"):
        adapter.stream(warm=True)
        return _timed_sync(adapter.stream, d, 1)
    if task == "conc":
        a = adapter.async_client()
        if a is None:
            return {"na": "no async client"}
        import asyncio

        return asyncio.run(_concurrent(a.req, d))
    raise ValueError(task)


async def run_async(adapter: Any, task: str, spec: dict[str, Any]) -> dict[str, Any]:
    d = spec["duration"]
    if task in ("seq", "seq_emu"):
        for _ in range(20):
            await adapter.req()
        return await _timed_async(adapter.req, d, 5)
    if task in ("stream", "stream_emu"):
        await adapter.stream(warm=True)
        return await _timed_async(adapter.stream, d, 1)
    if task == "conc":
        return await _concurrent(adapter.req, d)
    raise ValueError(task)


# Start-up is timed in a pristine interpreter (``python -c``): nothing but ``time`` imported before the package,
# so a module this file imports (typing, json) is not counted as free for anyone. ``{url}`` and ``{key}`` are
# filled in; the script prints "<import ms> <import + client + first reply ms>".
FIRST_REPLY = {
    "glmkit_sync": """
import glmkit
t1 = time.perf_counter()
c = glmkit.Client(api_key=KEY, base_url=URL)
assert c.chat.completions.create(model="glm-4.7", messages=[{"role": "user", "content": "hi"}]).choices[0].message.content
""",
    "glmkit_async": """
import glmkit
t1 = time.perf_counter()
import asyncio
async def main():
    c = glmkit.AsyncClient(api_key=KEY, base_url=URL)
    r = await c.chat.completions.create(model="glm-4.7", messages=[{"role": "user", "content": "hi"}])
    assert r.choices[0].message.content
asyncio.run(main())
""",
    "openai": """
import openai
t1 = time.perf_counter()
c = openai.OpenAI(api_key=KEY, base_url=URL)
assert c.chat.completions.create(model="glm-4.7", messages=[{"role": "user", "content": "hi"}]).choices[0].message.content
""",
    "zai": """
import zai
t1 = time.perf_counter()
c = zai.ZaiClient(api_key=KEY, base_url=URL)
assert c.chat.completions.create(model="glm-4.7", messages=[{"role": "user", "content": "hi"}]).choices[0].message.content
""",
    "httpx_async": """
import httpx
t1 = time.perf_counter()
import asyncio, json
async def main():
    async with httpx.AsyncClient() as c:
        r = await c.post(URL + "/chat/completions", headers={"Authorization": "Bearer " + KEY},
                         json={"model": "glm-4.7", "messages": [{"role": "user", "content": "hi"}]})
    r.raise_for_status()
    assert json.loads(r.content)["choices"][0]["message"]["content"]
asyncio.run(main())
""",
    "httpx": """
import httpx
t1 = time.perf_counter()
import json
r = httpx.post(URL + "/chat/completions", headers={"Authorization": "Bearer " + KEY},
               json={"model": "glm-4.7", "messages": [{"role": "user", "content": "hi"}]})
r.raise_for_status()
assert json.loads(r.content)["choices"][0]["message"]["content"]
""",
}


def first_reply_script(client: str, url: str) -> str:
    """The ``python -c`` program timing ``import`` and import + client + first reply."""
    body = FIRST_REPLY[client]
    return (
        "import time\nt0 = time.perf_counter()\n"
        + f"KEY = {KEY!r}\nURL = {url!r}\n"
        + body.strip("\n")
        + "\nt2 = time.perf_counter()\nprint((t1 - t0) * 1000, (t2 - t0) * 1000)\n"
    )


def memory(client: str, url: str) -> dict[str, Any]:
    """Peak resident memory after import, a client, 20 requests and one 5,000-chunk stream."""
    import resource

    adapter = ADAPTERS[client](url)
    if getattr(adapter, "is_async", False):
        import asyncio

        async def work() -> None:
            for _ in range(20):
                await adapter.req()
            await adapter.stream()

        asyncio.run(work())
    else:
        for _ in range(20):
            adapter.req()
        adapter.stream()
    return {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


async def _run_tasks_async(client: str, tasks: list[str], spec: dict[str, Any], out: dict[str, Any]) -> None:
    # One event loop for every task: an async client's connections belong to the loop that opened them.
    adapters: dict[str, Any] = {}
    for task in tasks:
        url = spec["emu"] if task.endswith("_emu") else spec["raw"]
        if url is None:
            continue
        try:
            adapter = adapters.get(url) or adapters.setdefault(url, ADAPTERS[client](url))
            out[task] = await run_async(adapter, task, spec)
        except Exception as exc:
            out[task] = {"error": f"{type(exc).__name__}: {exc}"[:300]}


def main() -> None:
    spec = json.loads(sys.argv[1])
    if spec.get("core") is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {spec["core"]})
    client = spec["client"]
    out: dict[str, Any] = {"client": client}
    tasks = spec["tasks"]
    if tasks == ["memory"]:
        out["memory"] = memory(client, spec["raw"])
    elif client in ASYNC_CLIENTS:
        import asyncio

        asyncio.run(_run_tasks_async(client, tasks, spec, out))
    else:
        adapters: dict[str, Any] = {}
        for task in tasks:
            url = spec["emu"] if task.endswith("_emu") else spec["raw"]
            if url is None:
                continue
            try:
                adapter = adapters.get(url) or adapters.setdefault(url, ADAPTERS[client](url))
                out[task] = run_sync(adapter, task, spec)
            except Exception as exc:  # one client failing a task is a result, not a crash of the run
                out[task] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
