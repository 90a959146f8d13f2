"""Who may call the emulator (reference §1.2): the key a request carries, and what is wrong with it.

Every refusal is HTTP 401 with a business code of §13.3: 1001 no key, 1002 a malformed or unknown key (or a
JWT for an unknown key id), 1003 an expired JWT (the client regenerates it once), 1004 a JWT whose signature
does not match the key's secret. JWTs are the official SDK's: ``{"api_key": id, "exp": ms, "timestamp": ms}``
signed HS256 with the secret.
"""

from __future__ import annotations

import warnings

from starlette.requests import Request

Problem = tuple[str, str]
"""(business code, message) of a refused key."""

_INVALID = ("1002", "Authorization Token is invalid")


def key_of(request: Request) -> str:
    """The key a request carries: ``Authorization: Bearer <key>``, the raw key (as the official plugin sends it to
    the monitor API), or ``x-api-key`` (Anthropic clients); both header forms are taken on every surface (§1.2)."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return auth.strip() or request.headers.get("x-api-key", "")


def key_problem(key: str, keys: frozenset[str], now: float) -> Problem | None:
    """What is wrong with ``key`` when only ``keys`` are known (any well-formed key when empty), at ``now``."""
    if not key:
        return "1001", "Header Authorization is missing"
    if key.count(".") == 2:  # a JWT signed from id.secret
        return _jwt_problem(key, keys, now)
    # reference silent: the server's own rule for a key's form; keys are reported to look like <32 hex>.<16 alnum>
    # (§1.1), and the SDK refuses a key without exactly one dot (§1.2), so that is the rule here (1002).
    # reference silent: when the server answers 1000 ("authentication failed") rather than 1002; it never does here.
    if key.count(".") != 1 or any(c.isspace() for c in key) or (keys and key not in keys):
        return _INVALID
    return None


def _jwt_problem(token: str, keys: frozenset[str], now: float) -> Problem | None:
    import jwt

    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        api_id = str(claims["api_key"])
    except (jwt.PyJWTError, KeyError):
        return _INVALID
    if keys:
        secret = next((k.split(".", 1)[1] for k in keys if k.split(".", 1)[0] == api_id), None)
        if secret is None:
            return _INVALID
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # 16-character secrets are Z.AI's format
                jwt.decode(token, secret, algorithms=["HS256"], options={"verify_exp": False})
        except jwt.PyJWTError:
            return "1004", "Authentication with this token failed"
    # §1.2: exp is in milliseconds. reference silent (§16): whether an exp in seconds is accepted (it reads as long
    # past here: 1003), and what a token without exp gets (served here).
    exp_ms = claims.get("exp")
    if isinstance(exp_ms, int | float) and exp_ms < now * 1000:
        return "1003", "Authorization Token has expired"
    return None
