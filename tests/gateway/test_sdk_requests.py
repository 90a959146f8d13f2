"""Any request the official anthropic package can express (drawn from its own request types, the pinned release
and, when the registry can be reached, the newest one) is translated by the gateway, or refused with a 400 that
names the field whose meaning cannot be kept. Never a crash, never a refusal of what GLM can do without."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from pydantic import TypeAdapter
from sdk_strategies import from_sdk_type

from glmkit.gateway.anthropic import TranslationError, to_chat
from glmkit.gateway.config import GatewayConfig
from glmkit.gateway.passthrough import fold_system_messages
from glmkit.types.chat import ChatCompletionParams

anthropic = pytest.importorskip("anthropic")
from anthropic.types.message_create_params import MessageCreateParamsBase  # noqa: E402

CONFIG = GatewayConfig(ledger=False)
GLM_REQUEST = TypeAdapter(ChatCompletionParams)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
# The fields whose meaning the gateway cannot keep, so a 400 naming them is right: no model, no tokens to answer
# with, no messages, a tool without a name, a PDF or a Files-API id GLM cannot read here.
REFUSABLE = re.compile(
    r"^(model|max_tokens|messages|messages\.\d+\.content(\.\d+(\.content\.\d+)?(\.source)?)?|system\.\d+|tools\.\d+\.name): "
)
FIELD = re.compile(r"^[a-z_]+(\.[a-z0-9_]+)*: ")


def _user_turns(body: dict[str, Any]) -> bool:
    return any(m.get("role") == "user" for m in body.get("messages") or [])


@SETTINGS
@given(from_sdk_type(MessageCreateParamsBase))
def test_any_sdk_request_translates_or_names_the_field(body: dict[str, Any]) -> None:
    try:
        glm, plan = to_chat(body, CONFIG)
    except TranslationError as exc:
        assert FIELD.match(str(exc)), f"a 400 must name its field: {exc}"
        assert REFUSABLE.match(str(exc)), f"refused what could be kept: {exc}"
        return
    GLM_REQUEST.validate_python(glm)  # a well-typed GLM request (whether GLM likes the conversation is its call)
    assert plan.model == glm["model"]
    folded = fold_system_messages(body) if _user_turns(body) else body
    assert all(m.get("role") != "system" for m in folded["messages"]) or not _user_turns(body)


def _newest_anthropic(cache: Path) -> Path | None:
    """The newest anthropic release from PyPI, installed (without dependencies) into a folder of its own."""
    pip = [sys.executable, "-m", "pip"]
    try:
        out = subprocess.run(
            [*pip, "index", "versions", "anthropic"],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r"anthropic \(([^)]+)\)", out.stdout)
    if out.returncode != 0 or not found:
        return None
    target = cache / f"anthropic-{found.group(1)}"
    if not (target / "anthropic").is_dir():
        done = subprocess.run(
            [*pip, "install", "--quiet", "--no-deps", "--target", str(target), f"anthropic=={found.group(1)}"],
            capture_output=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )
        if done.returncode != 0:
            return None
    return target


@pytest.mark.timeout(600)
@pytest.mark.skipif(bool(os.environ.get("GLMKIT_SDK_SIDE")), reason="already the newest release's run")
def test_the_newest_anthropic_release_too(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The same property with the newest anthropic on PyPI (skipped when PyPI cannot be reached)."""
    cache = Path(os.path.expanduser("~/.cache/glmkit/sdk"))
    folder = _newest_anthropic(cache)
    if folder is None:
        pytest.skip("the newest anthropic release could not be installed (no PyPI?)")
    env = {
        **os.environ,
        "GLMKIT_SDK_SIDE": "1",
        "PYTHONPATH": os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")]),
    }
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", __file__, "-k", "any_sdk_request"],
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
