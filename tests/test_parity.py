"""Sync/async parity, generated: every resource method and stream method of ``Client`` has an ``AsyncClient`` twin.

The resource trees are walked from the clients (cached properties and properties that return resources,
recursively), so a resource added tomorrow is checked without touching this file. A twin takes the same
parameters (names, kinds, defaults) and is awaitable, or hands back something to ``async for`` / ``async with``.
The few methods that do no I/O (local table lookups) stay plain on both sides and are listed in ``LOCAL``.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import glmkit
import glmkit.resources
from glmkit._resource import AsyncResource, SyncResource
from glmkit._streaming import AsyncStream, Stream
from glmkit.testing import TEST_KEY

Path = tuple[str, ...]
ASYNC_ITERATORS = {"AsyncIterator", "AsyncIterable", "AsyncGenerator"}
LOCAL = {"models.catalog", "models.info", "quota.phase"}
"""Plain on both clients: they read bundled tables and never send a request."""


def _never(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"the parity walk must not send anything ({request.url})")


def _surface(obj: object, path: Path = ()) -> dict[Path, Any]:
    """Public members below ``obj``: bound methods, and ``property`` for other properties; resources recurse."""
    out: dict[Path, Any] = {}
    if path and callable(obj):  # client.web_search(...) is a call on the resource itself
        out[(*path, "__call__")] = obj.__call__
    for name in dir(type(obj)):
        if name.startswith("_"):
            continue
        static = inspect.getattr_static(type(obj), name)
        if isinstance(static, property | functools.cached_property):
            value = getattr(obj, name)
            if isinstance(value, SyncResource | AsyncResource):
                out.update(_surface(value, (*path, name)))
            elif path:  # the clients' own non-resource properties (http_client) are not resources
                out[(*path, name)] = property
        elif path and callable(value := getattr(obj, name)):
            out[(*path, name)] = value
    return out


def _resource_surfaces() -> tuple[dict[Path, Any], dict[Path, Any]]:
    sync = glmkit.Client(api_key=TEST_KEY, transport=httpx.MockTransport(_never))
    async_ = glmkit.AsyncClient(api_key=TEST_KEY, transport=httpx.MockTransport(_never))
    return _surface(sync), _surface(async_)


def _stream_pairs() -> list[tuple[type, type]]:
    """Every ``Stream`` subclass in ``glmkit.resources`` with its ``AsyncStream`` twin (``AsyncX`` for ``X``)."""
    for info in pkgutil.iter_modules(glmkit.resources.__path__):
        importlib.import_module(f"glmkit.resources.{info.name}")

    def subclasses(base: type) -> dict[str, type]:
        found: dict[str, type] = {}
        todo: list[type] = [base]
        while todo:
            children: list[type] = type.__subclasses__(todo.pop())
            for cls in children:
                todo.append(cls)
                if cls.__module__.startswith("glmkit.resources"):
                    found[cls.__name__] = cls
        return found

    sync, async_ = subclasses(Stream), subclasses(AsyncStream)
    assert sync, "no stream classes found: the discovery is broken"
    missing = sorted(name for name in sync if f"Async{name}" not in async_)
    assert not missing, f"streams without an async twin: {missing}"
    return [(sync[name], async_[f"Async{name}"]) for name in sorted(sync)]


def _params(fn: Callable[..., Any]) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


def _annotation_name(fn: Callable[..., Any]) -> str:
    annotation = inspect.signature(fn).return_annotation
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", repr(annotation))
    return text.split("[", 1)[0].strip().rsplit(".", 1)[-1]


def _gives_async(fn: Callable[..., Any]) -> bool:
    """Whether calling ``fn`` gives something to ``async for`` or ``async with`` (read from its return type)."""
    name = _annotation_name(fn)
    if name in ASYNC_ITERATORS:
        return True
    cls = getattr(inspect.getmodule(fn), name, None)
    return isinstance(cls, type) and (hasattr(cls, "__aiter__") or hasattr(cls, "__aenter__"))


def _twin_problem(path: str, sync: Any, twin: Any) -> str | None:
    if sync is property or twin is property:
        return None if sync is twin else f"{path}: a property on one side only"
    if _params(sync) != _params(twin):
        return f"{path}: parameters differ: {_params(sync)} != {_params(twin)}"
    if inspect.iscoroutinefunction(twin) or inspect.isasyncgenfunction(twin) or _gives_async(twin):
        return None
    if path in LOCAL and _annotation_name(sync) == _annotation_name(twin):
        return None
    return f"{path}: the async twin neither is awaitable nor gives an async iterator or stream"


def test_the_walk_finds_the_resource_tree() -> None:
    sync, _ = _resource_surfaces()
    # a few known leaves, nested ones included: a walk that stops early would otherwise pass vacuously
    assert {("chat", "completions", "create"), ("files", "batches", "list"), ("models", "list")} <= set(sync)
    assert len(sync) > 40
    assert {".".join(path) for path in sync} >= LOCAL, "a LOCAL entry names no method"


def test_every_resource_method_has_an_async_twin_with_the_same_parameters() -> None:
    sync, async_ = _resource_surfaces()
    assert sorted(set(sync) - set(async_)) == [], "sync methods without an async twin"
    assert sorted(set(async_) - set(sync)) == [], "async methods without a sync twin"
    problems = [_twin_problem(".".join(path), sync[path], async_[path]) for path in sorted(sync)]
    assert [p for p in problems if p] == []


@pytest.mark.parametrize(("sync_cls", "async_cls"), _stream_pairs(), ids=lambda cls: cls.__name__)
def test_every_stream_has_an_async_twin_with_the_same_surface(sync_cls: type, async_cls: type) -> None:
    def members(cls: type) -> dict[str, Any]:
        return {
            name: property
            if isinstance(inspect.getattr_static(cls, name), property | functools.cached_property)
            else getattr(cls, name)
            for name in dir(cls)
            if not name.startswith("_")
        }

    sync, twin = members(sync_cls), members(async_cls)
    assert set(sync) == set(twin)
    problems = [_twin_problem(f"{sync_cls.__name__}.{name}", sync[name], twin[name]) for name in sorted(sync)]
    assert [p for p in problems if p] == []
