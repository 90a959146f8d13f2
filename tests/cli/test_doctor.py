"""`glm doctor` against a real emulator: all green, a bad key, a spent quota, a plan key on general, stale configs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from glmkit._config import resolve_settings
from glmkit.cli._common import make_client
from glmkit.cli.app import app
from glmkit.cli.doctor import run_checks
from glmkit.testing import TEST_KEY, EmulatorServer, free_port

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.filterwarnings("ignore:glmkit. chat is going to the GLM Coding Plan endpoint"),
    pytest.mark.usefixtures("coding_home"),
]
runner = CliRunner()
OTHER_KEY = "ffffffffffffffffffffffffffffffff.glmkitEmulator99"


PLAN_ONLY_KEY = "0123456789abcdef0123456789abcdef.planonly00000001"


def doctor() -> tuple[int, dict[str, dict]]:
    out = runner.invoke(app, ["doctor", "--json"])
    data = json.loads(out.stdout)
    assert data["ok"] == (out.exit_code == 0)
    return out.exit_code, {c["name"]: c for c in data["checks"]}


def test_all_green_after_setup(coding_home: Path) -> None:
    assert runner.invoke(app, ["setup", "claude-code", "--mcp"]).exit_code == 0
    code, checks = doctor()
    failed = {n: c for n, c in checks.items() if c["status"] == "fail"}
    assert code == 0, failed
    assert checks["key accepted"]["status"] == "pass"
    assert checks["endpoints answer"]["detail"].startswith("general 200, coding 200, anthropic 400")
    assert checks["clock skew"]["status"] == "pass"  # uvicorn's Date header
    assert checks["claude-code config"]["status"] == "pass"
    assert checks["model mapping current"]["status"] == "pass"
    assert checks["MCP registration"]["status"] == "pass"
    text = runner.invoke(app, ["doctor"]).output
    assert "✓ key present" in text and "all checks passed" in text


def test_bad_key_fails_with_the_business_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZAI_API_KEY", OTHER_KEY)
    code, checks = doctor()
    assert code == 1
    assert checks["key well-formed"]["status"] == "pass"
    assert checks["key accepted"]["status"] == "fail" and "1002" in checks["key accepted"]["detail"]
    assert checks["key accepted"]["fix"]


def test_missing_and_malformed_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZAI_API_KEY")
    code, checks = doctor()
    assert code == 1 and checks["key present"]["status"] == "fail" and "ZAI_API_KEY" in checks["key present"]["fix"]
    monkeypatch.setenv("ZAI_API_KEY", "sk-not-a-zai-key")
    code, checks = doctor()
    assert code == 1 and checks["key well-formed"]["status"] == "fail"


def test_spent_quota_fails(coding_server: EmulatorServer) -> None:
    httpx.post(f"{coding_server.url}/api/_emulator/quota", json={"week": {"percentage": 100}})
    code, checks = doctor()
    assert code == 1
    assert checks["plan quota"]["status"] == "fail" and "weekly" in checks["plan quota"]["detail"]


def test_plan_key_aimed_at_the_general_endpoint(coding_server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Accepted there (the account has balance): said, not failed; refused there with 1113: failed."""
    monkeypatch.setenv("ZAI_BASE_URL", coding_server.base_url)
    code, checks = doctor()
    check = checks["plan key on the right endpoint"]
    assert check["status"] == "info" and "1113" in check["detail"] and "coding" in check["fix"]
    assert code == 0
    with EmulatorServer(job_seconds=0.0) as plan_only:
        monkeypatch.setenv("ZAI_BASE_URL", plan_only.base_url)
        monkeypatch.setenv("ZAI_API_KEY", PLAN_ONLY_KEY)
        code, checks = doctor()
    assert code == 1 and checks["plan key on the right endpoint"]["status"] == "fail"


def test_stale_mapping_and_wrong_endpoint_in_claude_settings(coding_home: Path, coding_server: EmulatorServer) -> None:
    settings = coding_home / ".claude/settings.json"
    settings.parent.mkdir()
    env = {
        "ANTHROPIC_BASE_URL": coding_server.coding_base_url,  # errata 1: the OpenAI-style URL
        "ANTHROPIC_AUTH_TOKEN": TEST_KEY,
        "ANTHROPIC_DEFAULT_OPUS_MODEL": "glm-4.7",
    }
    settings.write_text(json.dumps({"env": env}))
    code, checks = doctor()
    assert code == 1
    assert (
        checks["model mapping current"]["status"] == "fail" and "glm-4.7" in checks["model mapping current"]["detail"]
    )
    tool = checks["claude-code config"]
    assert tool["status"] == "fail" and "needs /api/anthropic" in tool["detail"]
    assert runner.invoke(app, ["setup", "claude-code"]).exit_code == 0
    _, checks = doctor()
    assert checks["claude-code config"]["status"] == "pass"
    assert checks["model mapping current"]["status"] == "pass"


def test_gateway_reachable_only_when_configured(coding_server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    _, checks = doctor()
    assert checks["gateway reachable"]["status"] == "skip"
    monkeypatch.setenv("GLM_GATEWAY_URL", f"http://127.0.0.1:{free_port()}")
    assert runner.invoke(app, ["setup", "claude-code", "--via-gateway"]).exit_code == 0
    code, checks = doctor()
    assert (
        code == 1
        and checks["gateway reachable"]["status"] == "fail"
        and "glm serve" in checks["gateway reachable"]["fix"]
    )
    assert checks["claude-code config"]["detail"].startswith("points at gateway")
    monkeypatch.setenv("GLM_GATEWAY_URL", coding_server.url)  # something answers, but it is not the gateway
    _, checks = doctor()
    assert (
        checks["gateway reachable"]["status"] == "fail"
        and "not glmkit's gateway" in checks["gateway reachable"]["detail"]
    )
    from glmkit.gateway.app import create_app as create_gateway

    gateway_app = create_gateway(settings=resolve_settings(api_key=TEST_KEY, base_url=coding_server.coding_base_url))
    with EmulatorServer(app=gateway_app) as gateway:  # the real `glm serve` app on a free port
        monkeypatch.setenv("GLM_GATEWAY_URL", gateway.url)
        _, checks = doctor()
    assert checks["gateway reachable"]["status"] == "pass"


def test_proxy_variables_are_informational_and_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://alice:s3cret@proxy.corp:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    code, checks = doctor()
    proxy = checks["proxy variables"]
    assert proxy["status"] == "info" and "proxy.corp:3128" in proxy["detail"] and "s3cret" not in proxy["detail"]
    assert code == 0


def test_clock_skew_fails_for_jwt_auth(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLM_AUTH", "jwt")
    client = make_client()
    checks = {c.name: c for c in run_checks(client, resolve_settings(), now=time.time() + 300)}
    assert checks["clock skew"].status == "fail"
    assert 298 <= int(checks["clock skew"].detail.split()[0]) <= 302  # the Date header has 1 s resolution
    monkeypatch.setenv("GLM_AUTH", "key")
    client = make_client()
    checks = {c.name: c for c in run_checks(client, resolve_settings(), now=time.time() + 300)}
    assert checks["clock skew"].status == "info"


def test_offline_doctor_runs_without_a_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZAI_BASE_URL")
    out = runner.invoke(app, ["doctor", "--offline", "--endpoint", "coding", "--json"])
    checks = {c["name"]: c for c in json.loads(out.stdout)["checks"]}
    assert checks["key accepted"]["status"] == "pass" and checks["plan quota"]["status"] == "pass"


def test_offline_follows_the_endpoint_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    """The emulator's key is a Coding Plan key: offline, --endpoint coding is the fix doctor names, and it works."""
    monkeypatch.delenv("ZAI_BASE_URL")
    monkeypatch.delenv("ZAI_API_KEY")
    general = json.loads(runner.invoke(app, ["doctor", "--offline", "--json"]).stdout)
    checks = {c["name"]: c for c in general["checks"]}
    assert general["ok"] and checks["plan key on the right endpoint"]["status"] == "info"
    assert "--endpoint coding" in checks["plan key on the right endpoint"]["fix"]
    coding = json.loads(runner.invoke(app, ["doctor", "--offline", "--endpoint", "coding", "--json"]).stdout)
    checks = {c["name"]: c for c in coding["checks"]}
    assert checks["plan key on the right endpoint"]["status"] == "pass"
    assert "chat goes to coding" in checks["endpoints answer"]["detail"]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("http://user:secret@127.0.0.1:9", "http://127.0.0.1:9"),
        ("proxy.corp:3128", "proxy.corp:3128"),
        ("user:secret@proxy.corp:3128", "proxy.corp:3128"),
        ("socks5h://[::1]:1080", "socks5h://[::1]:1080"),
    ],
)
def test_proxy_variables_are_shown_without_credentials(value: str, shown: str) -> None:
    from glmkit.cli.doctor import check_proxy

    check = check_proxy({"HTTPS_PROXY": value})
    assert check.detail == f"HTTPS_PROXY={shown}" and "secret" not in check.detail


def test_no_endpoint_answering_skips_the_plan_check_without_retrying(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZAI_BASE_URL", f"http://127.0.0.1:{free_port()}/api/coding/paas/v4")
    code, checks = doctor()
    assert code == 1 and checks["endpoints answer"]["status"] == "fail"
    assert checks["plan key on the right endpoint"] == {
        **checks["plan key on the right endpoint"],
        "status": "skip",
        "detail": "no endpoint answered",
    }
