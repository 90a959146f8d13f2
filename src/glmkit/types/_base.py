"""Base pieces of the wire contract that need no pydantic: the route record and the NOT_GIVEN sentinel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Base = Literal["chat", "general", "root", "anthropic"]
"""Which base URL a route hangs off.

- ``chat``: the coding endpoint when the profile has a Coding Plan, else the general one.
- ``general``: ``.../api/paas/v4``.
- ``root``: ``.../api`` (agents under ``/v1/agents``, the plan monitor under ``/monitor``, MCP under ``/mcp``).
- ``anthropic``: ``.../api/anthropic``.
"""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One route of the API: method, path below its base, and which base."""

    method: str
    path: str
    base: Base = "general"

    def format(self, **kwargs: str) -> Endpoint:
        """Fill the ``{placeholders}`` of the path."""
        return Endpoint(self.method, self.path.format(**kwargs), self.base)


class NotGiven:
    """The sentinel for "the caller did not pass this", which differs from an explicit ``None``."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()
