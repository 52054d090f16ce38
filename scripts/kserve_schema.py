#!/usr/bin/env python3
"""Write the JSON Schema of KServe's InferenceService and ServingRuntime, for offline validation.

KServe's CRDs are not in the Kubernetes schemas, and its CRD files are not on PyPI; its Python SDK
is, with one generated model class per CRD type (`openapi_types`, `attribute_map`). This script
turns those classes into a JSON Schema (draft 2020-12) that `tests/deploy/` validates our
manifests against. Every KServe object is closed (`additionalProperties: false`), so a misspelt
field fails; Kubernetes types (`V1Container`, `V1ObjectMeta`, ...) are `$ref`s into the Kubernetes
definitions that kubernetes-validate ships, resolved by the test.

Run it in a throwaway environment, not the project's (the SDK pulls in a model server):

    python3 -m venv /tmp/kserve-sdk && /tmp/kserve-sdk/bin/pip install kserve==0.21.0 \\
        kubernetes-validate==1.37.0
    /tmp/kserve-sdk/bin/python scripts/kserve_schema.py tests/deploy/schemas/kserve.json
"""

from __future__ import annotations

import json
import re
import sys
from importlib import metadata, resources
from pathlib import Path
from typing import Any

ROOTS = {
    "V1beta1InferenceService": ("serving.kserve.io/v1beta1", "InferenceService"),
    "V1alpha1ServingRuntime": ("serving.kserve.io/v1alpha1", "ServingRuntime"),
}
KUBERNETES_DEFINITIONS = "https://kubernetes.io/api/_definitions.json"
KUBERNETES_VERSION = "1.37.0"
SCALARS: dict[str, dict[str, Any]] = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "object": {},
    "datetime": {"type": "string"},
    "date": {"type": "string"},
}
# SDK names of Kubernetes types whose definition is not `<group>.v1.<name>` (KServe's
# MetricQuantity has no SDK class: it is a Kubernetes quantity).
KUBERNETES_ALIASES = {
    "ResourceQuantity": "io.k8s.apimachinery.pkg.api.resource.Quantity",
    "V1beta1MetricQuantity": "io.k8s.apimachinery.pkg.api.resource.Quantity",
    "V1Time": "io.k8s.apimachinery.pkg.apis.meta.v1.Time",
}


def kubernetes_definitions() -> dict[str, Any]:
    folder = resources.files("kubernetes_validate") / "kubernetes-json-schema"
    path = folder / f"v{KUBERNETES_VERSION}-local-strict" / "_definitions.json"
    definitions: dict[str, Any] = json.loads(path.read_text())["$defs"]
    return definitions


class SchemaWriter:
    def __init__(self) -> None:
        import kserve.models  # the SDK is only needed here, never by the project

        self.models = kserve.models
        self.kubernetes = kubernetes_definitions()
        self.defs: dict[str, Any] = {}
        self.unchecked: set[str] = set()

    def kubernetes_candidates(self, name: str) -> list[str]:
        """Definitions that SDK type `name` (V1Container -> *.v1.Container) may mean, core first."""
        parts = re.fullmatch(r"(V\d(?:alpha\d|beta\d)?)([A-Z]\w*)", name)
        if parts is None:
            return []
        suffix = f".{parts[1].lower()}.{parts[2]}"
        candidates = sorted(key for key in self.kubernetes if key.endswith(suffix))
        return sorted(candidates, key=lambda key: not key.startswith("io.k8s.api.core."))

    def kubernetes_ref(self, name: str) -> dict[str, Any]:
        if name in KUBERNETES_ALIASES:
            key = KUBERNETES_ALIASES[name]
        else:
            # K8sIoApiAppsV1DeploymentStrategy -> io.k8s.api.apps.v1.DeploymentStrategy
            match = re.fullmatch(r"K8sIo(Api)?([A-Z][a-z]+)(V\d\w*?)([A-Z]\w*)", name)
            if match:
                group, version, kind = match[2].lower(), match[3].lower(), match[4]
                candidates = [f"io.k8s.api.{group}.{version}.{kind}"]
            else:
                candidates = self.kubernetes_candidates(name)
            key = next((key for key in candidates if key in self.kubernetes), "")
        if key not in self.kubernetes:
            raise SystemExit(f"kserve_schema: no Kubernetes definition for SDK type {name}")
        return {"$ref": f"{KUBERNETES_DEFINITIONS}#/$defs/{key}"}

    def type_schema(self, spec: str) -> dict[str, Any]:
        if spec in SCALARS:
            return dict(SCALARS[spec])
        if match := re.fullmatch(r"list\[(.+)\]", spec):
            return {"type": "array", "items": self.type_schema(match[1])}
        if match := re.fullmatch(r"dict\(str, (.+)\)", spec):
            return {"type": "object", "additionalProperties": self.type_schema(match[1])}
        if hasattr(self.models, spec):
            self.add_model(spec)
            return {"$ref": f"#/$defs/{spec}"}
        if re.fullmatch(r"V1(alpha|beta)\d\w+", spec) and not self.kubernetes_candidates(spec):
            # A KServe type the SDK names but ships no class for: known to be an object, no more.
            self.unchecked.add(spec)
            return {"type": "object"}
        return self.kubernetes_ref(spec)

    def add_model(self, name: str) -> None:
        if name in self.defs:
            return
        self.defs[name] = {}  # placeholder against recursion while this model is walked
        model = getattr(self.models, name)
        # A manifest never writes `status`: the controller does.
        properties = {
            model.attribute_map[attribute]: self.type_schema(spec)
            for attribute, spec in sorted(model.openapi_types.items())
            if not (name in ROOTS and attribute == "status")
        }
        self.defs[name] = {
            "type": "object",
            "properties": properties,
            "additionalProperties": False,
        }

    def document(self) -> dict[str, Any]:
        for name, (api_version, kind) in ROOTS.items():
            self.add_model(name)
            properties = self.defs[name]["properties"]
            properties["apiVersion"] = {"const": api_version}
            properties["kind"] = {"const": kind}
            self.defs[name]["required"] = ["apiVersion", "kind", "metadata", "spec"]
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$comment": (
                f"Generated by scripts/kserve_schema.py from kserve {metadata.version('kserve')} "
                "SDK models; Kubernetes types refer to kubernetes-validate's "
                f"v{KUBERNETES_VERSION} definitions. SDK types without a class, checked only as "
                "objects: " + ", ".join(sorted(self.unchecked))
            ),
            # Where the test finds the Kubernetes definitions the `$ref`s point into.
            "x-kubernetes-validate-schemas": f"v{KUBERNETES_VERSION}-local-strict",
            "x-roots": {kind: f"#/$defs/{name}" for name, (_, kind) in ROOTS.items()},
            "$defs": dict(sorted(self.defs.items())),
        }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(SchemaWriter().document(), indent=1) + "\n")
    print(f"kserve_schema: wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
