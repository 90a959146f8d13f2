"""``python -m glmkit`` is the ``glm`` command."""

from __future__ import annotations

import subprocess
import sys

import glmkit


def test_python_m_glmkit_is_the_glm_command() -> None:
    out = subprocess.run([sys.executable, "-m", "glmkit", "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip().endswith(glmkit.__version__)
