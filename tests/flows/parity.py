"""Our flows against the reference's CSV: the same flows, and every feature within 1e-9."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from pathlib import Path

from flows.columns import CICFLOWMETER, canonical, header
from flows.javafmt import java_timestamp
from models.features import FEATURE_NAMES, INTEGER_FEATURES
from tests.flows.build import Flow

RELATIVE = 1e-9
_INTEGERS = frozenset(INTEGER_FEATURES)


def reference_flows(path: Path) -> list[Flow]:
    """The flows of a `cfm` CSV, features by their CICIDS2017 names, start as its Timestamp."""
    names = header(CICFLOWMETER)
    flows = []
    with path.open(newline="") as file:
        reader = csv.reader(file)
        assert tuple(next(reader)) == names, f"{path}: not cfm's header"
        for row in reader:
            values = {canonical(name): cell for name, cell in zip(names, row, strict=True)}
            features = {name: float(values[name]) for name in FEATURE_NAMES if name in values}
            features["Fwd Header Length.1"] = features["Fwd Header Length"]
            flows.append(Flow(values["Flow ID"], 0, features, {"Timestamp": values["Timestamp"]}))
    return flows


def _key(flow: Flow) -> tuple[str, str]:
    timestamp = flow.extra.get("Timestamp") or java_timestamp(flow.start_us)
    return flow.flow_id, timestamp


def _same(name: str, ours: float, theirs: float) -> bool:
    if name in _INTEGERS or math.isinf(theirs) or math.isnan(theirs):
        return ours == theirs or (math.isnan(ours) and math.isnan(theirs))
    return math.isclose(ours, theirs, rel_tol=RELATIVE, abs_tol=0.0)


def differences(ours: list[Flow], theirs: list[Flow], limit: int = 20) -> list[str]:
    """What differs: flows only one side has, and features off by more than 1e-9 relative (or
    at all, for integers). Flows match by Flow ID and Timestamp, then within such a group by
    their sorted values (the reference writes the flows open at the end in hash-map order)."""
    groups: dict[tuple[str, str], tuple[list[Flow], list[Flow]]] = defaultdict(lambda: ([], []))
    for flow in ours:
        groups[_key(flow)][0].append(flow)
    for flow in theirs:
        groups[_key(flow)][1].append(flow)
    found: list[str] = []

    def order(flow: Flow) -> tuple[float, ...]:
        return tuple(-1.0 if math.isnan(v) else v for v in flow.row())

    for (flow_id, timestamp), (mine, reference) in sorted(groups.items()):
        if len(mine) != len(reference):
            found.append(
                f"{flow_id} at {timestamp}: {len(mine)} flows of ours, "
                f"{len(reference)} of the reference"
            )
            continue
        for a, b in zip(sorted(mine, key=order), sorted(reference, key=order), strict=True):
            off = [
                f"{name} {a[name]!r} (reference {b[name]!r})"
                for name in FEATURE_NAMES
                if not _same(name, a[name], b[name])
            ]
            if off:
                found.append(f"{flow_id} at {timestamp}: " + "; ".join(off))
    if len(found) > limit:
        found = [*found[:limit], f"... and {len(found) - limit} more"]
    return found
