"""data/errors.toml and data/models.toml row by row against the reference (§13.3-§13.4, §3.1-§3.3), and the
emulator answering each business code with its row's HTTP status."""

from __future__ import annotations

import httpx
import pytest
from emulator_http import chat, error_of

from glmkit import _errors as errors
from glmkit.catalog import all_models, get_model

# §13.3: code -> (typical HTTP status, or None where the reference leaves it blank; retry rule)
BUSINESS_CODES: dict[str, tuple[int | None, str]] = {
    "500": (500, "yes"),
    "1000": (401, "no"),
    "1001": (401, "no"),
    "1002": (401, "no"),
    "1003": (401, "refresh"),
    "1004": (401, "no"),
    "1100": (None, "no"),
    "1110": (None, "no"),
    "1111": (None, "no"),
    "1112": (429, "no"),
    "1113": (429, "no"),
    "1120": (None, "yes"),
    "1121": (429, "no"),
    "1200": (None, "no"),
    "1210": (400, "no"),
    "1211": (400, "no"),
    "1212": (400, "no"),
    "1213": (400, "no"),
    "1214": (400, "no"),
    "1215": (400, "no"),
    "1220": (434, "no"),  # "401/434"; §13.2: 434 is "no API permission"
    "1221": (None, "no"),
    "1222": (404, "no"),
    "1230": (500, "yes"),
    "1231": (400, "no"),
    "1234": (500, "yes"),
    "1261": (400, "no"),
    "1300": (None, "no"),
    "1301": (400, "no"),
    "1302": (429, "yes"),
    "1303": (429, "yes"),
    "1304": (429, "no"),
    "1305": (429, "yes"),
    "1308": (429, "no"),
    "1309": (429, "no"),
    "1310": (429, "no"),
    "1311": (429, "no"),  # "400/429"
    "1312": (429, "yes"),
    "1313": (429, "no"),
}
QUOTA_429 = {"1113", "1304", "1308", "1309", "1310", "1311", "1313"}  # §13.4: never retried
RATE_429 = {"1302", "1303", "1305", "1312"}  # §13.4: retried with backoff
CLASSES = {  # the tree of STYLE §5, which follows §13.3's categories
    "AuthenticationError": {"1000", "1001", "1002", "1003", "1004"},
    "BadRequestError": {"1200", "1210", "1212", "1213", "1214", "1215", "1231", "1261"},
    "NotFoundError": {"1211", "1222"},
    "PermissionDeniedError": {"1220", "1221"},
    "ContentFilterError": {"1300", "1301"},
    "ConcurrencyLimitError": {"1302"},
    "RateLimitError": {"1303", "1305", "1312"},
    "InsufficientBalanceError": {"1113"},
    "QuotaExceededError": {"1304", "1308", "1309", "1310", "1311", "1313"},
    "AccountError": {"1100", "1110", "1111", "1112", "1120", "1121"},
    "InternalServerError": {"500", "1230", "1234"},
}


def test_every_business_code_of_the_reference_is_a_row_and_no_other() -> None:
    from glmkit import data

    assert set(data.load("errors")["codes"]) == set(BUSINESS_CODES)


@pytest.mark.parametrize("code", sorted(BUSINESS_CODES))
def test_a_codes_row_has_the_references_status_retry_and_class(code: str) -> None:
    status, retry = BUSINESS_CODES[code]
    row = errors.code_row(code)
    if status is not None:
        assert row.status == status
    assert row.retry == retry
    assert row.quota is (code in QUOTA_429)
    if row.status == 429:  # §13.4: a rate 429 is retried, a quota/balance/account 429 is not (1120: "yes, backoff")
        assert row.retryable is (code in RATE_429 | {"1120"})
    assert code in CLASSES[row.cls.__name__]


@pytest.mark.parametrize("code", sorted(BUSINESS_CODES))
def test_the_emulator_answers_a_code_with_its_rows_status(http: httpx.Client, code: str) -> None:
    response = http.post("/chat/completions", json=chat(), headers={"X-Emulator-Fault": f"code={code}"})
    assert error_of(response)[:2] == (errors.code_row(code).status, code)


# §3.1/§3.2: id -> (context, max output, default output, thinking, modalities); None = reference silent
MODELS: dict[str, tuple[int | None, int | None, int | None, str | None, set[str]]] = {
    "glm-5.3": (1048576, 131072, None, "always", {"text"}),
    "glm-5.3-flash": (1048576, 131072, None, "always", {"text", "image", "video", "file"}),
    "glm-5.3-flashx": (None, None, None, None, set()),
    "glm-5.2": (1048576, 131072, None, "forced", {"text"}),
    "glm-5.1": (204800, 131072, 65536, "forced", {"text"}),
    "glm-5-turbo": (204800, 131072, 65536, "forced", {"text"}),
    "glm-5": (204800, 131072, 65536, "forced", {"text"}),
    "glm-5v-turbo": (204800, 131072, 65536, "forced", {"text", "image", "video", "file"}),
    "glm-4.7": (204800, 131072, 65536, "forced", {"text"}),
    "glm-4.7-flash": (204800, 131072, None, "forced", {"text"}),
    "glm-4.7-flashx": (204800, 131072, None, "forced", {"text"}),
    "glm-4.6": (204800, 131072, 65536, "hybrid", {"text"}),
    "glm-4.6v": (131072, 32768, 16384, "hybrid", {"text", "image", "video", "file"}),
    "glm-4.6v-flash": (131072, 32768, 16384, "hybrid", {"text", "image", "video", "file"}),
    "glm-4.6v-flashx": (131072, 32768, 16384, "hybrid", {"text", "image", "video", "file"}),
    "glm-4.5": (131072, 98304, 65536, "hybrid", {"text"}),
    "glm-4.5-air": (131072, 98304, 65536, "hybrid", {"text"}),
    "glm-4.5-x": (131072, 98304, 65536, "hybrid", {"text"}),
    "glm-4.5-airx": (131072, 98304, 65536, "hybrid", {"text"}),
    "glm-4.5-flash": (131072, 98304, 65536, "hybrid", {"text"}),
    "glm-4.5v": (65536, 16384, 16384, "forced", {"text", "image", "video", "file"}),
    "glm-4-32b-0414-128k": (131072, 16384, 16384, "none", {"text"}),
    "autoglm-phone-multilingual": (None, 4096, None, "none", {"text", "image"}),
}
OTHER_MODELS = {
    "glm-ocr": "ocr",
    "glm-asr-2512": "asr",
    "glm-image": "image",
    "cogview-4-250304": "image",
    **dict.fromkeys(
        ["cogvideox-3", "viduq1-text", "viduq1-image", "viduq1-start-end", "vidu2-image", "vidu2-start-end"], "video"
    ),
    "vidu2-reference": "video",
}
# §3.3, late 2026: GLM-5.3, GLM-5.3-Flash and GLM-5-Turbo offered; older plan ids (5.2, 5.1, 4.7, ...) routed
PLAN_OFFERED = {"glm-5.3", "glm-5.3-flash", "glm-5-turbo"}


def test_every_model_of_section_3_is_in_the_table_and_no_other() -> None:
    assert {m.id for m in all_models()} == set(MODELS) | set(OTHER_MODELS)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_a_chat_models_row_matches_the_reference(model: str) -> None:
    context, most, default, thinking, modalities = MODELS[model]
    info = get_model(model)
    assert info is not None and info.kind == "chat"
    for expected, got in ((context, info.context), (most, info.max_output), (default, info.default_output)):
        if expected is not None:
            assert got == expected
    if thinking is not None:
        assert info.thinking == thinking
    if modalities:
        assert set(info.modalities) == modalities
        assert info.vision is ("image" in modalities)
    if model in PLAN_OFFERED:
        assert info.plan


@pytest.mark.parametrize("model", sorted(OTHER_MODELS))
def test_a_non_chat_model_names_its_endpoint(model: str) -> None:
    info = get_model(model)
    assert info is not None and info.kind == OTHER_MODELS[model]


def test_efforts_follow_section_2_5() -> None:
    assert set(get_model("glm-5.3").efforts) == {"low", "high", "max"}  # type: ignore[union-attr]
    assert set(get_model("glm-5.2").efforts) == {"none", "minimal", "low", "medium", "high", "xhigh", "max"}  # type: ignore[union-attr]
    assert not get_model("glm-4.7").efforts  # type: ignore[union-attr]
