"""Readers for the deployment files under test: YAML documents and the Dockerfile's instructions."""

from __future__ import annotations

import importlib.util
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
KUBERNETES = ROOT / "deploy" / "kubernetes"
KSERVE = ROOT / "deploy" / "kserve"

# The server's environment settings (operations issue): a manifest setting any other IDS_ name
# configures nothing, silently.
SERVER_SETTINGS = frozenset(
    {
        "ARTIFACTS_PATH",
        "IDS_HOST",
        "IDS_PORT",
        "IDS_WORKERS",
        "IDS_LOG_LEVEL",
        "IDS_GRACEFUL_SHUTDOWN_SECONDS",
        "IDS_MAX_BODY_BYTES",
        "IDS_MAX_BATCH_ROWS",
        "IDS_MAX_CONCURRENCY",
        "IDS_AUTH_TOKENS",
        "IDS_AUTH_TOKENS_FILE",
        "IDS_METRICS_REQUIRE_AUTH",
        "IDS_POLL_SECONDS",
        "IDS_INTRA_OP_THREADS",
    }
)


def documents(path: Path) -> list[dict[str, Any]]:
    """Every YAML document in `path`, empty ones skipped."""
    with path.open() as stream:
        return [document for document in yaml.safe_load_all(stream) if document]


def only(path: Path, kind: str) -> dict[str, Any]:
    """The single document of `kind` in `path`."""
    found = [document for document in documents(path) if document.get("kind") == kind]
    assert len(found) == 1, f"{path.name} holds {len(found)} {kind} documents, expected 1"
    return found[0]


@dataclass(frozen=True)
class Instruction:
    stage: str
    keyword: str
    arguments: str

    def words(self) -> list[str]:
        return shlex.split(self.arguments)


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[Instruction]:
    """The Dockerfile's instructions with continuation lines joined, each tagged with its stage.

    Instructions before the first FROM belong to stage "" (global ARGs); a stage is named by its
    `AS` alias, else by its index.
    """
    text = re.sub(r"\\\n", " ", path.read_text())
    instructions: list[Instruction] = []
    stage, stages = "", 0
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            alias = re.search(r"\s+AS\s+(\S+)\s*$", arguments, re.IGNORECASE)
            stage = alias[1] if alias else str(stages)
            stages += 1
        instructions.append(Instruction(stage, keyword, " ".join(arguments.split())))
    return instructions


def container_env(container: dict[str, Any]) -> dict[str, str]:
    """A Kubernetes container's literal environment variables."""
    return {item["name"]: item["value"] for item in container.get("env", []) if "value" in item}


def load_script(name: str) -> ModuleType:
    """A Python script under scripts/ (not a package), imported as a module."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
