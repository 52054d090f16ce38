"""docker-compose.yml: valid against the Compose Specification, and serving as the image expects."""

from __future__ import annotations

import copy
import json
import re
from importlib import resources
from typing import Any

import jsonschema
import pytest

from tests.deploy.files import COMPOSE, SERVER_SETTINGS, dockerfile_instructions, documents

# The compose-spec JSON schema, as check-jsonschema vendors it (no network needed).
SCHEMA = json.loads(
    (resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json").read_text()
)


def compose() -> dict[str, Any]:
    [document] = documents(COMPOSE)
    return document


def service() -> dict[str, Any]:
    return dict(compose()["services"]["ids-inference"])


def validate(document: dict[str, Any]) -> None:
    jsonschema.validators.validator_for(SCHEMA)(SCHEMA).validate(document)


def image_instruction(keyword: str) -> str:
    return next(
        item.arguments for item in reversed(dockerfile_instructions()) if item.keyword == keyword
    )


def seconds(duration: str) -> int:
    """A compose duration such as `1m30s` in seconds."""
    parts = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", duration)
    assert duration, "empty duration"
    assert parts, f"unexpected duration {duration!r}"
    return int(parts[1] or 0) * 60 + int(parts[2] or 0)


def test_compose_file_follows_the_compose_specification() -> None:
    validate(compose())


@pytest.mark.parametrize(
    ("key", "value"),
    [
        pytest.param("restart_policy", "always", id="misspelt service key"),
        pytest.param("networks", "ids", id="a string where a list belongs"),
    ],
)
def test_schema_catches_mistakes(key: str, value: str) -> None:
    document = copy.deepcopy(compose())
    document["services"]["ids-inference"][key] = value
    with pytest.raises(jsonschema.ValidationError):
        validate(document)


def test_models_come_from_a_read_only_volume_at_artifacts_path() -> None:
    settings = service()
    [volume] = settings["volumes"]
    assert volume["type"] == "bind"
    assert volume["read_only"] is True
    assert volume["target"] == settings["environment"]["ARTIFACTS_PATH"] == "/app/artifacts"
    assert volume["source"] == "${IDS_ARTIFACTS_DIR:-./artifacts}"


def test_health_check_is_the_images() -> None:
    healthcheck = image_instruction("HEALTHCHECK")
    image_command = json.loads(healthcheck[healthcheck.index("CMD") + 3 :])
    assert service()["healthcheck"]["test"] == ["CMD", *image_command]


def test_runs_hardened_as_the_image_user() -> None:
    settings = service()
    assert settings["user"] == image_instruction("USER")
    assert settings["read_only"] is True
    assert any(mount.startswith("/tmp") for mount in settings["tmpfs"])
    assert settings["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in settings["security_opt"]


def test_restart_limits_network_and_drain() -> None:
    settings = service()
    assert settings["restart"] == "unless-stopped"
    limits = settings["deploy"]["resources"]["limits"]
    assert set(limits) == {"cpus", "memory"}
    assert settings["networks"] == ["ids"]
    assert "ids" in compose()["networks"]
    grace = int(settings["environment"]["IDS_GRACEFUL_SHUTDOWN_SECONDS"])
    assert seconds(settings["stop_grace_period"]) > grace
    assert settings["ports"] == ["${IDS_HOST_PORT:-8000}:8000"]


def test_environment_names_are_server_settings() -> None:
    assert set(service()["environment"]) <= SERVER_SETTINGS


def test_build_uses_the_dockerfiles_base_argument() -> None:
    global_arg = next(
        item.arguments
        for item in dockerfile_instructions()
        if item.stage == "" and item.keyword == "ARG"
    )
    name, _, value = global_arg.partition("=")
    assert service()["build"]["args"] == {name: value}
