"""deploy/kserve/: valid against KServe's own types, and wired to our image or to Triton.

KServe's CRDs are not among the Kubernetes schemas; tests/deploy/schemas/kserve.json is their
schema as the KServe SDK's generated models define it (scripts/kserve_schema.py), closed against
unknown fields, with Kubernetes types (containers, probes, metadata) checked against the same
Kubernetes definitions that validate deploy/kubernetes/.
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource

from tests.deploy.files import KSERVE, SERVER_SETTINGS, container_env, documents, only

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "kserve.json").read_text())
MANIFESTS = sorted(KSERVE.glob("*.yaml"))


def kubernetes_definitions() -> Resource[Any]:
    folder = resources.files("kubernetes_validate") / "kubernetes-json-schema"
    path = folder / SCHEMA["x-kubernetes-validate-schemas"] / "_definitions.json"
    return Resource.from_contents(json.loads(path.read_text()))


REGISTRY: Registry[Any] = kubernetes_definitions() @ Registry()


def validate(document: dict[str, Any]) -> None:
    root = SCHEMA["x-roots"].get(document.get("kind"))
    assert root, f"no KServe schema for kind {document.get('kind')!r}"
    schema = {**SCHEMA, "$ref": root}
    jsonschema.Draft202012Validator(schema, registry=REGISTRY).validate(document)


def runtime() -> dict[str, Any]:
    return only(KSERVE / "servingruntime.yaml", "ServingRuntime")


def predictor(path: Path) -> dict[str, Any]:
    return dict(only(path, "InferenceService")["spec"]["predictor"])


@pytest.mark.parametrize(
    ("path", "index"),
    [
        pytest.param(path, index, id=f"{path.name}#{index}")
        for path in MANIFESTS
        for index in range(len(documents(path)))
    ],
)
def test_manifest_is_valid_kserve(path: Path, index: int) -> None:
    validate(documents(path)[index])


@pytest.mark.parametrize(
    ("name", "where", "field"),
    [
        pytest.param(
            "inferenceservice.yaml", ("spec", "predictor", "model"), "protocolVersoin", id="kserve"
        ),
        pytest.param("inferenceservice.yaml", ("spec", "predictor"), "minReplica", id="predictor"),
        pytest.param("inferenceservice.yaml", ("metadata",), "label", id="kubernetes metadata"),
        pytest.param(
            "servingruntime.yaml", ("spec", "containers", 0), "readinesProbe", id="container"
        ),
    ],
)
def test_a_misspelt_field_is_caught(name: str, where: tuple[str | int, ...], field: str) -> None:
    document = copy.deepcopy(documents(KSERVE / name)[0])
    node: Any = document
    for key in where:
        node = node[key]
    node[field] = "v2"
    with pytest.raises(jsonschema.ValidationError, match=f"'{field}' was unexpected"):
        validate(document)


def test_our_image_serves_as_the_v2_runtime() -> None:
    spec = runtime()["spec"]
    model = predictor(KSERVE / "inferenceservice.yaml")["model"]
    assert model["runtime"] == runtime()["metadata"]["name"]
    assert model["protocolVersion"] == "v2"
    assert "v2" in spec["protocolVersions"]
    assert model["modelFormat"] in [
        {"name": item["name"], "version": item["version"]} for item in spec["supportedModelFormats"]
    ]
    [container] = spec["containers"]
    assert container["name"] == "kserve-container"
    assert [port["containerPort"] for port in container["ports"]] == [8000]
    assert container_env(container)["IDS_PORT"] == "8000"
    assert container["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": 8000}
    assert container["livenessProbe"]["httpGet"] == {"path": "/v2/health/live", "port": 8000}
    assert container["securityContext"]["runAsNonRoot"] is True
    assert set(container_env(container)) <= SERVER_SETTINGS


def test_termination_outlasts_the_servers_drain() -> None:
    [container] = runtime()["spec"]["containers"]
    grace = int(container_env(container)["IDS_GRACEFUL_SHUTDOWN_SECONDS"])
    assert predictor(KSERVE / "inferenceservice.yaml")["terminationGracePeriodSeconds"] > grace


def test_triton_serves_the_repository_from_the_users_bucket() -> None:
    path = KSERVE / "inferenceservice-triton.yaml"
    model = predictor(path)["model"]
    assert model["runtime"] == "kserve-tritonserver"
    assert model["modelFormat"]["name"] == "triton"
    assert model["protocolVersion"] == "v2"
    # The URI is the user's to fill in, and the file says so where they will read it.
    assert "YOUR-BUCKET" in model["storageUri"]
    assert "storageUri is YOUR bucket" in path.read_text()
