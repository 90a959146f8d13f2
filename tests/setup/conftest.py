"""A temporary HOME (and project folder) for every setup test, with a key in the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from glmkit.testing import TEST_KEY


@pytest.fixture(autouse=True)
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    monkeypatch.setenv("HOME", str(h))
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: h))
    monkeypatch.setenv("ZAI_API_KEY", TEST_KEY)
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    return h
