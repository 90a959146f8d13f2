"""client.files and client.files.batches against the emulator."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from glmkit._errors import InputError, JobFailedError
from glmkit.emulator import EmulatorConfig, create_app
from glmkit.testing import TEST_KEY, EmulatorTransport, offline_client

pytestmark = pytest.mark.timeout(60)


def _jsonl(n: int) -> bytes:
    rows = [
        {
            "custom_id": f"q{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "glm-4.7", "messages": [{"role": "user", "content": f"question {i}"}]},
        }
        for i in range(n)
    ]
    return "\n".join(json.dumps(r) for r in rows).encode()


def _uploads(app) -> int:  # type: ignore[no-untyped-def]
    return sum(1 for r in app.state.emulator.requests if r["path"].endswith("/files") and r["method"] == "POST")


def test_upload_list_content_delete(client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    doc = tmp_path / "glossary.txt"
    doc.write_text("GLM = General Language Model\n")
    uploaded = client.files.create(file=doc, purpose="agent")
    assert (uploaded.filename, uploaded.bytes, uploaded.purpose) == ("glossary.txt", doc.stat().st_size, "agent")
    assert [f.id for f in client.files.list(purpose="agent").data] == [uploaded.id]
    assert client.files.content(uploaded.id) == doc.read_bytes()
    assert client.files.delete(uploaded.id).deleted is True
    assert client.files.list().data == []


def test_batch_runs_to_completion_and_writes_an_output_file(client) -> None:  # type: ignore[no-untyped-def]
    source = client.files.create(file=_jsonl(3), purpose="batch")
    batch = client.files.batches.create(input_file_id=source.id, endpoint="/v1/chat/completions")
    assert batch.status == "validating" and batch.request_counts.total == 3
    done = client.files.batches.wait(batch.id, poll=0.1)
    assert done.status == "completed" and done.request_counts.completed == 3
    lines = [json.loads(x) for x in client.files.content(done.output_file_id).decode().splitlines()]
    assert [x["custom_id"] for x in lines] == ["q0", "q1", "q2"]
    assert "question 1" in lines[1]["response"]["body"]["choices"][0]["message"]["content"]
    assert [b.id for b in client.files.batches.list().data] == [batch.id]


def test_batches_list_pages_with_the_after_cursor(client) -> None:  # type: ignore[no-untyped-def]
    source = client.files.create(file=_jsonl(1), purpose="batch")
    ids = [client.files.batches.create(input_file_id=source.id, endpoint="/v1/chat/completions").id for _ in range(3)]
    first = client.files.batches.list(limit=2)
    assert first.has_more is True and [b.id for b in first.data] == ids[:2]
    rest = client.files.batches.list(after=first.data[-1].id, limit=2)
    assert rest.has_more is False and [b.id for b in rest.data] == ids[2:]


def test_files_list_pages_with_the_after_cursor(client) -> None:  # type: ignore[no-untyped-def]
    ids = [client.files.create(file=f"text {i}".encode(), filename=f"f{i}.txt", purpose="agent").id for i in range(3)]
    newest_first = list(reversed(ids))
    page = client.files.list(limit=2)
    assert page.has_more is True and [f.id for f in page.data] == newest_first[:2]
    assert [f.id for f in client.files.list(after=page.data[-1].id).data] == newest_first[2:]


def test_cancelled_batch_fails_the_wait() -> None:
    client = offline_client(create_app(EmulatorConfig(job_seconds=3600)), sleep=lambda s: None)
    source = client.files.create(file=_jsonl(1), purpose="batch")
    batch = client.files.batches.create(input_file_id=source.id, endpoint="/v1/chat/completions")
    assert client.files.batches.cancel(batch.id).status == "cancelled"
    with pytest.raises(JobFailedError, match=batch.id):
        client.files.batches.wait(batch.id, poll=1)
    client.close()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"file": b"not json\n", "purpose": "batch"}, "line 1 is not a JSON object"),
        ({"file": b"", "purpose": "batch"}, "empty"),
        ({"file": b"x", "purpose": "training"}, "purpose must be one of"),
        ({"file": b"MZ", "purpose": "agent", "filename": "tool.exe"}, "agent files must be"),
    ],
)
def test_bad_uploads_are_refused_before_sending(client, emulator_app, params, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=message):
        client.files.create(**params)
    assert _uploads(emulator_app) == 0


def test_over_100_mb_is_refused_locally(client, emulator_app, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import glmkit.resources.files as files_mod

    real = files_mod.limits
    monkeypatch.setattr(files_mod, "limits", lambda s: {**real(s), "max_bytes": 1000} if s == "files" else real(s))
    with pytest.raises(InputError, match="uploads take at most"):
        client.files.create(file=b"x" * 1001, purpose="retrieval", filename="a.txt")
    assert _uploads(emulator_app) == 0


def test_the_emulator_answers_435_for_oversized_files(monkeypatch: pytest.MonkeyPatch) -> None:
    import glmkit.emulator.files as emu_files

    real = emu_files.limits
    monkeypatch.setattr(emu_files, "limits", lambda s: {**real(s), "max_bytes": 1000} if s == "files" else real(s))
    app = create_app(EmulatorConfig())
    http = httpx.Client(transport=EmulatorTransport(app), base_url="http://emulator.invalid/api/paas/v4")
    r = http.post(
        "/files",
        headers={"Authorization": f"Bearer {TEST_KEY}"},
        data={"purpose": "retrieval"},
        files={"file": ("a.txt", b"x" * 1001, "text/plain")},
    )
    assert r.status_code == 435 and "100MB" in r.json()["error"]["message"]
    http.close()


@pytest.mark.anyio
async def test_async_files_and_batches(aclient) -> None:  # type: ignore[no-untyped-def]
    source = await aclient.files.create(file=_jsonl(2), purpose="batch")
    batch = await aclient.files.batches.create(input_file_id=source.id, endpoint="/v1/chat/completions")
    done = await aclient.files.batches.wait(batch.id, poll=0.1)
    assert done.request_counts.completed == 2
    assert len((await aclient.files.content(done.output_file_id)).splitlines()) == 2
    assert (await aclient.files.delete(source.id)).deleted


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.files.list(limit=0), "limit must be a positive whole number"),
        (lambda c: c.files.list(limit="10"), "limit must be a positive whole number"),
        (lambda c: c.files.list(purpos="batch"), r"files.list\(\) got unknown argument\(s\): purpos.*purpose"),
        (lambda c: c.files.batches.list(order="asc"), r"unknown argument\(s\): order"),
        (lambda c: c.files.delete(None), "file_id is required"),
        (lambda c: c.files.content(7), "file_id is required as a non-empty string"),
        (lambda c: c.files.batches.wait("", poll=1), "task_id is required"),
        (lambda c: c.files.batches.wait("batch_1", cancel=None, timout=5), r"unknown argument\(s\): timout"),
    ],
)
def test_bad_list_and_id_arguments_are_refused_before_sending(client, emulator_app, call, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=message):
        call(client)
    assert emulator_app.state.emulator.requests == []
