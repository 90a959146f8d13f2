"""The gateway's journal: a row on disk in one write, in the ledger exactly once, whoever copies it and whenever a
process dies; readers see every row written so far."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from glmkit.ledger import Ledger
from glmkit.ledger.journal import Journal

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the journal needs file locks (POSIX)")

NEVER = 3600.0  # a copying thread that never runs by itself: the test copies when it wants


def row(n: int, **extra: object) -> dict[str, object]:
    return {"source": "gateway", "route": "/v1/chat/completions", "client": f"c{n}", "output_tokens": n, **extra}


def clients(ledger: Ledger) -> list[str]:
    return [r["client"] for r in ledger.requests()]


def journals(db: Path) -> list[Path]:
    return sorted(db.parent.glob(db.name + ".journal-*"))


def test_a_row_is_in_the_journal_when_append_returns_and_read_at_once_by_another_ledger(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    journal = Journal(Ledger(db), interval=NEVER)
    try:
        journal.append([row(1), row(2)])
        journal.append([row(3)])
        assert len(journal.path.read_bytes().splitlines()) == 3  # on disk, not yet in the ledger's table
        reader = Ledger(db)
        assert clients(reader) == ["c1", "c2", "c3"]  # the reader copied them in before reading
        assert journal.fold() == 0  # and the writer's own copy finds nothing left: no row twice
        assert clients(reader) == ["c1", "c2", "c3"]
        assert reader.count() == 3
        assert [r["output_tokens"] for r in reader.requests()] == [1, 2, 3]
        assert all(isinstance(r["created"], float) for r in reader.requests())
    finally:
        journal.close()
    assert journals(db) == []  # closed and copied: removed
    assert clients(Ledger(db)) == ["c1", "c2", "c3"]


def test_the_journal_is_private_from_its_first_byte_and_a_bad_field_fails_in_the_caller(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    journal = Journal(Ledger(db), interval=NEVER)
    try:
        assert journal.path.stat().st_mode & 0o777 == 0o600
        with pytest.raises(TypeError, match="bogus"):
            journal.append([{"bogus": 1}])
        assert journal.path.read_bytes() == b""
    finally:
        journal.close()


WRITER_DIES = """
import os, sys
from glmkit.ledger import Ledger
from glmkit.ledger.journal import Journal
journal = Journal(Ledger(sys.argv[1]), interval=3600)
for n in range(50):
    journal.append([{"source": "gateway", "client": f"c{n}"}])
os._exit(0)  # no close, no copy: as a SIGKILL leaves it
"""


def test_the_rows_of_a_writer_that_died_are_copied_once_and_its_journal_removed(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    subprocess.run([sys.executable, "-c", WRITER_DIES, str(db)], check=True, timeout=60)
    assert len(journals(db)) == 1  # left behind, nothing copied
    assert clients(Ledger(db)) == [f"c{n}" for n in range(50)]  # a new ledger copies it in on opening
    assert journals(db) == []  # nobody holds it and it is copied to its end: removed
    assert Ledger(db).count() == 50


def test_a_copy_that_died_before_removing_the_journal_copies_nothing_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "l.db"
    subprocess.run([sys.executable, "-c", WRITER_DIES, str(db)], check=True, timeout=60)

    def dies(self: Path, missing_ok: bool = False) -> None:
        raise OSError("died here")

    with monkeypatch.context() as m:
        m.setattr(Path, "unlink", dies)
        assert Ledger(db).count() == 50  # copied, committed, then "died" before the file went
    assert len(journals(db)) == 1
    ledger = Ledger(db)
    assert ledger.count() == 50  # the kept offset says it is all in
    assert journals(db) == []


def test_a_half_written_line_waits_for_its_end(tmp_path: Path) -> None:
    import fcntl

    db = tmp_path / "l.db"
    ledger = Ledger(db)
    path = db.with_name(db.name + ".journal-1-test.jsonl")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a writer that is alive
    try:
        os.write(fd, b'{"source":"gateway","client":"c1"}\n{"source":"gate')
        assert clients(ledger) == ["c1"]
        os.write(fd, b'way","client":"c2"}\n')
        assert clients(ledger) == ["c1", "c2"]
        assert path.exists()  # its writer holds it: not removed, however far it is copied
    finally:
        os.close(fd)
    assert clients(ledger) == ["c1", "c2"]
    assert not path.exists()


def test_a_long_journal_gives_way_to_a_new_one_and_every_row_arrives_once(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    journal = Journal(Ledger(db), interval=NEVER, rotate_bytes=400)
    first = journal.path
    try:
        for n in range(30):
            journal.append([row(n)])
            if n % 7 == 6:
                journal.fold()
        assert journal.path != first
        assert not first.exists()  # let go and copied: removed
    finally:
        journal.close()
    assert clients(Ledger(db)) == [f"c{n}" for n in range(30)]
    assert journals(db) == []


def test_copies_racing_from_many_ledgers_and_the_writers_thread_take_each_row_once(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    journal = Journal(Ledger(db, timeout=30), interval=0.001, rotate_bytes=20_000)
    stop = threading.Event()
    errors: list[BaseException] = []

    def reader() -> None:
        ledger = Ledger(db, timeout=30)
        try:
            while not stop.is_set():
                ledger.count()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            ledger.close()

    readers = [threading.Thread(target=reader) for _ in range(3)]
    for t in readers:
        t.start()
    try:
        for n in range(1500):
            journal.append([row(n)])
    finally:
        stop.set()
        for t in readers:
            t.join()
        journal.close()
    assert errors == []
    got = clients(Ledger(db))
    assert sorted(got) == sorted(f"c{n}" for n in range(1500))
    assert got == [f"c{n}" for n in range(1500)]  # one writer's rows keep their order
    assert journals(db) == []


def test_a_closed_journal_refuses_rows_so_the_caller_writes_them_itself(tmp_path: Path) -> None:
    journal = Journal(Ledger(tmp_path / "l.db"), interval=NEVER)
    journal.close()
    with pytest.raises(OSError, match="closed"):
        journal.append([row(1)])


def test_a_row_that_cannot_be_stored_is_skipped_without_holding_up_the_rows_after_it(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    journal = Journal(Ledger(db), interval=NEVER)
    try:
        journal.append([row(1), row(2, output_tokens="many"), row(3, route={"odd": "value"}), row(4)])
        rows = Ledger(db).requests()
    finally:
        journal.close()
    assert [r["client"] for r in rows] == ["c1", "c3", "c4"]
    assert rows[1]["route"] == "{'odd': 'value'}"


def test_a_short_write_names_the_rows_it_did_not_take_and_the_journal_goes_on_in_a_new_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from glmkit.ledger import journal as journal_module
    from glmkit.ledger.journal import JournalShort

    db = tmp_path / "l.db"
    ledger = Ledger(db)
    journal = Journal(ledger, interval=NEVER)
    first = journal.path
    real_write = os.write

    def full_disk(fd: int, data: bytes) -> int:  # takes a row and a half, as a disk that fills up mid-write
        return real_write(fd, data[: data.index(b"\n") + 10])

    try:
        with monkeypatch.context() as m:
            m.setattr(journal_module.os, "write", full_disk)
            with pytest.raises(JournalShort) as caught:
                journal.append([row(1), row(2), row(3)])
        assert [r["client"] for r in caught.value.rest] == ["c2", "c3"]
        ledger.add_requests(caught.value.rest)  # what the gateway does with them
        assert journal.path != first  # the cut file is left for the copier; rows go on in a new one
        journal.append([row(4)])
        got = clients(Ledger(db))
        assert sorted(got) == ["c1", "c2", "c3", "c4"]  # each once: the cut line is never copied
        assert got.index("c1") < got.index("c4")  # the journal's own rows keep their order
    finally:
        journal.close()
    assert journals(db) == []  # the cut line was ended, so the file could be copied to its end and removed
