"""New models on release day (issue 19): `glm emulate --extra-model` lists a model the catalog does not know;
`glm models --refresh` caches it (kind inferred, flagged); `glm serve` then sends it as it is and lists it, without a
release; `glm doctor` says when the cached catalog is older than the installed one. Real processes throughout."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from glmkit.testing import TEST_KEY
from tests.gateway.conftest import SCHEMES, emulator_process, serve_process, upstream_env

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

NEW = "glm-5.4"


@pytest.fixture(scope="module", params=SCHEMES)
def release_day(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`glm emulate` serving a model released after the installed catalog, over http and https."""
    with emulator_process(tmp_path_factory.mktemp("release-emu"), request.param, "--extra-model", NEW) as url:
        yield url


def glm(home: Path, emulator: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    """`glm <args>` against ``emulator`` (trusting its CA over https)."""
    env = upstream_env(home, emulator)
    return subprocess.run([sys.executable, "-m", "glmkit.cli.app", *args], env=env, capture_output=True, timeout=60)


def test_refresh_caches_the_new_model_and_the_gateway_picks_it_up(release_day: str, tmp_path: Path) -> None:
    import openai

    listed = httpx.get(
        f"{release_day}/api/coding/paas/v4/models", headers={"Authorization": f"Bearer {TEST_KEY}"}, timeout=5
    ).json()
    assert NEW in [m["id"] for m in listed["data"]]

    with serve_process(release_day, tmp_path, "translate") as serve:  # before the refresh: an unknown name
        gpt = openai.OpenAI(api_key=TEST_KEY, base_url=f"{serve.url}/v1", max_retries=0)
        assert gpt.chat.completions.create(model=NEW, messages=[{"role": "user", "content": "hi"}]).model == "glm-5.3"

    done = glm(tmp_path, release_day, "models", "--refresh")
    assert done.returncode == 0, done.stderr.decode()
    said = done.stderr.decode()
    assert f"new: {NEW} (chat; inferred from the id: kind, thinking" in said
    assert f"{NEW}\tchat*\t" in done.stdout.decode()  # flagged in the table (tab-separated when piped)
    cache = tmp_path / "models-cache.json"
    assert cache.stat().st_mode & 0o777 == 0o600
    rows = json.loads(glm(tmp_path, release_day, "models", "--json").stdout)
    row = next(r for r in rows if r["id"] == NEW)
    assert row["kind"] == "chat" and row["plan"] and "kind" in row["inferred"]
    assert next(r for r in rows if r["id"] == "glm-5.3")["inferred"] == []

    with serve_process(release_day, tmp_path, "translate") as serve:  # no release: the same install, refreshed
        gpt = openai.OpenAI(api_key=TEST_KEY, base_url=f"{serve.url}/v1", max_retries=0)
        reply = gpt.chat.completions.create(model=NEW, messages=[{"role": "user", "content": "hi"}])
        assert reply.model == NEW
        import anthropic

        claude = anthropic.Anthropic(api_key=TEST_KEY, base_url=serve.url, max_retries=0)
        assert f"claude-{NEW}" in [m.id for m in claude.models.list()]  # an id Claude Code keeps
        message = claude.messages.create(
            model=f"claude-{NEW}", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
        )
        assert message.model == NEW


def test_doctor_says_when_the_cached_catalog_is_older_than_the_installed_one(release_day: str, tmp_path: Path) -> None:
    from glmkit.catalog import installed_date

    stale = {"refreshed_at": "2026-01-01T00:00:00Z", "source": "test", "listed": [], "models": {}}
    (tmp_path / "models-cache.json").write_text(json.dumps(stale), encoding="utf-8")
    checks = json.loads(glm(tmp_path, release_day, "doctor", "--json").stdout)["checks"]
    catalog = next(c for c in checks if c["name"] == "model catalog")
    assert catalog["status"] == "info"
    assert (
        f"cached catalog of 2026-01-01 is older than the installed catalog of {installed_date()}" in catalog["detail"]
    )
    assert "glm models --refresh" in catalog["fix"]

    assert glm(tmp_path, release_day, "models", "--refresh").returncode == 0
    checks = json.loads(glm(tmp_path, release_day, "doctor", "--json").stdout)["checks"]
    catalog = next(c for c in checks if c["name"] == "model catalog")
    assert catalog["status"] == "pass" and NEW in catalog["detail"]
