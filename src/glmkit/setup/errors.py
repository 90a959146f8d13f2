"""The one error of ``glm setup``: a config file that cannot be merged safely (and so was left untouched)."""

from __future__ import annotations

from glmkit._errors import InputError

__all__ = ["SetupError"]


class SetupError(InputError):
    """A config file cannot be merged safely; it was left untouched."""
