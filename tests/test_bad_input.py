"""Bad local input is one error naming the file and the fix, never a traceback.

A config file that is valid TOML with values of the wrong kind, not UTF-8, or not TOML: exit 2 from every
command that reads it. A missing key exits 2 from `glm ask` and `glm serve` alike; a device, FIFO or folder
given as a file says what it is.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from glm_process import glm, one_error

pytestmark = pytest.mark.e2e


CONFIGS = {
    "timeout": ('[profiles.default]\ntimeout = "abc"\n', "timeout = 'abc'"),
    "max_retries": ("[profiles.default]\nmax_retries = 1.5\n", "max_retries = 1.5"),
    "profiles": ("profiles = 5\n", "profiles = 5"),
    "profile": ("[profiles]\ndefault = 3\n", "profiles.default = 3"),
    "default_profile": ("default_profile = 3\n", "default_profile = 3"),
    "gateway": ("gateway = 5\n", "gateway = 5"),
    "offline": ('[profiles.default]\noffline = "yes"\n', "offline = 'yes'"),
    "mcp": ("[mcp]\ntoken = 5\n", "token = 5"),
    "not utf-8": (b'model = "\xff\xfe"\n', "not UTF-8"),
    "not toml": ("x = [\n", "not valid TOML"),
}
# Every command that reads the config, for one bad value; the cheapest few for each of the others.
COMMANDS = [
    ["ask", "--offline", "hi"],
    ["chat", "--offline"],
    ["serve", "--offline", "--port", "0"],
    ["mcp", "--offline"],
    ["mcp", "--http", "0", "--offline"],
    ["config", "show"],
    ["config", "set", "model", "glm-5.3"],
    ["usage", "--offline"],
    ["doctor"],
    ["search", "--offline", "x"],
    ["env", "claude-code"],
]
FEW = [["ask", "--offline", "hi"], ["serve", "--offline", "--port", "0"], ["config", "show"]]


@pytest.mark.parametrize("case", list(CONFIGS))
def test_a_malformed_config_is_one_error_naming_the_file_and_key(tmp_path: Path, case: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    text, needle = CONFIGS[case]
    path = home / "config.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    for args in COMMANDS if case == "timeout" else FEW:
        result = glm(home, *args, stdin="hello\n")
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        one_error(result, str(path), needle, "hint:")


def test_a_non_number_in_the_environment_is_named(tmp_path: Path) -> None:
    result = glm(tmp_path, "ask", "--offline", "hi", env={"GLM_TIMEOUT": "soon"})
    assert result.returncode == 2
    one_error(result, "GLM_TIMEOUT='soon'")


def test_a_gateway_setting_of_the_wrong_kind_is_named(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[gateway]\nmax_inflight = "x"\n')
    result = glm(tmp_path, "serve", "--offline", "--port", "0")
    assert result.returncode == 2
    one_error(result, "max_inflight = 'x'", str(tmp_path / "config.toml"))


def test_a_missing_key_exits_2_from_ask_and_serve_alike(tmp_path: Path) -> None:
    ask = glm(tmp_path, "ask", "hi")
    serve = glm(tmp_path, "serve", "--port", "0")
    assert ask.returncode == serve.returncode == 2, (ask.stderr, serve.stderr)
    one_error(ask, "ZAI_API_KEY")
    one_error(serve, "ZAI_API_KEY")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_device_fifo_or_folder_given_as_a_file_says_what_it_is(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    cases = {"/dev/zero": "a character device", str(fifo): "a named pipe (FIFO)"}
    for path, kind in cases.items():
        for args in (["ask", "--offline", "-f", path, "hi"], ["ocr", "--offline", path], ["tokens", path]):
            result = glm(tmp_path, *args)
            assert result.returncode == 2, (args, result.stderr)
            one_error(result, f"{path} is not a regular file: it is {kind}")
            assert "No file at" not in result.stderr and "No such file" not in result.stderr
    folder = glm(tmp_path, "ask", "--offline", "-f", str(tmp_path), "hi")
    assert folder.returncode == 2
    one_error(folder, f"{tmp_path} is a folder")
