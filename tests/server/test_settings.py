from __future__ import annotations

from pathlib import Path

import pytest

from server.settings import Settings, SettingsError


def test_defaults_without_environment() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.artifacts_path == Path("artifacts")
    assert (settings.host, settings.port, settings.max_batch_rows) == ("0.0.0.0", 8000, 1000)


@pytest.mark.parametrize(
    ("environ", "field", "value"),
    [
        pytest.param({"ARTIFACTS_PATH": "/srv/models"}, "artifacts_path", Path("/srv/models"),
                     id="old ARTIFACTS_PATH"),
        pytest.param({"ARTIFACTS_PATH": "/a", "IDS_ARTIFACTS_PATH": "/b"}, "artifacts_path",
                     Path("/b"), id="IDS_ name wins over the old one"),
        pytest.param({"IDS_PORT": "9000"}, "port", 9000, id="port"),
        pytest.param({"LOG_LEVEL": "WARNING"}, "log_level", "warning", id="old LOG_LEVEL"),
        pytest.param({"IDS_MAX_BATCH_ROWS": "50"}, "max_batch_rows", 50, id="batch rows"),
        pytest.param({"IDS_INTRA_OP_THREADS": "2"}, "intra_op_threads", 2, id="threads"),
        pytest.param({"IDS_THREADS": "3"}, "intra_op_threads", 3, id="threads, earlier name"),
        pytest.param({"IDS_SPINNING": "yes"}, "spinning", True, id="spinning"),
        pytest.param({"MODEL_PATH": "models"}, "artifacts_path", Path("artifacts"),
                     id="MODEL_PATH (pickles) is not the repository"),
        pytest.param({"IDS_WORKERS": "4"}, "workers", 4, id="workers"),
        pytest.param({"IDS_MAX_CONCURRENCY": "0"}, "max_concurrency", 0, id="no concurrency limit"),
        pytest.param({"IDS_REQUEST_TIMEOUT_SECONDS": "2.5"}, "request_timeout_seconds", 2.5,
                     id="request timeout"),
        pytest.param({"IDS_KEEP_ALIVE_SECONDS": "1"}, "keep_alive_seconds", 1.0, id="keep-alive"),
        pytest.param({"IDS_GRACEFUL_SHUTDOWN_SECONDS": "0"}, "graceful_shutdown_seconds", 0.0,
                     id="no grace"),
        pytest.param({"IDS_POLL_SECONDS": "10"}, "poll_seconds", 10.0, id="polling"),
        pytest.param({"IDS_ACCESS_LOG": "off"}, "access_log", False, id="access log off"),
        pytest.param({"IDS_METRICS_REQUIRE_AUTH": "true"}, "metrics_require_auth", True,
                     id="metrics behind auth"),
        pytest.param({"IDS_STATE_DIR": "/run/ids"}, "state_dir", Path("/run/ids"), id="state dir"),
        pytest.param({"IDS_AUTH_TOKENS": "alpha, beta,,alpha"}, "auth_tokens", ("alpha", "beta"),
                     id="tokens: trimmed, blanks and repeats dropped"),
    ],
)  # fmt: skip
def test_values_come_from_the_environment(
    environ: dict[str, str], field: str, value: object
) -> None:
    assert getattr(Settings.from_env(environ), field) == value


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        pytest.param({"IDS_PORT": "http"}, "IDS_PORT has value 'http': not a valid integer",
                     id="port not a number"),
        pytest.param({"IDS_PORT": "70000"}, "IDS_PORT has value '70000': must be between",
                     id="port out of range"),
        pytest.param({"IDS_MAX_BATCH_ROWS": "0"}, "IDS_MAX_BATCH_ROWS has value '0': must be at",
                     id="zero rows"),
        pytest.param({"LOG_LEVEL": "loud"}, "LOG_LEVEL has value 'loud': must be one of",
                     id="log level"),
        pytest.param({"IDS_SPINNING": "maybe"}, "IDS_SPINNING has value 'maybe'", id="flag"),
        pytest.param({"ARTIFACTS_PATH": " "}, "ARTIFACTS_PATH has value ' ': must not be empty",
                     id="empty path"),
        pytest.param({"IDS_WORKERS": "0"}, "IDS_WORKERS has value '0': must be at least 1",
                     id="no workers"),
        pytest.param({"IDS_MAX_CONCURRENCY": "-1"}, "IDS_MAX_CONCURRENCY has value '-1': must be 0",
                     id="negative limit"),
        pytest.param({"IDS_REQUEST_TIMEOUT_SECONDS": "soon"},
                     "IDS_REQUEST_TIMEOUT_SECONDS has value 'soon': not a valid number of seconds",
                     id="timeout not a number"),
        pytest.param({"IDS_GRACEFUL_SHUTDOWN_SECONDS": "-5"},
                     "IDS_GRACEFUL_SHUTDOWN_SECONDS has value '-5': must be 0 or more",
                     id="negative grace"),
        pytest.param({"IDS_POLL_SECONDS": "inf"}, "IDS_POLL_SECONDS has value 'inf'",
                     id="infinite polling period"),
        pytest.param({"IDS_AUTH_TOKENS": " , "}, "IDS_AUTH_TOKENS is set but holds no token",
                     id="no token"),
        pytest.param({"IDS_AUTH_TOKENS": "a", "IDS_AUTH_TOKENS_FILE": "/x"},
                     "set IDS_AUTH_TOKENS or IDS_AUTH_TOKENS_FILE, not both", id="both sources"),
        pytest.param({"IDS_AUTH_TOKENS_FILE": "/nonexistent/tokens"},
                     "IDS_AUTH_TOKENS_FILE has value '/nonexistent/tokens': cannot read it",
                     id="no such token file"),
    ],
)  # fmt: skip
def test_bad_values_name_the_variable_and_value(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match="^" + message.replace("(", r"\(")):
        Settings.from_env(environ)


def test_settings_are_immutable() -> None:
    settings = Settings()
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]


def test_tokens_file_one_per_line(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text("# rotated 2026-11-01\nfirst-token\n\n  second/token==  \n")
    settings = Settings.from_env({"IDS_AUTH_TOKENS_FILE": str(path)})
    assert settings.auth_tokens == ("first-token", "second/token==")


def test_a_bad_token_is_refused_without_being_repeated() -> None:
    secret = "s3cret value"  # a space: no bearer token can carry it
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"IDS_AUTH_TOKENS": f"good,{secret}"})
    assert "token 2 has characters a bearer token cannot carry" in str(raised.value)
    assert "s3cret" not in str(raised.value)
    assert "s3cret" not in repr(Settings(auth_tokens=("s3cret",)))
