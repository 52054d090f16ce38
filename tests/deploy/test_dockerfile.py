"""The Dockerfile's invariants, read statically (scripts/image-smoke builds and runs the image)."""

from __future__ import annotations

import fnmatch
import json
import re

import pytest

from tests.deploy.files import DOCKERFILE, ROOT, Instruction, dockerfile_instructions

INSTRUCTIONS = dockerfile_instructions()
STAGES = list(dict.fromkeys(item.stage for item in INSTRUCTIONS if item.stage))
RUNTIME = STAGES[-1]
TRAINING_LIBRARIES = ("scikit-learn", "sklearn", "xgboost", "pandas", "skl2onnx", "onnxmltools")


def stage(name: str, keyword: str | None = None) -> list[Instruction]:
    return [
        item
        for item in INSTRUCTIONS
        if item.stage == name and (keyword is None or item.keyword == keyword)
    ]


def pip_installs(name: str) -> list[str]:
    """Every `pip install ...` command line run in stage `name`."""
    commands = " && ".join(item.arguments for item in stage(name, "RUN"))
    return re.findall(r"pip install[^&;]*", commands)


def runtime_value(keyword: str) -> str:
    found = stage(RUNTIME, keyword)
    assert found, f"the runtime stage has no {keyword}"
    return found[-1].arguments


def test_base_image_is_an_argument_with_a_public_default() -> None:
    declared = [item for item in INSTRUCTIONS if item.stage == "" and item.keyword == "ARG"]
    assert [item.arguments for item in declared] == ["BASE_IMAGE=python:3.11-slim-bookworm"]
    for item in INSTRUCTIONS:
        if item.keyword == "FROM":
            assert item.words()[0] == "${BASE_IMAGE}", f"stage {item.stage} ignores BASE_IMAGE"


def test_runtime_stage_installs_nothing_and_copies_only_serving_files() -> None:
    assert not stage(RUNTIME, "RUN") or all(
        "pip" not in item.arguments and "apt-get" not in item.arguments
        for item in stage(RUNTIME, "RUN")
    )
    copies = {tuple(item.words()) for item in stage(RUNTIME, "COPY")}
    assert copies == {
        ("--from=build", "/usr/bin/tini-static", "/usr/local/bin/tini"),
        ("--from=serve-env", "/opt/venv", "/opt/venv"),
        ("--from=build", "/build/artifacts", "/app/artifacts"),
        ("scripts/healthcheck.py", "/usr/local/bin/ids-healthcheck"),
    }


def test_serving_environment_holds_only_the_serve_extra() -> None:
    installs = pip_installs("serve-env")
    assert installs, "serve-env installs nothing"
    for command in installs:
        assert not re.search(r"\s(-e|--editable)\s", command), command
        assert re.search(r'"?\.(\[serve\])?"?\s*$', command.strip()), command
    assert any(".[serve]" in command for command in installs)
    sources = [item.words()[0] for item in stage("serve-env", "COPY")]
    assert sorted(sources) == ["README.md", "flows", "ids_inference", "pyproject.toml", "server"]
    for item in stage("serve-env") + stage(RUNTIME):
        for library in TRAINING_LIBRARIES:
            assert library not in item.arguments.lower(), f"{library} in {item}"


def test_build_stage_converts_with_the_convert_extra() -> None:
    assert any('".[convert]"' in command for command in pip_installs("build"))
    script = " ".join(item.arguments for item in stage("build", "RUN"))
    assert "ids-inference train --synthetic" in script
    assert "ids-inference convert --models models --out /build/artifacts" in script
    for name in ("random_forest_ids.pkl", "xgboost_ids.pkl", "decision_tree_ids.pkl"):
        assert name in script


def test_runtime_runs_as_a_numeric_non_root_user() -> None:
    user, _, group = runtime_value("USER").partition(":")
    assert user.isdigit(), "USER must be a numeric uid, which runAsNonRoot can verify"
    assert group.isdigit()
    assert int(user) != 0
    assert int(group) != 0


def test_runtime_has_init_healthcheck_port_and_repository() -> None:
    assert json.loads(runtime_value("ENTRYPOINT"))[0] == "/usr/local/bin/tini"
    assert runtime_value("EXPOSE") == "8000"
    healthcheck = runtime_value("HEALTHCHECK")
    command = json.loads(healthcheck[healthcheck.index("CMD") + 3 :])
    assert command == ["python3", "/usr/local/bin/ids-healthcheck"]
    assert not re.search(r"\b(curl|wget)\b", healthcheck)
    env = " ".join(item.arguments for item in stage(RUNTIME, "ENV"))
    assert "ARTIFACTS_PATH=/app/artifacts" in env.split()
    assert "IDS_PORT=8000" in env.split()


def test_labels_follow_the_oci_annotations() -> None:
    labels = " ".join(item.arguments for item in stage(RUNTIME, "LABEL"))
    for key in ("title", "version", "revision", "created", "licenses", "base.name"):
        assert f"org.opencontainers.image.{key}=" in labels


@pytest.mark.parametrize(
    ("path", "kept"),
    [
        pytest.param(".git/HEAD", False, id="git history"),
        pytest.param(".venv/bin/python", False, id="virtual environment"),
        pytest.param("artifacts/random_forest/1/model.onnx", False, id="local repository"),
        pytest.param("server/__pycache__/app.cpython-311.pyc", False, id="bytecode"),
        pytest.param("models/random_forest_ids.pkl", True, id="pickle set to convert"),
        pytest.param("server/app.py", True, id="server source"),
        pytest.param("scripts/healthcheck.py", True, id="healthcheck script"),
    ],
)
def test_dockerignore_keeps_the_build_context_lean(path: str, kept: bool) -> None:
    assert context_keeps(path) is kept


def context_keeps(path: str) -> bool:
    """Whether `path` reaches the build context, by .dockerignore's rules (last match wins)."""
    keep = True
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: index + 1]) for index in range(len(parts))]
        if any(fnmatch.fnmatch(prefix, pattern.replace("**/", "*")) for prefix in prefixes):
            keep = negated
    return keep


def test_stages_build_then_serve_env_then_runtime() -> None:
    assert DOCKERFILE.is_file()
    assert STAGES == ["build", "serve-env", "runtime"]
