import tomllib
from importlib import resources

import pytest

import glmkit
from glmkit._errors import make_status_error


def table() -> dict:
    return tomllib.loads(resources.files("glmkit.data").joinpath("errors.toml").read_text())


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (401, "1002", glmkit.AuthenticationError),
        (429, "1302", glmkit.ConcurrencyLimitError),
        (429, "1303", glmkit.RateLimitError),
        (429, "1113", glmkit.InsufficientBalanceError),
        (429, "1308", glmkit.QuotaExceededError),
        (400, "1301", glmkit.ContentFilterError),
        (400, "1211", glmkit.NotFoundError),
        (500, "1234", glmkit.InternalServerError),
        (434, None, glmkit.PermissionDeniedError),
        (404, None, glmkit.NotFoundError),
        (503, None, glmkit.InternalServerError),
    ],
)
def test_status_and_business_code_pick_the_class(status: int, code: str | None, cls: type) -> None:
    body = {"error": {"code": code, "message": "m"}} if code else {"error": {"message": "m"}}
    err = make_status_error(status, body)
    assert type(err) is cls
    assert err.status_code == status and err.code == code


def test_every_documented_code_has_a_row_and_quota_is_never_a_rate_limit() -> None:
    documented = {
        500,
        1000,
        1001,
        1002,
        1003,
        1004,
        1100,
        1110,
        1111,
        1112,
        1113,
        1120,
        1121,
        1200,
        1210,
        1211,
        1212,
        1213,
        1214,
        1215,
        1220,
        1221,
        1222,
        1230,
        1231,
        1234,
        1261,
        1300,
        1301,
        1302,
        1303,
        1304,
        1305,
        1308,
        1309,
        1310,
        1311,
        1312,
        1313,
    }
    assert {int(c) for c in table()["codes"]} == documented
    for code in ("1113", "1304", "1308", "1309", "1310", "1311", "1313"):
        err = make_status_error(429, {"error": {"code": code, "message": "x"}})
        assert isinstance(err, glmkit.QuotaExceededError)
        assert not isinstance(err, glmkit.RateLimitError)
        assert not err.retryable


def test_quota_error_reads_the_reset_time_into_the_hint() -> None:
    err = make_status_error(
        429, {"error": {"code": "1308", "message": "Usage limit reached, will reset at 2026-08-25 07:41:44"}}
    )
    assert err.resets_at is not None and err.resets_at.hour == 7
    assert "2026-08-25 07:41" in (err.hint or "")


def test_plan_key_on_general_endpoint_hint_names_the_fix() -> None:
    err = make_status_error(429, {"error": {"code": "1113", "message": "arrears"}})
    assert "--endpoint coding" in (err.hint or "")


def test_exit_codes_follow_the_cli_contract() -> None:
    assert glmkit.InputError.exit_code == 2
    assert glmkit.AuthenticationError.exit_code == 3
    assert glmkit.QuotaExceededError.exit_code == 4 and glmkit.RateLimitError.exit_code == 4
    assert glmkit.InternalServerError.exit_code == 5 and glmkit.APIConnectionError.exit_code == 5


def test_the_old_name_of_operation_cancelled_error_still_works_with_a_warning() -> None:
    import glmkit
    from glmkit import _errors

    for module in (glmkit, _errors):
        with pytest.warns(DeprecationWarning, match="use OperationCancelledError"):
            assert module.OperationCancelled is _errors.OperationCancelledError
    assert "OperationCancelled" not in glmkit.__all__
