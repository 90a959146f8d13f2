"""Registers the `agents` suite's fixtures and report header (defined in ``agent_harness.py``)."""

from agent_harness import agent_bin, box, emulator, gateway, pytest_report_header, recorder, sandbox  # noqa: F401
