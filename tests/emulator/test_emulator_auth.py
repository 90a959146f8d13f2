"""Keys and JWTs (reference §1.2, business codes 1001-1004 of §13.3): each refusal is HTTP 401 with its code."""

from __future__ import annotations

import warnings

import httpx
import jwt
import pytest
from emulator_http import GENERAL, chat, error_of
from starlette.applications import Starlette

from glmkit.emulator import EmulatorConfig, create_app
from glmkit.testing import TEST_KEY, EmulatorTransport

NOW = 1_780_000_000.0
KEY_ID, SECRET = TEST_KEY.split(".")


@pytest.fixture
def app() -> Starlette:
    """An emulator that knows only TEST_KEY, on a fixed clock."""
    return create_app(EmulatorConfig(keys=frozenset({TEST_KEY})), clock=lambda: NOW)


def sdk_jwt(api_id: str = KEY_ID, secret: str = SECRET, *, exp_ms: float | None = None) -> str:
    """A token as the official SDK makes it: milliseconds, header sign_type SIGN (§1.2)."""
    now_ms = int(NOW * 1000)
    payload = {"api_key": api_id, "exp": exp_ms if exp_ms is not None else now_ms + 210_000, "timestamp": now_ms}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT warns about 16-character HMAC secrets: Z.AI's format
        return jwt.encode(payload, secret, algorithm="HS256", headers={"sign_type": "SIGN"})


def post(app: Starlette, headers: dict[str, str]) -> httpx.Response:
    with httpx.Client(transport=EmulatorTransport(app), base_url=GENERAL, headers=headers) as c:
        return c.post("/chat/completions", json=chat())


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {TEST_KEY}"},
        {"Authorization": TEST_KEY},  # the raw key, as the official plugin sends it (§1.2)
        {"x-api-key": TEST_KEY},  # Anthropic-style header: accepted on every surface (§1.2)
        {"Authorization": f"Bearer {sdk_jwt()}"},
    ],
)
def test_a_known_key_or_its_jwt_is_served(app: Starlette, headers: dict[str, str]) -> None:
    assert post(app, headers).status_code == 200


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "1001"),  # no auth header
        ({"Authorization": "Bearer "}, "1001"),
        ({"Authorization": "Bearer not-a-key"}, "1002"),  # no id.secret form
        ({"Authorization": "Bearer ffffffffffffffffffffffffffffffff.wrongwrongwrong1"}, "1002"),  # unknown key
        ({"Authorization": f"Bearer {sdk_jwt(api_id='f' * 32)}"}, "1002"),  # a JWT for an unknown key id
        ({"Authorization": "Bearer a.b.c"}, "1002"),  # not a JWT at all
        ({"Authorization": f"Bearer {sdk_jwt(exp_ms=NOW * 1000 - 1)}"}, "1003"),  # expired: regenerate
        # reference silent (§1.2, §16): whether an exp in seconds is accepted; it reads as long expired
        ({"Authorization": f"Bearer {sdk_jwt(exp_ms=NOW + 210)}"}, "1003"),
        ({"Authorization": f"Bearer {sdk_jwt(secret='wrongwrongwrong1')}"}, "1004"),  # signed with another secret
    ],
)
def test_a_refused_key_is_401_with_its_code(app: Starlette, headers: dict[str, str], code: str) -> None:
    assert error_of(post(app, headers))[:2] == (401, code)


def test_models_need_a_key_on_both_surfaces(app: Starlette) -> None:
    with httpx.Client(transport=EmulatorTransport(app), base_url="http://emulator.invalid/api") as c:
        for path in ("/paas/v4/models", "/coding/paas/v4/models"):
            assert error_of(c.get(path))[:2] == (401, "1001")  # §17: 401 JSON without a key
            ids = [m["id"] for m in c.get(path, headers={"Authorization": f"Bearer {TEST_KEY}"}).json()["data"]]
            assert "glm-5.3" in ids and not any(i.endswith("[1m]") for i in ids)  # §3.4


def test_any_well_formed_key_is_served_when_no_keys_are_configured() -> None:
    app = create_app(EmulatorConfig())
    other = "ffffffffffffffffffffffffffffffff.glmkitEmulator99"
    assert post(app, {"Authorization": f"Bearer {other}"}).status_code == 200
    assert error_of(post(app, {"Authorization": "Bearer nodot"}))[:2] == (401, "1002")


@pytest.mark.filterwarnings("ignore:The HMAC key is 16 bytes long")  # Z.AI's secrets are 16 characters
def test_the_official_sdks_own_jwt_and_stream_are_accepted() -> None:
    zai = pytest.importorskip("zai", reason="the official zai-sdk package is not installed")
    app = create_app(EmulatorConfig(keys=frozenset({TEST_KEY})))  # the real clock: the SDK signs with time.time()
    with httpx.Client(transport=EmulatorTransport(app)) as transport_client:
        sdk = zai.ZaiClient(
            api_key=TEST_KEY, base_url=GENERAL, http_client=transport_client, disable_token_cache=False, max_retries=0
        )
        reply = sdk.chat.completions.create(model="glm-4.7", messages=[{"role": "user", "content": "Say hi"}])
        assert reply.choices[0].message.content
        chunks = list(
            sdk.chat.completions.create(model="glm-4.7", messages=[{"role": "user", "content": "hi"}], stream=True)
        )
        assert chunks[-1].usage is not None and chunks[-1].choices[0].finish_reason == "stop"
        stranger = zai.ZaiClient(
            api_key=f"{KEY_ID}.wrongwrongwrong1",  # a known id, another secret: only a JWT can tell
            base_url=GENERAL,
            http_client=transport_client,
            disable_token_cache=False,
            max_retries=0,
        )
        with pytest.raises(zai.core.APIAuthenticationError) as refused:
            stranger.chat.completions.create(model="glm-4.7", messages=[{"role": "user", "content": "hi"}])
        assert refused.value.status_code == 401
        assert refused.value.response.json()["error"]["code"] == "1004"  # the signature was checked: a JWT was sent
    sent = [r for r in app.state.emulator.requests if r["path"].endswith("/chat/completions")]
    assert len(sent) == 3
