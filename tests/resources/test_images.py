"""client.images against the emulator: generation, save() of a real PNG, size rules checked before sending."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from glmkit import media
from glmkit._errors import InputError
from glmkit.testing import TEST_KEY, EmulatorTransport

pytestmark = pytest.mark.timeout(60)


def _sent(app) -> list[dict]:  # type: ignore[no-untyped-def]
    return [r for r in app.state.emulator.requests if "images/generations" in r["path"]]


def test_generate_and_save_a_real_png(client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = client.images.generate(prompt="a lighthouse at dusk")
    assert result.url and result.url.endswith(".png")
    assert result.content_filter and result.content_filter[0].level == 3
    saved = client.images.save(result, tmp_path / "out.png")
    info = media.check_image(saved, max_width=4096, max_height=4096)
    assert (info.format, info.width, info.height) == ("png", 1280, 1280)  # glm-image's default size
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]  # no temp file left behind
    assert saved.stat().st_mode & 0o777 == 0o644  # not the temp file's 0600


def test_cogview_custom_size_and_sdk_alias(client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = client.images.generations(model="cogview-4-250304", prompt="a fox", size="1024x2048", quality="standard")
    path = client.images.save(result, tmp_path / "fox.png")
    assert media.image_size(path.read_bytes()) == (1024, 2048)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"prompt": "x", "size": "1000x1000"}, "both sides must be 1024-2048 px"),
        ({"prompt": "x", "size": "1280x1290"}, "multiples of 32"),
        ({"model": "cogview-4-250304", "prompt": "x", "size": "2048x2048"}, "at most 2097152 px"),
        ({"prompt": "x", "size": "big"}, "must look like 1280x1280"),
        ({"prompt": "x", "quality": "ultra"}, "quality must be one of"),
        ({"prompt": "   "}, "prompt is required"),
        ({"prompt": 42}, r"prompt is required as text \(got a int\)"),
        ({"model": "glm-4.7", "prompt": "x"}, "not an image model"),
    ],
)
def test_bad_requests_are_refused_before_sending(client, emulator_app, params, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=message):
        client.images.generate(**params)
    assert _sent(emulator_app) == []


def test_size_errors_list_the_presets(client) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as err:
        client.images.generate(prompt="x", size="1000x1000")
    assert "1568x1056" in (err.value.hint or "")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/images/generations", {"model": "glm-image", "prompt": "x", "size": "1000x1000"}),
        ("/async/images/generations", {"model": "glm-image", "prompt": "x", "quality": "standard"}),  # §5: hd only
    ],
)
def test_the_emulator_rejects_what_the_api_rejects(emulator_app, path: str, body: dict) -> None:  # type: ignore[no-untyped-def]
    http = httpx.Client(transport=EmulatorTransport(emulator_app), base_url="http://emulator.invalid/api/paas/v4")
    r = http.post(path, headers={"Authorization": f"Bearer {TEST_KEY}"}, json=body)
    assert r.status_code == 400 and r.json()["error"]["code"] == "1214"
    assert not emulator_app.state.emulator.jobs
    http.close()


def test_content_filter_refusal_raises(client) -> None:  # type: ignore[no-untyped-def]
    from glmkit._errors import ContentFilterError

    with pytest.raises(ContentFilterError) as err:
        client.images.generate(prompt="[unsafe] something")
    assert err.value.code == "1301" and err.value.status_code == 400


def test_async_glm_image_job(client) -> None:  # type: ignore[no-untyped-def]
    task = client.images.submit(prompt="a map", quality="hd")
    assert task.task_status == "PROCESSING"
    result = client.images.wait(task.id, poll=0.1)
    assert result.task_status == "SUCCESS" and result.image_result[0].url
    with pytest.raises(InputError, match="glm-image only"):
        client.images.submit(model="cogview-4-250304", prompt="x")


@pytest.mark.anyio
async def test_async_client_generate_and_save(aclient, emulator_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = await aclient.images.generate(prompt="a red square", size="1088x1472")
    path = await aclient.images.save(result, tmp_path / "sq.png")
    assert media.image_size(path.read_bytes()) == (1088, 1472)
    with pytest.raises(InputError, match="1024-2048"):
        await aclient.images.generate(prompt="x", size="4000x4000")
    assert len(_sent(emulator_app)) == 1
