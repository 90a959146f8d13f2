"""``glm`` run as a user runs it (a subprocess with a clean environment and its own HOME), and the check that a
failure is one ``error:`` line naming what went wrong, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.gateway.conftest import base_env


def glm(home: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "glmkit.cli.app", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**base_env(home), **(env or {})},
        timeout=60,
    )


def one_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr
