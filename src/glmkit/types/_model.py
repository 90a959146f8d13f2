"""The base of every response model."""

from __future__ import annotations

from typing import Any

import pydantic


class Model(pydantic.BaseModel):
    """Base of every response model: unknown fields are kept, so a field the API adds never breaks a user."""

    model_config = pydantic.ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=())

    _raw_response: Any = pydantic.PrivateAttr(default=None)

    @property
    def raw_response(self) -> Any:
        """The HTTP status, headers, request id and elapsed time of the response this came from (or ``None``)."""
        return self._raw_response

    def to_dict(self) -> dict[str, Any]:
        """The model as plain JSON-ready data, with unknown fields kept and unset ones left out."""
        return self.model_dump(mode="json", exclude_unset=True)

    def to_json(self, *, indent: int | None = None) -> str:
        """The model as JSON text."""
        return self.model_dump_json(exclude_unset=True, indent=indent)
