"""The SQLite ledger: conversations, requests, usage sums, the background writer and nothing lost."""

from __future__ import annotations

import contextlib
import gc
import os
import sqlite3
import threading
import time
import warnings
from pathlib import Path

import pytest

from glmkit import InputError
from glmkit.ledger import BackgroundWriter, Ledger, default_path, parse_since


def test_default_path_follows_glmkit_home(tmp_path: Path) -> None:
    assert default_path() == tmp_path / "glmkit-home" / "glmkit.db"
    ledger = Ledger()
    assert ledger.path.exists()
    if os.name == "posix":
        assert ledger.path.stat().st_mode & 0o777 == 0o600


def test_conversations_round_trip_and_search(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.db")
    first = ledger.add_conversation(
        model="glm-5", prompt="what is rust", response="A language.", input_tokens=3, output_tokens=4
    )
    second = ledger.add_conversation(
        model="glm-4.7",
        prompt="and python?",
        response="Another.",
        parent_id=first,
        messages=[{"role": "user", "content": "and python?"}],
        tool_calls=[{"name": "f", "arguments": {"x": 1}}],
    )
    assert second is not None and first is not None and second > first
    assert [c["id"] for c in ledger.conversations()] == [second, first]
    assert [c["id"] for c in ledger.conversations(query="rust")] == [first]
    row = ledger.conversation(second)
    assert row is not None
    assert row["messages"] == [{"role": "user", "content": "and python?"}]
    assert row["tool_calls"][0]["arguments"] == {"x": 1}
    assert row["parent_id"] == first
    assert ledger.last_conversation()["id"] == second  # type: ignore[index]
    assert ledger.conversation(999) is None


def test_unknown_field_is_rejected(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.db")
    with pytest.raises(TypeError, match="promt"):
        ledger.add_conversation(promt="typo")
    with pytest.raises(TypeError, match="modle"):
        BackgroundWriter(ledger).submit({"modle": "x"})


def test_usage_groups_both_tables(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.db")
    ledger.add_conversation(model="glm-5", prompt="p", response="r", input_tokens=10, output_tokens=5)
    ledger.add_requests(
        [
            {
                "source": "gateway",
                "client": "claude-code",
                "model_used": "glm-5",
                "input_tokens": 100,
                "output_tokens": 50,
            },
            {
                "source": "gateway",
                "model_requested": "glm-4.7",
                "input_tokens": 1,
                "output_tokens": 2,
                "reasoning_tokens": 3,
            },
            {"source": "mcp", "tool": "web_search", "model_used": "glm-5", "input_tokens": 0, "output_tokens": 0},
        ]
    )
    by_model = {r["key"]: r for r in ledger.usage(by="model")}
    assert by_model["glm-5"]["requests"] == 3
    assert by_model["glm-5"]["input_tokens"] == 110
    assert by_model["glm-4.7"]["reasoning_tokens"] == 3
    by_tool = {r["key"]: r["requests"] for r in ledger.usage(by="tool")}
    assert by_tool == {"cli": 1, "claude-code": 1, "gateway": 1, "web_search": 1}
    assert {r["key"] for r in ledger.usage(by="source")} == {"cli", "gateway", "mcp"}
    assert ledger.usage(since=time.time() + 60) == []
    with pytest.raises(ValueError):
        ledger.usage(by="colour")


def test_parse_since() -> None:
    now = 1_000_000.0
    assert parse_since("2h", now=now) == now - 7200
    assert parse_since("7d", now=now) == now - 7 * 86400
    assert parse_since(None) is None
    assert parse_since("2026-11-01") == pytest.approx(__import__("datetime").datetime(2026, 11, 1).timestamp())
    with pytest.raises(InputError, match="yesterday-ish") as info:
        parse_since("yesterday-ish")
    assert "24h" in (info.value.hint or "")


def test_background_writer_keeps_every_row_under_concurrency(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.db")
    writer = BackgroundWriter(ledger, batch=16)

    def produce(n: int) -> None:
        for i in range(250):
            writer.submit({"source": "gateway", "client": f"c{n}", "route": "/v1/messages", "output_tokens": i})

    threads = [threading.Thread(target=produce, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.flush()
    assert ledger.count("requests") == 1000
    writer.close()
    with pytest.raises(RuntimeError):
        writer.submit({"source": "gateway"})


def test_rows_refused_by_the_database_are_parked_and_replayed(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    ledger = Ledger(path, timeout=0.05)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        ledger.add_request(source="gateway", route="/v1/messages", output_tokens=7)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert ledger.pending_path.exists()
    assert ledger.count() == 0
    reopened = Ledger(path)
    assert not reopened.pending_path.exists()
    assert [r["output_tokens"] for r in reopened.requests()] == [7]


def test_last_conversation_skips_failed_turns(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.db")
    good = ledger.add_conversation(model="glm-5", prompt="p", response="r")
    ledger.add_conversation(model="glm-9", prompt="p2", status="error", error_code="1211")
    assert ledger.last_conversation(failed=False)["id"] == good  # type: ignore[index]
    assert ledger.last_conversation()["status"] == "error"  # type: ignore[index]
    cancelled = ledger.add_conversation(model="glm-5", prompt="p3", response="par", status="cancelled")
    assert ledger.last_conversation(failed=False)["id"] == cancelled  # type: ignore[index]


def test_a_version_1_database_gains_the_session_columns_and_keeps_its_rows(tmp_path: Path) -> None:
    from glmkit.ledger import MIGRATIONS

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0])
    conn.execute("PRAGMA user_version=1")
    conn.execute(
        "INSERT INTO requests (created, source, route, status) VALUES (?, 'gateway', '/v1/messages', 200)", (1.0,)
    )
    conn.commit()
    conn.close()
    ledger = Ledger(path)
    ledger.add_request(source="gateway", route="/v1/messages", notes=["messages[1]: empty text part dropped"])
    ledger.add_request(source="gateway", model_used="glm-5.3", billed="payg", cost_usd=0.25)
    ledger.add_request(source="gateway", held_ms=1500.0)
    rows = ledger.requests()
    assert [r["route"] for r in rows[:2]] == ["/v1/messages", "/v1/messages"]
    assert rows[1]["notes"] == ["messages[1]: empty text part dropped"]
    report = ledger.interventions()
    assert [r["notes"] for r in report["repaired"]] == [["messages[1]: empty text part dropped"]]
    assert report["fallbacks"] == {
        "requests": 1,
        "cost_usd": 0.25,
        "by_model": [{"model": "glm-5.3", "requests": 1, "cost_usd": 0.25}],
    }
    assert report["held"] == {"requests": 1, "held_ms": 1500.0}
    assert ledger.payg_spent(0) == 0.25
    with contextlib.closing(sqlite3.connect(path)) as check:
        assert check.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    ledger.close()


def _open_files(path: Path) -> int:
    """How many of this process's descriptors are open on the ledger's files (the database, -wal, -shm)."""
    names = {str(path), f"{path}-wal", f"{path}-shm"}
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            count += os.readlink(f"/proc/self/fd/{fd}") in names
    return count


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="reads /proc/self/fd")
def test_close_leaves_no_connection_of_an_ended_thread_open(tmp_path: Path) -> None:
    """One connection per thread: ``close`` closes the caller's and those of threads that have ended; a thread
    still running keeps its own (it may be writing); every row written is there when read again."""
    path = tmp_path / "l.db"
    ledger = Ledger(path)
    done = threading.Event()

    def write(n: int, wait: bool = False) -> None:
        ledger.add_request(route="/v1/messages", model_used="glm-5", status=200, client=f"t{n}")
        if wait:
            done.wait(10)

    ended = [threading.Thread(target=write, args=(n,)) for n in range(3)]
    for t in ended:
        t.start()
        t.join()
    running = threading.Thread(target=write, args=(9, True))
    running.start()
    time.sleep(0.2)
    assert _open_files(path) > 0
    ledger.close()
    assert _open_files(path) > 0  # the running thread's connection, still open for it
    done.set()
    running.join()
    ledger.close()
    assert _open_files(path) == 0
    reader = Ledger(path)
    assert sorted(r["client"] for r in reader.requests()) == ["t0", "t1", "t2", "t9"]
    reader.close()
    assert _open_files(path) == 0


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="reads /proc/self/fd")
def test_a_ledger_dropped_without_close_closes_its_connections(tmp_path: Path) -> None:
    """The CLI opens a ledger and lets the process end: a ledger nobody holds closes every thread's connection
    itself, rather than leave them to the collector (Python 3.13 warns of each one: ``unclosed database``)."""
    path = tmp_path / "l.db"
    ledger = Ledger(path)
    worker = threading.Thread(target=ledger.add_conversation, kwargs={"model": "glm-5", "prompt": "p", "response": "r"})
    worker.start()
    worker.join()
    ledger.add_conversation(model="glm-5", prompt="p2", response="r2")
    assert _open_files(path) > 0
    gc.collect()  # what earlier tests left for the collector, collected outside the look
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del ledger
        gc.collect()
    assert _open_files(path) == 0
    assert not [w for w in caught if "unclosed database" in str(w.message)]
