from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

import glmkit
from glmkit import Client
from glmkit._auth import JWTAuth
from glmkit._config import resolve_settings, save_config
from glmkit._errors import InputError

KEY = "0123456789abcdef0123456789abcdef.abcdefghij123456"


def test_argument_beats_environment_beats_profile(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    save_config(cfg, {"profiles": {"default": {"api_key": "profile.key0000000", "plan": "coding"}}})
    assert resolve_settings(environ={}, config_file=cfg).api_key == "profile.key0000000"
    assert resolve_settings(environ={"ZAI_API_KEY": "env.key"}, config_file=cfg).api_key == "env.key"
    assert resolve_settings(api_key="arg.key", environ={"ZAI_API_KEY": "env.key"}, config_file=cfg).api_key == "arg.key"


def test_coding_plan_profile_routes_chat_to_the_coding_endpoint(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    save_config(cfg, {"profiles": {"default": {"plan": "coding"}}})
    s = resolve_settings(environ={}, config_file=cfg)
    assert s.chat_base_url == "https://api.z.ai/api/coding/paas/v4"
    assert s.base_url == "https://api.z.ai/api/paas/v4"
    payg = resolve_settings(environ={}, config_file=tmp_path / "none.toml")
    assert payg.chat_base_url == payg.base_url


def test_mainland_key_variable_selects_the_mainland_host(tmp_path: Path) -> None:
    s = resolve_settings(environ={"ZHIPUAI_API_KEY": KEY}, config_file=tmp_path / "x.toml")
    assert s.base_url == "https://open.bigmodel.cn/api/paas/v4"


def test_zai_base_url_overrides_every_resource(tmp_path: Path) -> None:
    s = resolve_settings(environ={"ZAI_BASE_URL": "http://127.0.0.1:8741/api/paas/v4"}, config_file=tmp_path / "x.toml")
    assert s.base_url == s.chat_base_url == "http://127.0.0.1:8741/api/paas/v4"
    assert s.root_url == "http://127.0.0.1:8741/api"
    assert s.anthropic_base_url == "http://127.0.0.1:8741/api/anthropic"


def test_unknown_endpoint_and_bad_profile_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(glmkit.InputError, match="Unknown endpoint"):
        resolve_settings(endpoint="nowhere", environ={}, config_file=tmp_path / "x.toml")
    with pytest.raises(glmkit.InputError, match="profile"):
        resolve_settings(profile="missing", environ={}, config_file=tmp_path / "x.toml")


@pytest.mark.parametrize(
    ("environ", "row", "named"),
    [
        ({"GLM_PLAN": "gold"}, {}, "Unknown plan 'gold' (from GLM_PLAN)"),
        ({"GLM_TIMEOUT": "0"}, {}, "timeout must be positive, got 0.0 (from GLM_TIMEOUT)"),
        ({"GLM_MAX_RETRIES": "two"}, {}, "GLM_MAX_RETRIES='two' is not a whole number"),
        ({}, {"auth": "cookie"}, "Unknown auth mode 'cookie' (from profile 'default' in"),
    ],
)
def test_a_bad_setting_names_where_it_came_from(
    tmp_path: Path, environ: dict[str, str], row: dict[str, str], named: str
) -> None:
    cfg = tmp_path / "config.toml"
    save_config(cfg, {"profiles": {"default": row}})
    with pytest.raises(InputError) as info:
        resolve_settings(environ=environ, config_file=cfg)
    assert named in str(info.value)


def test_each_level_falls_through_when_unset(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    save_config(cfg, {"profiles": {"default": {"timeout": 30, "offline": True, "region": "mainland"}}})
    s = resolve_settings(environ={"GLM_TIMEOUT": "", "GLM_OFFLINE": "0", "GLM_MAX_RETRIES": "5"}, config_file=cfg)
    assert (s.timeout, s.offline, s.max_retries, s.region, s.plan) == (30, True, 5, "mainland", "payg")
    assert resolve_settings(timeout=7, region="", environ={"GLM_TIMEOUT": "9"}, config_file=cfg).timeout == 7


def test_config_file_is_written_0600_with_a_backup(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    save_config(cfg, {"profiles": {"default": {"api_key": KEY}}})
    save_config(cfg, {"profiles": {"default": {"api_key": KEY, "plan": "coding"}}})
    assert (cfg.stat().st_mode & 0o777) == 0o600
    assert (tmp_path / "config.toml.bak").exists()


def test_key_never_appears_in_reprs() -> None:
    client = Client(api_key=KEY, environ={})
    assert "abcdefghij" not in repr(client) and "abcdefghij" not in repr(client.settings)
    assert "0123456789abcdef0123" not in repr(client.auth)


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # Z.AI secrets are 16 characters
def test_jwt_is_signed_in_milliseconds_cached_and_refreshed() -> None:
    now = [1_800_000_000.0]
    auth = JWTAuth(KEY, clock=lambda: now[0])
    first = auth.header()
    token = first.removeprefix("Bearer ")
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, "abcdefghij123456", algorithms=["HS256"], options={"verify_exp": False})
    assert header["sign_type"] == "SIGN"
    assert claims["api_key"] == "0123456789abcdef0123456789abcdef"
    assert claims["exp"] - claims["timestamp"] == 210_000 and claims["timestamp"] == 1_800_000_000_000
    assert auth.header() == first  # cached
    now[0] += 185  # inside the 30 s refresh margin
    assert auth.header() != first


def test_jwt_auth_works_against_the_emulator(emulator_app) -> None:  # type: ignore[no-untyped-def]
    from glmkit.emulator import EmulatorConfig, create_app
    from glmkit.testing import offline_client

    app = create_app(EmulatorConfig(keys=frozenset({KEY})))
    reply = offline_client(app, api_key=KEY, auth="jwt").chat.completions.create(
        model="glm-4.7", messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.content


def test_import_glmkit_is_light() -> None:
    code = (
        "import sys, glmkit; bad = [m for m in ('pydantic', 'httpx', 'starlette', 'typer', 'rich', 'glmkit.cli') "
        "if m in sys.modules]; print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ})
    assert out.stdout.strip() == ""


def test_public_names_are_exported() -> None:
    for name in glmkit.__all__:
        assert getattr(glmkit, name) is not None


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=8),
        st.one_of(st.text(), st.integers(), st.booleans(), st.lists(st.text(), max_size=3)),
        max_size=5,
    )
)
def test_saved_config_reads_back_exactly(data: dict) -> None:  # type: ignore[type-arg]
    import tomllib

    from glmkit._toml import dump_toml

    assert tomllib.loads(dump_toml({"profiles": {"p": data}})) == {"profiles": {"p": data}}


def test_plan_still_routes_chat_to_the_coding_surface_of_zai_base_url() -> None:
    s = resolve_settings(environ={"ZAI_BASE_URL": "http://127.0.0.1:8741/api/paas/v4", "GLM_PLAN": "coding"})
    assert s.base_url == "http://127.0.0.1:8741/api/paas/v4"
    assert s.chat_base_url == "http://127.0.0.1:8741/api/coding/paas/v4"
    plain = resolve_settings(environ={"ZAI_BASE_URL": "http://127.0.0.1:8741/api/paas/v4"})
    assert plain.chat_base_url == plain.base_url


def test_mainland_endpoint_sets_the_region() -> None:
    s = resolve_settings(endpoint="mainland-coding", environ={})
    assert s.region == "mainland" and s.chat_base_url.startswith("https://open.bigmodel.cn/")


@pytest.mark.parametrize("name", ["anthropic", "responses", "codng"])
def test_only_real_endpoint_presets_are_accepted(name: str) -> None:
    with pytest.raises(InputError, match=name) as info:
        resolve_settings(endpoint=name, environ={})
    assert "general" in (info.value.hint or "") and "anthropic" not in (info.value.hint or "")


def test_offline_client_ignores_this_machines_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from glmkit.testing import offline_client

    home = tmp_path / "home"
    (home / ".config" / "glmkit").mkdir(parents=True)
    (home / ".config" / "glmkit" / "config.toml").write_text('[profiles.default]\nmax_retries = 9\nauth = "jwt"\n')
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.delenv("GLMKIT_HOME")
    assert resolve_settings(environ={}).max_retries == 9  # the machine's file is really there
    client = offline_client()
    assert client.settings.max_retries == 3 and client.settings.auth == "key"
