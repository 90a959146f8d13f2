"""Atomic writes: the mode a user expects, links followed, nothing half-written left behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from glmkit._fileio import atomic_write

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def test_new_file_is_readable_and_existing_mode_is_kept(tmp_path: Path) -> None:
    fresh = atomic_write(tmp_path / "out.png", b"\x89PNG")
    assert fresh.read_bytes() == b"\x89PNG" and fresh.stat().st_mode & 0o777 == 0o644
    script = tmp_path / "run.sh"
    script.write_text("old")
    script.chmod(0o750)
    atomic_write(script, "new ✓")
    assert script.read_text(encoding="utf-8") == "new ✓" and script.stat().st_mode & 0o777 == 0o750
    secret = atomic_write(tmp_path / "config.toml", "key", mode=0o600)
    assert secret.stat().st_mode & 0o777 == 0o600


def test_a_symlink_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "settings.json"
    real.parent.mkdir()
    real.write_text("{}")
    link = tmp_path / "settings.json"
    link.symlink_to(real)
    atomic_write(link, '{"a": 1}')
    assert link.is_symlink() and real.read_text() == '{"a": 1}'


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "doc.md"
    target.write_text("old")

    def refuse(src: str, dst: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["doc.md"]
