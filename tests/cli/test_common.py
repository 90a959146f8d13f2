"""What every command shares: errors turned into one red line and an exit code."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from glmkit.cli._common import handle_errors


def test_a_file_error_is_one_line_naming_the_file_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "gone.txt"
    with pytest.raises(typer.Exit) as info, handle_errors():
        missing.read_text()
    assert info.value.exit_code == 1
    err = capsys.readouterr().err
    assert "No such file or directory" in err and str(missing) in err and "Traceback" not in err
    assert "hint:" in err


def test_a_broken_pipe_is_not_reported_as_an_error() -> None:
    with pytest.raises(BrokenPipeError), handle_errors():
        raise BrokenPipeError(32, "Broken pipe")
