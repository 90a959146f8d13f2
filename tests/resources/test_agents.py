"""client.agents against the emulator: translation (plain, streamed), slides + export, Vidu template jobs."""

from __future__ import annotations

import io
import zipfile

import httpx
import media_samples as ms
import pytest

from glmkit import media
from glmkit._errors import BadRequestError, InputError, JobFailedError
from glmkit.testing import TEST_KEY, EmulatorTransport

pytestmark = pytest.mark.timeout(60)


def _sent(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [r["path"] for r in app.state.emulator.requests if "/v1/agents" in r["path"]]


def test_translate_goes_to_the_v1_root_with_text_parts(client, emulator_app) -> None:  # type: ignore[no-untyped-def]
    result = client.agents.translate("good morning", to="ja")
    assert result.text == "[ja] good morning"
    assert result.status == "success" and result.usage and result.usage.total_calls == 1
    assert _sent(emulator_app) == ["/api/v1/agents"]  # not /api/paas/v4/v1/agents (errata 21)


def test_invoke_turns_string_content_into_parts_and_defaults_to_zh_cn(client) -> None:  # type: ignore[no-untyped-def]
    messages = [{"role": "user", "content": "hello"}]
    result = client.agents.invoke("general_translation", messages=messages)
    assert result.text == "[zh-CN] hello"
    assert messages == [{"role": "user", "content": "hello"}]  # the caller's list is left alone


def test_the_emulator_refuses_string_content_as_the_docs_require(emulator_app) -> None:  # type: ignore[no-untyped-def]
    http = httpx.Client(transport=EmulatorTransport(emulator_app), base_url="http://emulator.invalid/api")
    r = http.post(
        "/v1/agents",
        headers={"Authorization": f"Bearer {TEST_KEY}"},
        json={"agent_id": "general_translation", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert r.status_code == 400
    assert r.json()["status"] == "failed" and r.json()["error"]["code"] == "1214"
    http.close()


def test_translation_stream(client) -> None:  # type: ignore[no-untyped-def]
    with client.agents.invoke(
        "general_translation", text="see you soon", custom_variables={"target_lang": "fr"}, stream=True
    ) as stream:
        pieces = [chunk.text for chunk in stream]
    assert "".join(pieces) == "[fr] see you soon"


def test_slides_pages_continue_and_export(client) -> None:  # type: ignore[no-untyped-def]
    deck = client.agents.slides("Rust ownership")
    assert deck.conversation_id and len(deck.pages) == 3
    assert "<h1>Rust ownership</h1>" in deck.pages[0]["output"]
    assert deck.text == "Made 3 slides about Rust ownership."
    more = client.agents.slides("add examples", conversation_id=deck.conversation_id)
    assert [p["position"] for p in more.pages] == [[4], [5], [6]]
    export = client.agents.conversation(deck.conversation_id, include_pdf=True)
    deck_url, pdf_url = export.urls("file_url")
    with zipfile.ZipFile(io.BytesIO(client.agents.download(deck_url))) as z:
        assert len(z.namelist()) == 6
    assert media.pdf_page_count(client.agents.download(pdf_url)) == 6


def test_vidu_template_job_success_and_failure(client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    face = tmp_path / "face.png"
    face.write_bytes(ms.png(256, 256))
    started = client.agents.vidu_template(face, "bodyshake", prompt="dance")
    assert started.status == "pending" and started.async_id
    seen = []
    done = client.agents.wait("vidu_template_agent", started.async_id, poll=0.1, on_progress=seen.append)
    assert done.status == "success" and seen[-1].status == "success"
    assert media.sniff_format(client.agents.download(done.urls("video_url")[0])) == "mp4"
    failing = client.agents.vidu_template("https://x.test/face.png", "french_kiss", prompt="[fail]")
    with pytest.raises(JobFailedError) as err:
        client.agents.wait("vidu_template_agent", failing.async_id, poll=0.1)
    assert err.value.task_id == failing.async_id


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.agents.translate("x", to="klingon"), "target_lang 'klingon'"),
        (lambda c: c.agents.translate("x", to="ja", strategy="magic"), "strategy must be one of"),
        (lambda c: c.agents.translate("x", to="auto"), "target_lang 'auto'"),
        (lambda c: c.agents.translate("x", to="ja", source="en-GB"), "source_lang 'en-GB'"),
        (lambda c: c.agents.invoke("weather_agent", text="x"), "not an agent of the API"),
        (lambda c: c.agents.invoke("general_translation"), "Give text="),
        (lambda c: c.agents.vidu_template("https://x.test/a.png", "waltz"), "template, one of"),
        (lambda c: c.agents.vidu_template(ms.png(7000, 10), "bodyshake"), "6000x6000"),
        (lambda c: c.agents.vidu_template(None, "bodyshake"), "image is required"),
        (lambda c: c.agents.translate(123, to="ja"), "text must be a string"),
        (lambda c: c.agents.translate("x", target="ja"), r"unknown argument\(s\): target; it takes .*to"),
        (
            lambda c: c.agents.invoke("general_translation", messages=[{"role": "user", "content": 7}]),
            "string or a list",
        ),
        (lambda c: c.agents.conversation("", include_pdf=True), "conversation_id is required"),
        (lambda c: c.agents.conversation("conv1", pdf=True), r"unknown argument\(s\): pdf"),
        (lambda c: c.agents.conversation("conv1", pages="1-3"), "pages must be a list of dicts"),
        (
            lambda c: c.agents.invoke("general_translation", text="x", custom_variables="ja"),
            "custom_variables must be a dict",
        ),
        (lambda c: c.agents.async_result("vidu_template_agent", 42), "async_id is required as a non-empty string"),
        (lambda c: c.agents.wait("vidu_template_agent", ""), "task_id is required"),
        (lambda c: c.agents.wait("vidu_template_agent", "vidu1", poll=0), "poll must be a positive number"),
        (lambda c: c.agents.download("file.pptx"), "http"),
    ],
)
def test_bad_agent_calls_are_refused_before_sending(client, emulator_app, call, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=message):
        call(client)
    assert _sent(emulator_app) == []


def test_server_side_agent_errors_raise(client) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BadRequestError, match="does not exist"):
        client.agents.slides("more", conversation_id="conv-unknown")


@pytest.mark.anyio
async def test_async_agents(aclient) -> None:  # type: ignore[no-untyped-def]
    assert (await aclient.agents.translate("thanks", to="de")).text == "[de] thanks"
    deck = await aclient.agents.slides("Go channels")
    export = await aclient.agents.conversation(deck.conversation_id)
    assert len(export.urls("file_url")) == 1
    started = await aclient.agents.vidu_template("https://x.test/a.png", "sexy_me")
    done = await aclient.agents.wait("vidu_template_agent", started.async_id, poll=0.1)
    assert done.urls("video_url")
    stream = await aclient.agents.invoke("general_translation", text="one two", stream=True)
    async with stream:
        assert "".join([c.text async for c in stream]) == "[zh-CN] one two"
