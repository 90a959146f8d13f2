"""Credentials: a Bearer API key, or a short-lived HS256 JWT signed from ``id.secret``.

The JWT follows the official SDK (reference §1.2): milliseconds in ``exp``/``timestamp``, header
``{"alg": "HS256", "sign_type": "SIGN"}``, 210 s life; we cache one token and sign a new one 30 s
before expiry, or at once when the server answers 1003 (expired).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

from glmkit._errors import InputError, redact

__all__ = ["ApiKeyAuth", "Auth", "JWTAuth", "check_key_format", "make_auth"]

_KEY_RE = re.compile(r"^[0-9A-Za-z]{8,64}\.[0-9A-Za-z]{8,64}$")
MISSING_KEY = "No API key. Set ZAI_API_KEY, run `glm setup`, or add --offline to use the emulator."
MISSING_KEY_HINT = "Keys come from the API Keys page at z.ai and look like <32 hex>.<16 letters>; `glm doctor` checks."


def check_key_format(key: str) -> str | None:
    """A human reason why ``key`` does not look like a Z.AI key, or ``None`` when it does."""
    if not key:
        return "the key is empty"
    if any(c.isspace() for c in key):
        return "the key contains white space (a stray newline or quote from copy-paste?)"
    if key.lower().startswith("bearer "):
        return "the key starts with 'Bearer ': give the key alone"
    if not _KEY_RE.match(key):
        return "a Z.AI key looks like <32 hex>.<16 letters/digits> (id.secret)"
    return None


class Auth:
    """Something that yields the ``Authorization`` header value."""

    def header(self) -> str:
        """The header value for the next request."""
        raise NotImplementedError

    def refresh(self) -> bool:
        """Drop cached credentials; ``True`` if that can change the next header (JWT), else ``False``."""
        return False


class ApiKeyAuth(Auth):
    """``Authorization: Bearer <key>``."""

    def __init__(self, key: str) -> None:
        self._key = key
        self._header = f"Bearer {key}"

    def header(self) -> str:
        """The Bearer header."""
        return self._header

    def __repr__(self) -> str:
        return f"ApiKeyAuth({redact(self._key)!r})"


class JWTAuth(Auth):
    """A cached HS256 JWT signed from an ``id.secret`` key."""

    LIFETIME_MS = 210_000
    REFRESH_MARGIN_MS = 30_000

    def __init__(self, key: str, *, clock: Callable[[], float] = time.time) -> None:
        if key.count(".") != 1:
            raise InputError("JWT auth needs a key of the form id.secret.", hint="Check the key, or use auth='key'.")
        self._id, self._secret = key.split(".", 1)
        self._clock = clock
        self._token: str | None = None
        self._expires_ms = 0
        self._lock = threading.Lock()

    def _sign(self, now_ms: int) -> str:
        import warnings

        import jwt

        payload = {"api_key": self._id, "exp": now_ms + self.LIFETIME_MS, "timestamp": now_ms}
        with warnings.catch_warnings():
            # Z.AI secrets are 16 characters by design; PyJWT's key-length advice does not apply.
            warnings.simplefilter("ignore")
            return jwt.encode(payload, self._secret, algorithm="HS256", headers={"alg": "HS256", "sign_type": "SIGN"})

    def header(self) -> str:
        """A Bearer header with a token valid for at least the refresh margin."""
        now_ms = int(self._clock() * 1000)
        with self._lock:
            if self._token is None or now_ms >= self._expires_ms - self.REFRESH_MARGIN_MS:
                self._token = self._sign(now_ms)
                self._expires_ms = now_ms + self.LIFETIME_MS
            return f"Bearer {self._token}"

    def refresh(self) -> bool:
        """Forget the cached token (after a 1003)."""
        with self._lock:
            self._token = None
        return True

    def __repr__(self) -> str:
        return f"JWTAuth(id={redact(self._id)!r})"


def make_auth(key: str | None, mode: str = "key", *, clock: Callable[[], float] = time.time) -> Auth:
    """Build the auth for a key, raising a clear ``InputError`` when there is none."""
    if not key:
        raise InputError(MISSING_KEY, hint=MISSING_KEY_HINT)
    if mode == "jwt":
        return JWTAuth(key, clock=clock)
    return ApiKeyAuth(key)
