"""Ports on the command line: one outside 0-65535 is a usage error, not a traceback from bind()."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from glmkit.cli.app import app

runner = CliRunner()


@pytest.mark.parametrize("command", [["emulate", "--port"], ["mcp", "--http"]])
@pytest.mark.parametrize("port", ["-5", "70000"])
def test_a_port_out_of_range_is_a_usage_error(command: list[str], port: str) -> None:
    out = runner.invoke(app, [*command, port])
    assert out.exit_code == 2, out.output
    bound = "greater than or equal to 0" if port.startswith("-") else "less than or equal to 65535"
    assert f"Invalid value for '{command[1]}'" in out.stderr and bound in out.stderr
