"""The base of every response model."""

from __future__ import annotations

import pydantic

from glmkit.types._base import JSONObject, RawResponse

_object_setattr = object.__setattr__


class Model(pydantic.BaseModel):
    """Base of every response model: unknown fields are kept, so a field the API adds never breaks a user."""

    model_config = pydantic.ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=())

    # The raw response lives in ``__pydantic_private__`` under ``_raw_response`` but is NOT declared as a
    # ``PrivateAttr``: a declared one makes pydantic call back into Python (``model_post_init``) for every
    # instance it builds, nested ones included, which was half the cost of parsing a stream chunk.

    @property
    def raw_response(self) -> RawResponse | None:
        """The HTTP status, headers, request id and elapsed time of the response this came from (or ``None``)."""
        private = self.__pydantic_private__
        return private.get("_raw_response") if private else None

    def to_dict(self) -> JSONObject:
        """The model as plain JSON-ready data, with unknown fields kept and unset ones left out."""
        return self.model_dump(mode="json", exclude_unset=True)

    def to_json(self, *, indent: int | None = None) -> str:
        """The model as JSON text."""
        return self.model_dump_json(exclude_unset=True, indent=indent)


def attach_raw_response(model: pydantic.BaseModel, raw: RawResponse) -> None:
    """Remember the HTTP response a model was read from (what ``Model.raw_response`` returns)."""
    private = model.__pydantic_private__
    if private is None:
        _object_setattr(model, "__pydantic_private__", {"_raw_response": raw})
    else:
        private["_raw_response"] = raw
