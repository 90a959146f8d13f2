"""A broken ledger is one error naming the file and the fix, never a traceback.

A ledger that is garbage, cut short or a folder: `glm logs` and `glm usage` stop with exit 1 and the fix (move
it aside); `glm ask`, `glm serve` and `glm mcp` go on without it and say so once.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from glm_process import glm, one_error

from glmkit.testing import free_port
from tests.gateway.conftest import _wait, base_env

pytestmark = pytest.mark.e2e


def garbage(db: Path) -> None:
    db.write_bytes(os.urandom(8192))


def truncated(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE filler (x TEXT)")
    conn.executemany("INSERT INTO filler VALUES (?)", [("x" * 500,)] * 2000)
    conn.commit()
    conn.close()
    os.truncate(db, db.stat().st_size // 2)


def folder(db: Path) -> None:
    db.mkdir()
    (db / "something").write_text("x")


BREAKAGES = [garbage, truncated, folder]


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_logs_and_usage_name_the_broken_ledger_and_the_fix(tmp_path: Path, breakage) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    home.mkdir()
    db = home / "glmkit.db"
    if breakage is truncated:  # a real ledger cut short
        assert glm(home, "ask", "--offline", "hi").returncode == 0
        db.unlink()
    breakage(db)
    for args in (["logs"], ["logs", "show", "1"], ["logs", "-q", "x"], ["usage", "--offline"]):
        result = glm(home, *args)
        assert result.returncode == 1, (args, result.stderr)
        one_error(result, str(db), f"mv {db} {db}.broken")


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_ask_answers_without_the_ledger_and_says_so_once(tmp_path: Path, breakage) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    home.mkdir()
    breakage(home / "glmkit.db")
    result = glm(home, "ask", "--offline", "hi")
    assert result.returncode == 0, result.stderr
    assert "glm-5.3 on the glmkit emulator" in result.stdout
    assert "Traceback" not in result.stderr
    if breakage is not truncated:  # a file cut short still opens; its rows go to the pending file instead
        assert result.stderr.count(str(home / "glmkit.db")) >= 1
        assert result.stderr.count("not logged") == 1


@pytest.mark.timeout(60)
@pytest.mark.parametrize("breakage", [garbage, folder])
def test_serve_relays_without_the_ledger_and_says_so_once(tmp_path: Path, breakage) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    home.mkdir()
    breakage(home / "glmkit.db")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "glmkit.cli.app", "serve", "--offline", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=base_env(home), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait(f"{url}/health", proc)
        body = {"model": "glm-4.7", "messages": [{"role": "user", "content": "hi"}]}
        for _ in range(3):
            assert httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30).status_code == 200
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    text = err.decode()
    assert "Traceback" not in text
    assert text.count("requests will not be recorded") == 1, text
    assert f"mv {home / 'glmkit.db'}" in text


def test_mcp_serves_without_the_ledger_and_says_so_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    garbage(home / "glmkit.db")
    hello = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    result = glm(home, "mcp", "--offline", "--tools", "tokens", stdin=json.dumps(hello) + "\n")
    assert result.returncode == 0 and '"id":1' in result.stdout.replace(" ", "")
    assert "Traceback" not in result.stderr
    assert result.stderr.count("will not be recorded") == 1 and str(home / "glmkit.db") in result.stderr
