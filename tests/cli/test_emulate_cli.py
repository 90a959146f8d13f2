"""`glm emulate` refuses bad options with one red line and a hint, before it serves anything."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from glmkit.cli.app import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("text", "needle"),
    [("{bad", "Expecting property name"), ('{"faults": [{"colour": "red"}]}', "unknown fault field 'colour'")],
)
def test_a_bad_scenario_file_is_a_usage_error(tmp_path: Path, text: str, needle: str) -> None:
    scenario = tmp_path / "faults.json"
    scenario.write_text(text)
    out = runner.invoke(app, ["emulate", "--port", "0", "--scenario", str(scenario)])
    assert out.exit_code == 2, out.output
    assert str(scenario) in out.stderr and needle in out.stderr and '"faults"' in out.stderr


def test_a_taken_port_is_one_line_with_the_fix() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = runner.invoke(app, ["emulate", "--port", str(port)])
    assert out.exit_code == 1, out.output
    assert f"cannot listen on 127.0.0.1:{port}" in out.stderr and "--port 0" in out.stderr


@pytest.mark.parametrize("option", ["--max-concurrency", "--job-seconds", "--chunk-delay"])
def test_negative_numbers_are_refused(option: str) -> None:
    out = runner.invoke(app, ["emulate", "--port", "0", option, "-1"])
    assert out.exit_code == 2 and "greater than or equal to 0" in out.stderr, out.output


def test_a_key_without_its_certificate_is_a_usage_error(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("not used")
    out = runner.invoke(app, ["emulate", "--port", "0", "--ssl-keyfile", str(key)])
    assert out.exit_code == 2, out.output
    assert "--ssl-keyfile needs --ssl-certfile" in out.stderr and "--ssl-certfile" in out.stderr
