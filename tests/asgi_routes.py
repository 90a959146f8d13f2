"""The routes of a Starlette app, for tests that must cover every one (new routes are covered as they land)."""

from __future__ import annotations

from typing import Any


def post_routes(app: Any) -> list[str]:
    """Every POST path of ``app`` (mounts walked), path parameters filled in with ``x``."""
    from starlette.routing import Mount, Route

    found: list[str] = []

    def walk(routes: list[Any], prefix: str) -> None:
        for route in routes:
            if isinstance(route, Mount):
                walk(list(route.routes), prefix + route.path)
            elif isinstance(route, Route) and "POST" in (route.methods or ()):
                path = prefix + route.path
                while "{" in path:
                    path = path[: path.index("{")] + "x" + path[path.index("}") + 1 :]
                found.append(path)

    walk(list(app.routes), "")
    return found
