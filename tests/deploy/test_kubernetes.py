"""deploy/kubernetes/: valid against the Kubernetes schemas, and wired the way the server needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from tests.deploy.files import (
    KUBERNETES,
    SERVER_SETTINGS,
    container_env,
    dockerfile_instructions,
    documents,
    only,
)

MANIFESTS = sorted(path for path in KUBERNETES.glob("*.yaml") if path.name != "kustomization.yaml")
# The oldest Kubernetes still common in managed clusters, and the newest the schemas know.
VERSIONS = ["1.29", kubernetes_validate.utils.latest_version()]


def deployment() -> dict[str, Any]:
    return only(KUBERNETES / "deployment.yaml", "Deployment")


def server_container() -> dict[str, Any]:
    containers = deployment()["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return dict(containers[0])


@pytest.mark.parametrize(
    ("path", "version"),
    [
        pytest.param(path, version, id=f"{path.name} on {version}")
        for path in MANIFESTS
        for version in VERSIONS
    ],
)
def test_manifest_is_valid_kubernetes(path: Path, version: str) -> None:
    for document in documents(path):
        # strict: a field the schema does not know (a typo) fails too.
        kubernetes_validate.validate(document, version, strict=True)


def test_a_misspelt_field_is_caught() -> None:
    broken = deployment()
    broken["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)


def test_kustomization_lists_every_manifest() -> None:
    kustomization = documents(KUBERNETES / "kustomization.yaml")[0]
    assert sorted(kustomization["resources"]) == [path.name for path in MANIFESTS]
    assert [image["name"] for image in kustomization["images"]] == [
        server_container()["image"].split(":")[0]
    ]


def port_number(container: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    named = {item["name"]: item["containerPort"] for item in container["ports"]}
    return int(named[port])


def test_probes_use_the_v2_health_routes() -> None:
    container = server_container()
    assert port_number(container, "http") == 8000
    probes = {
        "livenessProbe": "/v2/health/live",
        "readinessProbe": "/v2/health/ready",
        "startupProbe": "/v2/health/ready",
    }
    for probe, path in probes.items():
        check = container[probe]["httpGet"]
        assert (check["path"], port_number(container, check["port"])) == (path, 8000), probe


def test_pod_runs_as_the_image_user_on_a_read_only_root() -> None:
    image_user = next(
        item.arguments for item in reversed(dockerfile_instructions()) if item.keyword == "USER"
    )
    pod = deployment()["spec"]["template"]["spec"]
    container = server_container()
    assert pod["securityContext"]["runAsNonRoot"] is True
    uid_gid = f"{pod['securityContext']['runAsUser']}:{pod['securityContext']['runAsGroup']}"
    assert uid_gid == image_user
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    # A read-only root needs a writable /tmp, from an emptyDir.
    tmp = next(mount for mount in container["volumeMounts"] if mount["mountPath"] == "/tmp")
    volume = next(volume for volume in pod["volumes"] if volume["name"] == tmp["name"])
    assert "emptyDir" in volume


def test_termination_outlasts_the_servers_drain() -> None:
    pod = deployment()["spec"]["template"]["spec"]
    container = server_container()
    grace = int(container_env(container)["IDS_GRACEFUL_SHUTDOWN_SECONDS"])
    command = container["lifecycle"]["preStop"]["exec"]["command"]
    pause = int(command[1]) if command[0] == "sleep" else 0
    assert pod["terminationGracePeriodSeconds"] > pause + grace


def test_service_hpa_and_budget_select_the_deployments_pods() -> None:
    target = deployment()
    pod_labels = target["spec"]["template"]["metadata"]["labels"]
    service = only(KUBERNETES / "service.yaml", "Service")
    budget = only(KUBERNETES / "pdb.yaml", "PodDisruptionBudget")
    scaler = only(KUBERNETES / "hpa.yaml", "HorizontalPodAutoscaler")
    for selector in (
        target["spec"]["selector"]["matchLabels"],
        service["spec"]["selector"],
        budget["spec"]["selector"]["matchLabels"],
    ):
        assert selector.items() <= pod_labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    reference = scaler["spec"]["scaleTargetRef"]
    assert (reference["kind"], reference["name"]) == ("Deployment", target["metadata"]["name"])
    # The autoscaler scales on CPU utilisation, which needs a CPU request to measure against.
    assert server_container()["resources"]["requests"]["cpu"]
    assert scaler["spec"]["minReplicas"] > budget["spec"]["maxUnavailable"]


def test_environment_names_are_server_settings() -> None:
    assert set(container_env(server_container())) <= SERVER_SETTINGS
