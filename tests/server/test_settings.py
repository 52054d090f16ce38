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
        pytest.param({"IDS_THREADS": "2"}, "threads", 2, id="threads"),
        pytest.param({"IDS_SPINNING": "yes"}, "spinning", True, id="spinning"),
        pytest.param({"MODEL_PATH": "models"}, "artifacts_path", Path("artifacts"),
                     id="MODEL_PATH (pickles) is not the repository"),
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
    ],
)  # fmt: skip
def test_bad_values_name_the_variable_and_value(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match="^" + message.replace("(", r"\(")):
        Settings.from_env(environ)


def test_settings_are_immutable() -> None:
    settings = Settings()
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]
