"""Files that hold prompts, answers or keys are 0600 in a 0700 folder from their first byte.

Each command that writes runs as a real process with a private GLMKIT_HOME and a umask of 022 (what a
login shell gives), and the modes are listed after it: the database, its -wal and -shm files while the
gateway holds them open, the pending file, the chat history, the config, the setup backups.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from glmkit.testing import free_port
from tests.gateway.conftest import _wait, base_env

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")]


def glm(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "glmkit.cli.app", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=base_env(home),
        timeout=60,
        umask=0o022,
    )


def modes(home: Path) -> dict[str, int]:
    """Every file and folder under ``home`` (itself as '.') with its permission bits."""
    found = {".": stat.S_IMODE(home.stat().st_mode)}
    for path in home.rglob("*"):
        found[str(path.relative_to(home))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def assert_private(home: Path) -> dict[str, int]:
    found = modes(home)
    loose = {name: oct(mode) for name, mode in found.items() if mode & 0o077}
    assert not loose, f"readable by others: {loose}"
    return found


def test_ask_chat_and_config_leave_nothing_readable_by_others(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert glm(home, "ask", "--offline", "my secret prompt").returncode == 0
    found = assert_private(home)
    assert found["."] == 0o700 and found["glmkit.db"] == 0o600
    assert glm(home, "chat", "--offline", stdin="another secret\n").returncode == 0
    assert glm(home, "config", "set", "timeout", "60").returncode == 0
    found = assert_private(home)
    assert found["config.toml"] == 0o600
    assert glm(home, "config", "set", "timeout", "90").returncode == 0  # keeps config.toml.bak
    assert assert_private(home)["config.toml.bak"] == 0o600


def test_files_an_older_version_left_readable_are_narrowed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)
    sqlite3.connect(home / "glmkit.db").close()
    for name in ("glmkit.db", "glmkit.db-wal", "glmkit.db-shm"):
        (home / name).touch()
        os.chmod(home / name, 0o644)
    assert glm(home, "ask", "--offline", "hi").returncode == 0
    found = assert_private(home)
    assert found["."] == 0o700


@pytest.mark.timeout(90)
def test_the_gateway_database_wal_shm_and_journal_are_private_while_it_runs(tmp_path: Path) -> None:
    home = tmp_path / "home"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "glmkit.cli.app", "serve", "--offline", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=base_env(home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, umask=0o022)
    body = {"model": "glm-4.7", "messages": [{"role": "user", "content": "a private prompt"}]}
    try:
        _wait(f"{url}/health", proc)
        assert httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30).status_code == 200
        found = assert_private(home)
        # the gateway keeps its connection open, so the WAL and the shared-memory file exist now
        assert found["glmkit.db"] == found["glmkit.db-wal"] == found["glmkit.db-shm"] == 0o600
        # another process holds the write lock: the gateway's row goes to its journal all the same, no waiting
        holder = sqlite3.connect(home / "glmkit.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            assert httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30).status_code == 200
            found = assert_private(home)
            (journal,) = [name for name in found if name.startswith("glmkit.db.journal-")]
            assert found[journal] == 0o600
            rows = (home / journal).read_text()
            assert '"route":"/v1/chat/completions"' in rows
            assert "a private prompt" not in rows  # rows hold no prompt
        finally:
            holder.execute("ROLLBACK")
            holder.close()
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_mcp_server_ledger_is_private(tmp_path: Path) -> None:
    import anyio
    from mcp import Client, StdioServerParameters

    home = tmp_path / "home"
    env = base_env(home)
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "glmkit.cli.app", "mcp", "--offline", "--tools", "tokens"], env=env
    )

    async def call() -> None:
        async with Client(params) as client:
            result = await client.call_tool("count_tokens", {"text": "a private prompt"})
            assert not result.is_error

    anyio.run(call)
    found = assert_private(home)
    assert found["glmkit.db"] == 0o600
