"""Base pieces of the wire contract that need no pydantic: the route record, the NOT_GIVEN sentinel, the JSON
types and what a result keeps of its HTTP response."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

JSONValue: TypeAlias = str | int | float | bool | None | list["JSONValue"] | dict[str, "JSONValue"]
"""Any value JSON can carry (what ``json.loads`` gives back)."""
JSONObject: TypeAlias = dict[str, JSONValue]
"""A JSON object: a request body, a model's ``to_dict()``, a tool's API form."""

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


@dataclass(frozen=True, slots=True)
class RawResponse:
    """What a result keeps of its HTTP response (``Model.raw_response``)."""

    status_code: int
    headers: Mapping[str, str]
    request_id: str | None
    elapsed: float | None
    """Seconds from sending to the last byte; ``None`` when the transport gave no timing."""
